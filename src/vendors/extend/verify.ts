/**
 * @module Extend's webhook signature (vendors/extend.md §2.7, CONTRACT §3.1): lowercase hex
 * HMAC-SHA256 over `v0:${timestamp}:${rawBody}`, keyed with the signing secret's UTF-8 bytes,
 * checked with WebCrypto's constant-time `verify` against every configured secret, then freshness.
 */
import { FUTURE_SKEW_SECONDS } from "../../config";
import type { SignatureVerdict } from "../index";

const HEX_64 = /^[0-9a-fA-F]{64}$/;
const UNIX_SECONDS = /^-?\d{1,15}$/;
const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (key === undefined) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "verify",
    ]);
    keys.set(secret, key);
  }
  return key;
}

function hexToBytes(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

function signedBytes(timestamp: string, body: Uint8Array): Uint8Array {
  const prefix = encoder.encode(`v0:${timestamp}:`);
  const message = new Uint8Array(prefix.byteLength + body.byteLength);
  message.set(prefix, 0);
  message.set(body, prefix.byteLength);
  return message;
}

export interface ExtendSignatureInput {
  secrets: string[];
  /** `x-extend-request-timestamp`, exactly as received. */
  timestamp: string;
  /** `x-extend-request-signature`, any case. */
  signature: string;
  /** The raw request body: verified before anything parses it. */
  body: Uint8Array;
  nowSeconds: number;
  toleranceSeconds: number;
}

/**
 * Verifies an Extend delivery. The HMAC is checked before freshness, so `stale_timestamp` is only
 * ever said to a request signed with a configured secret (CONTRACT §3.1).
 *
 * @example
 * const verdict = await verifyExtendSignature({ secrets, timestamp, signature, body, nowSeconds, toleranceSeconds: 300 });
 */
export async function verifyExtendSignature(input: ExtendSignatureInput): Promise<SignatureVerdict> {
  if (!UNIX_SECONDS.test(input.timestamp) || !HEX_64.test(input.signature)) return "invalid_signature";
  const expected = hexToBytes(input.signature.toLowerCase());
  const message = signedBytes(input.timestamp, input.body);
  let matched = false;
  // Secrets are tried in order (several endpoints, rotation) until one matches: `verify` compares
  // in constant time, so the time taken tells at most which configured secret signed an authentic
  // delivery, nothing about a forged one, which is checked against every secret.
  for (const secret of input.secrets) {
    matched = await crypto.subtle.verify("HMAC", await hmacKey(secret), expected, message);
    if (matched) break;
  }
  if (!matched) return "invalid_signature";
  const age = input.nowSeconds - Number(input.timestamp);
  if (age > input.toleranceSeconds || -age > FUTURE_SKEW_SECONDS) return "stale_timestamp";
  return "ok";
}
