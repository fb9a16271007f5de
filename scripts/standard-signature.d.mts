/** Types for standard-signature.mjs, so the TypeScript tests can import the one signer. */
export function signStandardBody(
  secret: string,
  id: string,
  timestamp: string,
  body: string | Uint8Array,
): Promise<string>;
export function newStandardSecret(): string;
