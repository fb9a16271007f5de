/**
 * @module The registry of vendors: the one place that lists them. A new vendor is one folder
 * under `vendors/` (its adapter, see `vendors/index.ts`) and one line here, plus its import
 * (CONTRIBUTING.md, "Adding a vendor"), plus its name in `SOURCES` (src/core/vocabulary.ts), which the
 * compiler holds to this table. Everything else vendor-dependent outside the folders is derived
 * from it: the webhook routes (src/app.ts), each vendor's settings and environment variables, the
 * company scope of read tokens, the verification schemes.
 */

import { SOURCES, type Source } from "../core/vocabulary";
import { alfredAdapter } from "./alfred/index";
import { extendAdapter } from "./extend/index";
import { lookup, type VendorAdapter } from "./index";
import { standardAdapter } from "./standard/index";

/**
 * Every vendor, by its source name: exactly the names of `SOURCES`, each the adapter's own
 * `source` (checked by `registry` at compile time).
 */
export const VENDORS = registry({
  extend: extendAdapter,
  alfred: alfredAdapter,
  standard: standardAdapter,
});

/** The sources whose jobs carry a company id (the only ones a company-scoped token sees). */
export const COMPANY_SOURCES: readonly Source[] = SOURCES.filter((source) => VENDORS[source].companyScoped);

/** The configuration-resource kinds of each source (`VendorAdapter.resourceKinds`), for the list's `category`. */
export const RESOURCE_KINDS: readonly { source: Source; kinds: readonly string[] }[] = SOURCES.map(
  (source) => ({ source, kinds: VENDORS[source].resourceKinds }),
).filter(({ kinds }) => kinds.length > 0);

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

/** Checks, at compile time, that each source has its vendor, registered under its own name. */
function registry<const T extends { [Name in Source]: VendorAdapter<Name> }>(
  vendors: T & Record<Exclude<keyof T, Source>, never>,
): T {
  return vendors;
}
