/**
 * @module The vendor adapter interface. An adapter turns one authenticated delivery into a
 * {@link NormalizedEvent}, a quarantine verdict, or a direct reply; the ingest pipeline (src/ingest)
 * runs the steps in the contract's order for every vendor. An adapter also declares what the rest
 * of the Worker needs to know about its vendor — its webhook routes, its own environment variables
 * and how to parse them, whether its jobs carry a company id — so that a new vendor is one folder
 * under `vendors/` and one line in the registry (`vendors/registry.ts`; CONTRIBUTING.md, "Adding a vendor").
 */
import type * as v from "valibot";
import { readSettings, type Settings } from "../config";
import type { Issue, NormalizedEvent } from "../core/vocabulary";
import { ApiError } from "../http/errors";

/**
 * What a vendor's steps read: the shared settings (body limit, signature tolerance …) and the
 * vendor's own, parsed by its {@link VendorAdapter.readSettings}. An adapter's own settings may not
 * reuse a shared name, so neither hides the other.
 */
export type VendorSettings<Own extends OwnSettings = OwnSettings> = Settings & Omit<Own, keyof Settings>;

/** A vendor's own settings: any object whose names differ from the shared {@link Settings}. */
export type OwnSettings = object & { readonly [Name in keyof Settings]?: never };

export interface Delivery<Own extends OwnSettings = OwnSettings> {
  request: Request;
  /** The parameters of the route the delivery came in on (Alfred's URL token). */
  params: Record<string, string | undefined>;
  settings: VendorSettings<Own>;
  /** Milliseconds since the epoch. */
  receivedAt: number;
  /** Outbound fetch, for Extend's signed-URL payloads. */
  fetch: typeof fetch;
}

export type Interpretation =
  | { outcome: "event"; event: NormalizedEvent }
  | { outcome: "quarantine"; issues: Issue[] }
  | { outcome: "reply"; body: unknown }
  | { outcome: "error"; error: ApiError };

/**
 * What authenticated a delivery, kept at receipt so its stored bytes can be checked again later
 * (CONTRACT §9): never a secret, never the Alfred URL token itself. Opaque outside its adapter.
 */
export interface AuthMaterial {
  scheme: string;
  values: Record<string, string>;
}

/**
 * How `/openapi.json` describes a vendor's webhook endpoint: what only this vendor sends and gets.
 * The answers every vendor gets (CONTRACT §3.3) are added by src/api/openapi.ts.
 */
export interface WebhookDoc {
  summary: string;
  description: string;
  /** The headers that authenticate a delivery. */
  headers?: { name: string; description: string }[];
  /** Descriptions of the route's path parameters (Alfred's URL token). */
  pathParameters?: Record<string, string>;
  /** What a 401 means for this vendor (its codes). */
  unauthorized: string;
  /** Refusals of this vendor only, by status (Alfred's company allow-list: 403). */
  refusals?: Record<string, string>;
  /** A 200 answer besides the stored-delivery one (Alfred's URL-verification handshake). */
  reply?: v.GenericSchema;
}

/**
 * One vendor. `Name` is its source (the first part of its job keys, a token's `--source`); `Own`
 * the settings it parses from its `Variable`s. Write one with {@link defineVendor}, which infers
 * all three, and register it in `vendors/registry.ts`.
 */
export interface VendorAdapter<
  Name extends string = string,
  Own extends OwnSettings = OwnSettings,
  Variable extends string = string,
> {
  source: Name;
  /** Its webhook endpoint in `/openapi.json`. */
  webhook: WebhookDoc;
  /** The name of the scheme {@link VendorAdapter.verifyStored} checks (`extend-hmac-sha256`, …). */
  scheme: string;
  /**
   * The webhook routes (Hono paths, any method: the pipeline answers 405 to all but POST) the
   * vendor posts to. A route's parameters reach {@link Delivery.params}.
   */
  routes: readonly string[];
  /** The vendor's own environment variables (secrets and vars), each with what it holds. */
  variables: Readonly<Record<Variable, string>>;
  /** Parses the vendor's own variables — `read` gives one's raw text, or undefined when unset. */
  readSettings(read: (variable: Variable) => string | undefined): Own;
  /**
   * Whether the vendor's jobs carry a company id. A company-scoped read token sees only jobs of
   * such sources, and only its company's (CONTRACT §5).
   */
  companyScoped: boolean;
  /**
   * The kinds of its jobs that are configuration resources (an Extend classifier, say) rather than
   * runs: `GET /v1/jobs?category=resource` lists them, `category=run` everything else.
   */
  resourceKinds: readonly string[];
  /** Checks that need no body: signature headers present, URL token. Throws {@link ApiError}. */
  admit(delivery: Delivery<Own>): Promise<void>;
  /** Authenticates the raw bytes before anything parses them. Throws {@link ApiError}. */
  authenticate(delivery: Delivery<Own>, body: Uint8Array): Promise<void>;
  /** Parses, validates and normalizes an authenticated body. */
  interpret(delivery: Delivery<Own>, text: string): Promise<Interpretation>;
  /** What to keep of an authenticated delivery to re-verify its bytes later. */
  authMaterial(delivery: Delivery<Own>): Promise<AuthMaterial>;
  /** Checks stored bytes again with the material kept at receipt, against today's settings; freshness aside. */
  verifyStored(material: AuthMaterial, body: Uint8Array, settings: VendorSettings<Own>): Promise<boolean>;
  /** The request a stored delivery arrived as, rebuilt from its material, to run it through `interpret` again. */
  replayRequest(material: AuthMaterial | null): Request;
}

/**
 * Declares an adapter with its types inferred from it: the source name as a literal (so the
 * registry can derive the `Source` union), its own settings, and the variables `read` may ask for.
 *
 * @example
 * export const acmeAdapter = defineVendor({
 *   source: "acme",
 *   variables: { ACME_SECRETS: "Comma-separated signing secrets." },
 *   readSettings: (read) => ({ secrets: commaList(read("ACME_SECRETS")) }),
 *   // … routes, scheme, companyScoped and the steps
 * });
 */
export function defineVendor<const Name extends string, Own extends OwnSettings, Variable extends string>(
  adapter: VendorAdapter<Name, Own, Variable>,
): VendorAdapter<Name, Own, Variable> {
  return adapter;
}

/**
 * The shared settings and `adapter`'s own, read from the Worker's environment. An adapter's
 * variables are not in the `Env` interface's own members (the registry adds them), so each is
 * looked up by name and kept only if it is text.
 */
export function settingsFor<Own extends OwnSettings, Variable extends string>(
  adapter: VendorAdapter<string, Own, Variable>,
  shared: Settings,
  env: object,
): VendorSettings<Own> {
  const own = adapter.readSettings((variable) => {
    const value: unknown = Reflect.get(env, variable);
    return typeof value === "string" ? value : undefined;
  });
  return { ...shared, ...own };
}

/** Each environment's settings, per vendor: parsed once per isolate, not per request. */
const SETTINGS = new WeakMap<object, Map<VendorAdapter, unknown>>();

/** {@link settingsFor} the Worker's environment, kept for the next request with the same one. */
export function settingsOf<Own extends OwnSettings, Variable extends string>(
  adapter: VendorAdapter<string, Own, Variable>,
  env: Env,
): VendorSettings<Own> {
  let perVendor = SETTINGS.get(env);
  if (perVendor === undefined) {
    perVendor = new Map();
    SETTINGS.set(env, perVendor);
  }
  let settings = perVendor.get(adapter) as VendorSettings<Own> | undefined;
  if (settings === undefined) {
    settings = settingsFor(adapter, readSettings(env), env);
    perVendor.set(adapter, settings);
  }
  return settings;
}

/** Where a replayed delivery claims to come from: it never leaves the Worker. */
export const REPLAY_URL = "https://runledger.internal/replay";

/**
 * Kept authentication headers, for an adapter that signs with headers: `headerNames` maps each
 * value's name in the {@link AuthMaterial} to its header. `read` takes them from a delivery (trimmed,
 * empty when absent); `replay` rebuilds a request that carries them again (nothing for another
 * scheme's material), for a quarantine retry through `interpret`.
 */
export function signatureHeaderMaterial(scheme: string, headerNames: Readonly<Record<string, string>>) {
  return {
    read(request: Request): AuthMaterial {
      const values = Object.fromEntries(
        Object.entries(headerNames).map(([name, header]) => [
          name,
          (request.headers.get(header) ?? "").trim(),
        ]),
      );
      return { scheme, values };
    },
    replay(material: AuthMaterial | null): Request {
      const headers = new Headers();
      if (material?.scheme === scheme) {
        for (const [name, header] of Object.entries(headerNames))
          headers.set(header, material.values[name] ?? "");
      }
      return new Request(REPLAY_URL, { method: "POST", headers });
    },
  };
}

/**
 * A lookup in a table keyed by vendor-supplied text, by own keys only: `table["constructor"]` would
 * otherwise find `Object.prototype`'s function (an event type or status named `__proto__` made a
 * delivery fail or stored a nonsense status; found by the hostile corpus, test/corpus/).
 */
export function lookup<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** Converts valibot issues to quarantine issues, with dotted paths under `prefix`. */
export function toIssues(issues: readonly v.BaseIssue<unknown>[], prefix = ""): Issue[] {
  return issues.map((issue) => {
    const path = (issue.path ?? []).map((item) => String(item.key)).join(".");
    return {
      path: [prefix, path].filter((part) => part.length > 0).join("."),
      message: issue.message,
    };
  });
}

/** Parses JSON, or returns the quarantine issue saying why it is not JSON. */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false; issues: Issue[] } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return {
      ok: false,
      issues: [
        {
          path: "",
          message: `body is not valid JSON: ${error instanceof Error ? error.message : "parse error"}`,
        },
      ],
    };
  }
}

/** Year 0000 to 9999: the times the API can show as RFC 3339 (Alfred's `event_time` is bounded alike). */
const EARLIEST_TIME = Date.parse("0000-01-01T00:00:00.000Z");
const LATEST_TIME = Date.parse("9999-12-31T23:59:59.999Z");

/**
 * Whether a vendor's parsed time can order a job. `Date.parse` also reads years past 9999 and
 * before 0 (`+020000-01-01T00:00:00Z`, `Sat, 01 Jan 20000 00:00:00 GMT`), which the API would show
 * as `+020000-…` and which would top the jobs list for ever (found by fuzzing, test/fuzz.test.ts):
 * an adapter counts such a time as unreadable, like `"..."`, and falls back as for a missing one.
 */
export function isShowableTime(ms: number): boolean {
  return ms >= EARLIEST_TIME && ms <= LATEST_TIME;
}

/** What an HMAC signature check of a delivery found (CONTRACT §3.3: the MAC first, then freshness). */
export type SignatureVerdict = "ok" | "invalid_signature" | "stale_timestamp";

/** Refuses a delivery whose signature check failed, with the contract's code; `ok` passes. */
export function refuseUnlessSigned(verdict: SignatureVerdict): void {
  if (verdict === "invalid_signature") {
    throw new ApiError("invalid_signature", "The signature does not match any configured secret.");
  }
  if (verdict === "stale_timestamp") {
    throw new ApiError("stale_timestamp", "The signature timestamp is outside the allowed window.");
  }
}
