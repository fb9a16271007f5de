/**
 * @module The registry of vendors: the one place that lists them. A new vendor is one folder
 * under `vendors/` (its adapter, see `vendors/index.ts`) and one line here, plus its import
 * (README "Adding a vendor"). Everything vendor-dependent outside the folders is derived from
 * this table: the `Source` union and list, the webhook routes (src/app.ts), each vendor's settings
 * and environment variables, the company scope of read tokens, the verification schemes.
 */
import { alfredAdapter } from "./alfred/index";
import { extendAdapter } from "./extend/index";
import { lookup, type VendorAdapter } from "./index";
import { standardAdapter } from "./standard/index";

/** Every vendor, by its source name (which must be the adapter's `source`: checked below). */
export const VENDORS = registry({
  extend: extendAdapter,
  alfred: alfredAdapter,
  standard: standardAdapter,
});

/** A job's source: the name of a registered vendor. */
export type Source = keyof typeof VENDORS;

/** The sources, in registry order. */
export const SOURCES: readonly Source[] = sourceNames(VENDORS);

/** The sources whose jobs carry a company id (the only ones a company-scoped token sees). */
export const COMPANY_SOURCES: readonly Source[] = SOURCES.filter((source) => VENDORS[source].companyScoped);

/** The verification schemes of the vendors (CONTRACT §9), in registry order. */
export const SCHEMES: readonly string[] = SOURCES.map((source) => VENDORS[source].scheme);

/** The environment variables the vendors read, as optional text (the `Env` interface extends it). */
export type VendorVariables = {
  readonly [Variable in VariableOf<(typeof VENDORS)[Source]>]?: string;
};

type VariableOf<A> = A extends VendorAdapter<string, infer _Own, infer Variable> ? Variable : never;

/** The adapter of a source named by stored or requested text, if it is one. */
export function vendorFor(source: string): VendorAdapter<Source> | undefined {
  return lookup<VendorAdapter<Source>>(VENDORS, source);
}

/** Checks, at compile time, that each vendor is registered under its own `source` name. */
function registry<const T extends { [Name in keyof T]: VendorAdapter<Name & string> }>(vendors: T): T {
  return vendors;
}

function sourceNames<T extends object>(vendors: T): (keyof T & string)[] {
  return Object.keys(vendors).filter((name): name is keyof T & string => Object.hasOwn(vendors, name));
}
