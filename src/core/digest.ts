/**
 * @module The SHA-256 hex digest of a text: how read-API tokens are kept (src/api/tokens.ts) and
 * how an Alfred URL token is remembered for re-verification (src/vendors/alfred), never the token.
 */
const encoder = new TextEncoder();

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
