/**
 * @module Alfred's URL tokens (CONTRACT §2, §3.2). Alfred signs nothing: the token in the webhook
 * URL (`/webhooks/alfred/<token>`) is the whole proof of origin. An entry of `ALFRED_WEBHOOK_TOKENS`
 * is `TOKEN` (any company) or `TOKEN=ID1|ID2`, bound to those Alfred `company_id`s, so one company's
 * URL cannot write another company's jobs. Tokens are compared in constant time.
 */
import { sha256Hex } from "../../core/digest";

/** One entry of `ALFRED_WEBHOOK_TOKENS`. */
export interface UrlToken {
  token: string;
  /** The companies its events may name; null: any (an unbound token). */
  companies: readonly string[] | null;
}

/**
 * Reads one entry. A binding follows the entry's **last** `=`, and only when something follows it:
 * a token that ends in `=` (base64 padding, `abc==`) stays a plain token. Company ids are split on
 * `|`, trimmed; `TOKEN=|` binds to no company at all, so that URL stores nothing (fails closed).
 *
 * @example
 * parseUrlToken("tok=co-1|co-2") // { token: "tok", companies: ["co-1", "co-2"] }
 * parseUrlToken("dG9rZW4=")      // { token: "dG9rZW4=", companies: null }
 */
export function parseUrlToken(entry: string): UrlToken {
  const at = entry.lastIndexOf("=");
  const binding = at === -1 ? "" : entry.slice(at + 1).trim();
  if (at <= 0 || binding.length === 0) return { token: entry, companies: null };
  const companies = binding
    .split("|")
    .map((id) => id.trim())
    .filter((id) => id.length > 0);
  return { token: entry.slice(0, at).trim(), companies };
}

const encoder = new TextEncoder();

/** Constant-time equality of two equally long byte strings (false for different lengths). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && crypto.subtle.timingSafeEqual(a, b);
}

/**
 * The entry whose token is `token`, or null. Both sides are hashed to fixed-length digests first,
 * and every entry is compared, so neither the content nor the length of a configured token leaks
 * through timing.
 */
export async function findUrlToken(token: string, entries: readonly UrlToken[]): Promise<UrlToken | null> {
  const wanted = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(token)));
  let found: UrlToken | null = null;
  for (const entry of entries) {
    const candidate = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(entry.token)));
    if (sameBytes(wanted, candidate) && found === null) found = entry;
  }
  return found;
}

/**
 * The entry whose token hashes to `tokenSha256` (the hex digest kept with each stored event,
 * never the token), or null: how a stored delivery finds its URL's entry again — to re-verify it,
 * or to apply its binding when a quarantined delivery is retried.
 */
export async function findUrlTokenByHash(
  tokenSha256: string,
  entries: readonly UrlToken[],
): Promise<UrlToken | null> {
  const kept = encoder.encode(tokenSha256);
  let found: UrlToken | null = null;
  for (const entry of entries) {
    const candidate = encoder.encode(await sha256Hex(entry.token));
    if (sameBytes(candidate, kept) && found === null) found = entry;
  }
  return found;
}

/** Whether an event naming `companyId` (null: none) may arrive through `entry`'s URL. */
export function bindingAllows(entry: UrlToken, companyId: string | null): boolean {
  return entry.companies === null || (companyId !== null && entry.companies.includes(companyId));
}
