// Signs a body as a Standard Webhooks sender does (https://www.standardwebhooks.com): the
// `webhook-signature` entry `v1,<base64 HMAC-SHA256 of "${id}.${timestamp}.${body}">`, keyed with
// the base64-decoded part of a `whsec_…` secret, through WebCrypto. Shared by `npm run send`, the
// Worker tests and anyone wiring a sender; the Worker itself only verifies
// (src/vendors/standard/verify.ts).

const encoder = new TextEncoder();

/**
 * @param {string} secret `whsec_<base64 key>` (the prefix is optional)
 * @param {string} id the `webhook-id`
 * @param {string} timestamp Unix seconds, exactly as sent in `webhook-timestamp`
 * @param {string | Uint8Array} body the raw body
 * @returns {Promise<string>} one `webhook-signature` entry, `v1,<base64>`
 */
export async function signStandardBody(secret, id, timestamp, body) {
  const key = Uint8Array.from(atob(secret.replace(/^whsec_/, "")), (char) => char.charCodeAt(0));
  const hmac = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  const prefix = encoder.encode(`${id}.${timestamp}.`);
  const message = new Uint8Array(prefix.byteLength + bytes.byteLength);
  message.set(prefix, 0);
  message.set(bytes, prefix.byteLength);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", hmac, message));
  return `v1,${btoa(String.fromCharCode(...mac))}`;
}

/** A fresh development secret: `whsec_` and the base64 of 32 random bytes. */
export function newStandardSecret() {
  return `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`;
}
