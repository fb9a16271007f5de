/**
 * @module Reading a request body under a byte limit. The limit is enforced from `content-length`
 * before reading and again while streaming, so an unbounded body is never buffered (CONTRACT §3.3).
 */
import { ApiError } from "./errors";

function tooLarge(limit: number): ApiError {
  return new ApiError("payload_too_large", `The body exceeds the limit of ${limit} bytes.`);
}

/** Throws `payload_too_large` when the declared length is over the limit. */
export function checkDeclaredLength(request: Request, limit: number): void {
  const declared = request.headers.get("content-length");
  if (declared === null) return;
  const length = Number(declared);
  if (Number.isFinite(length) && length > limit) throw tooLarge(limit);
}

/** Reads the whole body as bytes, stopping with `payload_too_large` as soon as it passes `limit`. */
export async function readBodyWithLimit(
  body: ReadableStream<Uint8Array> | null,
  limit: number,
): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0];
  const whole = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    whole.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return whole;
}
