// Signs a body as Extend signs its webhooks (vendors/extend.md §2.7): lowercase hex HMAC-SHA256
// over `v0:${timestamp}:${body}`, keyed with the secret's UTF-8 bytes, through WebCrypto. Shared
// by `npm run sign`, the scripts' tests and the Worker tests; plain WebCrypto, so it runs in Node
// and in workerd alike. The Worker itself only verifies (src/vendors/extend/verify.ts).

const encoder = new TextEncoder();

/**
 * @param {string} secret the endpoint signing secret (`wss_…`)
 * @param {string} timestamp Unix seconds, exactly as sent in `x-extend-request-timestamp`
 * @param {string | Uint8Array} body the raw body
 * @returns {Promise<string>} the `x-extend-request-signature` value
 */
export async function signExtendBody(secret, timestamp, body) {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  const prefix = encoder.encode(`v0:${timestamp}:`);
  const message = new Uint8Array(prefix.byteLength + bytes.byteLength);
  message.set(prefix, 0);
  message.set(bytes, prefix.byteLength);
  const mac = await crypto.subtle.sign("HMAC", key, message);
  return [...new Uint8Array(mac)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
