/**
 * @module Reading a request body under a byte limit. The limit is enforced from `content-length`
 * before reading and again while streaming, so an unbounded body is never buffered (CONTRACT §3.3).
 */
import { ApiError } from "./errors";

function tooLarge(limit: number): ApiError {
  return new ApiError("payload_too_large", `The body exceeds the limit of ${limit} bytes.`);
}

/** How long the rest of an over-limit body is read and thrown away before the read is cancelled. */
export const DISCARD_MAX_MS = 10_000;

/**
 * Reads and throws away the rest of an over-limit body, so the client's connection ends cleanly:
 * cancelling a half-read request body leaves `wrangler dev`'s proxy stuck on that connection, and
 * later requests hang. Nothing is kept (memory stays flat whatever the size); only a body still
 * arriving after {@link DISCARD_MAX_MS} is cancelled.
 */
async function discardRest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  const stopAt = Date.now() + DISCARD_MAX_MS;
  try {
    for (;;) {
      const left = stopAt - Date.now();
      if (left <= 0) break;
      let timer: number | null = null;
      const timeout = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), left);
      });
      const next = await Promise.race([reader.read(), timeout]);
      if (timer !== null) clearTimeout(timer);
      if (next === null) break;
      if (next.done) return;
    }
    await reader.cancel();
  } catch {
    // The client went away: nothing left to read.
  }
}

/** Throws `payload_too_large` when the declared length is over the limit. */
export function checkDeclaredLength(request: Request, limit: number): void {
  const declared = request.headers.get("content-length");
  if (declared === null) return;
  const length = Number(declared);
  if (Number.isFinite(length) && length > limit) throw tooLarge(limit);
}

/**
 * Reads the whole body as bytes, keeping nothing past `limit`: once over, the rest of a request
 * body is read and thrown away (see {@link discardRest}) — or, for a response we fetched, simply
 * cancelled — and `payload_too_large` is thrown. Draining in the background after answering was
 * tried and wedges `wrangler dev`'s proxy just like cancelling.
 */
/**
 * A request's body within `limit` bytes. One whose `content-length` is within the limit
 * (`checkDeclaredLength` refused a longer one) is framed by it, so it is read in one call; a body
 * without one (chunked) is streamed and refused as soon as it passes the limit, never buffered
 * whole. A body longer than it declared is refused too.
 */
export async function readRequestBody(request: Request, limit: number): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared === null || !/^\d{1,15}$/.test(declared) || Number(declared) > limit) {
    return readBodyWithLimit(request.body, limit);
  }
  const body = new Uint8Array(await request.arrayBuffer());
  if (body.byteLength > limit) throw tooLarge(limit);
  return body;
}

export async function readBodyWithLimit(
  body: ReadableStream<Uint8Array> | null,
  limit: number,
  onOverflow: "drain" | "cancel" = "drain",
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
      if (onOverflow === "drain") await discardRest(reader);
      else await reader.cancel().catch(() => undefined);
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
