/**
 * @module The vendor adapter interface and the registry of vendors. An adapter turns one
 * authenticated delivery into a {@link NormalizedEvent}, a quarantine verdict, or a direct reply;
 * the ingest pipeline (src/ingest) runs the steps in the contract's order for every vendor.
 * A third vendor is one folder under `vendors/` and one line in {@link VENDORS}.
 */
import type * as v from "valibot";
import type { Settings } from "../config";
import type { ApiError } from "../http/errors";
import type { NormalizedEvent, Source } from "../ledger/types";

/** One validation issue, as the quarantine API shows it. */
export interface Issue {
  path: string;
  message: string;
}

export interface Delivery {
  request: Request;
  /** Route parameters (Alfred's URL token). */
  params: Record<string, string | undefined>;
  settings: Settings;
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

export interface VendorAdapter {
  source: Source;
  /** Its webhook endpoint in `/openapi.json`. */
  webhook: WebhookDoc;
  /** The name of the scheme {@link VendorAdapter.verifyStored} checks (`extend-hmac-sha256`, …). */
  scheme: string;
  /** Checks that need no body: signature headers present, URL token. Throws {@link ApiError}. */
  admit(delivery: Delivery): Promise<void>;
  /** Authenticates the raw bytes before anything parses them. Throws {@link ApiError}. */
  authenticate(delivery: Delivery, body: Uint8Array): Promise<void>;
  /** Parses, validates and normalizes an authenticated body. */
  interpret(delivery: Delivery, text: string): Promise<Interpretation>;
  /** What to keep of an authenticated delivery to re-verify its bytes later. */
  authMaterial(delivery: Delivery): Promise<AuthMaterial>;
  /** Checks stored bytes again with the material kept at receipt, against today's settings; freshness aside. */
  verifyStored(material: AuthMaterial, body: Uint8Array, settings: Settings): Promise<boolean>;
  /** The request a stored delivery arrived as, rebuilt from its material, to run it through `interpret` again. */
  replayRequest(material: AuthMaterial | null): Request;
}

/** Where a replayed delivery claims to come from: it never leaves the Worker. */
export const REPLAY_URL = "https://runledger.internal/replay";

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
