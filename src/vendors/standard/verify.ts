/**
 * @module Standard Webhooks signatures (https://www.standardwebhooks.com, "Verifying webhooks"):
 * `webhook-signature` is a space-separated list of `v<N>,<base64>` entries; a `v1` entry is the
 * base64 HMAC-SHA256 of `${webhook-id}.${webhook-timestamp}.${rawBody}`, keyed with the
 * base64-decoded part of a `whsec_…` secret. A delivery passes if any `v1` entry matches any
 * configured secret; then its timestamp must be fresh.
 */
import { FUTURE_SKEW_SECONDS } from "../../config";
import type { SignatureVerdict } from "../index";

const SECRET_PREFIX = "whsec_";
const UNIX_SECONDS = /^-?\d{1,15}$/;
/** An HMAC-SHA256 is 32 bytes: 44 base64 characters with their padding. */
const MAC_BYTES = 32;
const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey | null>>();

/** Standard (padded or not) base64 to bytes, or null if it is not base64. */
export function base64Bytes(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  try {
    const binary = atob(text);
    return Uint8Array.from(binary, (char) => char.charCodeAt(0));
  } catch {
    return null;
  }
}

/**
 * The HMAC key of a secret: the base64 after `whsec_` (the prefix is optional, as the spec's
 * libraries take it). Null for a secret that is not base64, which then matches nothing.
 */
function hmacKey(secret: string): Promise<CryptoKey | null> {
  let key = keys.get(secret);
  if (key === undefined) {
    const raw = base64Bytes(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret);
    key =
      raw === null || raw.byteLength === 0
        ? Promise.resolve(null)
        : crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    keys.set(secret, key);
  }
  return key;
}

function signedBytes(id: string, timestamp: string, body: Uint8Array): Uint8Array {
  const prefix = encoder.encode(`${id}.${timestamp}.`);
  const message = new Uint8Array(prefix.byteLength + body.byteLength);
  message.set(prefix, 0);
  message.set(body, prefix.byteLength);
  return message;
}

/** The decoded `v1` signatures of a `webhook-signature` header; other versions are skipped. */
function v1Signatures(header: string): Uint8Array[] {
  const signatures: Uint8Array[] = [];
  for (const entry of header.split(" ")) {
    const comma = entry.indexOf(",");
    if (comma === -1 || entry.slice(0, comma) !== "v1") continue;
    const bytes = base64Bytes(entry.slice(comma + 1));
    if (bytes !== null && bytes.byteLength === MAC_BYTES) signatures.push(bytes);
  }
  return signatures;
}

export interface StandardSignatureInput {
  secrets: string[];
  /** `webhook-id`, exactly as received: it is part of the signed content. */
  id: string;
  /** `webhook-timestamp`, Unix seconds exactly as received. */
  timestamp: string;
  /** `webhook-signature`: one or more space-separated `v1,<base64>` entries. */
  signature: string;
  /** The raw request body: verified before anything parses it. */
  body: Uint8Array;
  nowSeconds: number;
  toleranceSeconds: number;
}

/**
 * Verifies a Standard Webhooks delivery. The HMAC is checked before freshness, as for Extend
 * (CONTRACT §3.1), so `stale_timestamp` is only said to a request signed with a configured
 * secret. The MAC is computed once per secret, whatever the number of signatures in the header,
 * and each is compared in constant time.
 *
 * @example
 * const verdict = await verifyStandardSignature({ secrets: ["whsec_…"], id, timestamp, signature, body, nowSeconds, toleranceSeconds: 300 });
 */
export async function verifyStandardSignature(input: StandardSignatureInput): Promise<SignatureVerdict> {
  if (!UNIX_SECONDS.test(input.timestamp) || input.id.length === 0) return "invalid_signature";
  const signatures = v1Signatures(input.signature);
  if (signatures.length === 0) return "invalid_signature";
  const message = signedBytes(input.id, input.timestamp, input.body);
  let matched = false;
  // Secrets are tried in order (rotation, several senders) until one matches, each against every
  // signature in constant time: the time taken tells at most which secret signed an authentic
  // delivery, nothing about a forged one, which is checked against every secret.
  for (const secret of input.secrets) {
    const key = await hmacKey(secret);
    if (key === null) continue;
    const expected = await crypto.subtle.sign("HMAC", key, message);
    for (const signature of signatures) {
      matched = crypto.subtle.timingSafeEqual(expected, signature) || matched;
    }
    if (matched) break;
  }
  if (!matched) return "invalid_signature";
  const age = input.nowSeconds - Number(input.timestamp);
  if (age > input.toleranceSeconds || -age > FUTURE_SKEW_SECONDS) return "stale_timestamp";
  return "ok";
}
