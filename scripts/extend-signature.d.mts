/** Signs a body as Extend does; see extend-signature.mjs. */
export function signExtendBody(secret: string, timestamp: string, body: string | Uint8Array): Promise<string>;
