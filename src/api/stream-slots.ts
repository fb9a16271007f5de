/**
 * @module Places of a read token's open job streams and waiting long polls (CONTRACT §2
 * `MAX_STREAMS_PER_TOKEN`), counted by the token's {@link StreamQuota} object so that the limit
 * holds across isolates. Beyond the limit: 429 `too_many_streams` with `Retry-After`. A place is
 * given back as soon as its request ends — a stream when its body ends or its client goes, a long
 * poll when it answers. If the counting object cannot be reached, the request goes ahead (and the
 * failure is logged): the limit guards capacity, and is not worth refusing reads for.
 */
import type { MiddlewareHandler } from "hono";
import { maxStreamsPerToken } from "../config";
import { ApiError } from "../http/errors";
import { POLL_LEASE_SLACK_MS, STREAM_LEASE_MS, STREAM_RENEW_MS } from "../limits/stream-quota";
import type { ApiEnv } from "./auth";
import type { TokenScope } from "./tokens";

/** A place held for one request. */
export interface StreamSlot {
  renew(): Promise<void>;
  release(): Promise<void>;
}

function logFailure(what: string, error: unknown): void {
  console.log(JSON.stringify({ level: "warn", msg: `stream quota ${what} failed`, error: String(error) }));
}

/** Takes a place for `scope`'s token for `ttlMs` (renewable), or throws 429 `too_many_streams`. */
export async function takeStreamSlot(env: Env, scope: TokenScope, ttlMs: number): Promise<StreamSlot> {
  const quota = env.STREAM_QUOTA.get(env.STREAM_QUOTA.idFromName(scope.tokenHash));
  const lease = crypto.randomUUID();
  const limit = maxStreamsPerToken(env.MAX_STREAMS_PER_TOKEN);
  const taken = await quota.acquire(lease, limit, ttlMs).catch((error: unknown) => {
    logFailure("acquire", error);
    return true;
  });
  if (!taken) {
    throw new ApiError(
      "too_many_streams",
      `This token holds ${limit} open streams and waiting long polls, its limit; close one and retry.`,
    );
  }
  return {
    renew: () => quota.renew(lease, ttlMs).catch((error: unknown) => logFailure("renew", error)),
    release: () => quota.release(lease).catch((error: unknown) => logFailure("release", error)),
  };
}

/**
 * Holds a place for as long as `response`'s body streams: renewed every {@link STREAM_RENEW_MS},
 * given back when the body ends or its reader cancels it (the client went away).
 */
export function holdWhileStreaming(response: Response, slot: StreamSlot): Response {
  const body = response.body;
  if (body === null) {
    void slot.release();
    return response;
  }
  const reader = body.getReader();
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(renewal);
    void slot.release();
  };
  const renewal = setInterval(() => void slot.renew(), STREAM_RENEW_MS);
  const held = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          end();
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        end();
        controller.error(error);
      }
    },
    async cancel(reason) {
      end();
      await reader.cancel(reason);
    },
  });
  return new Response(held, response);
}

/** A stream's place: taken before the stream opens, held while it streams. */
export async function streamWithinLimit(
  env: Env,
  scope: TokenScope,
  open: () => Promise<Response>,
): Promise<Response> {
  const slot = await takeStreamSlot(env, scope, STREAM_LEASE_MS);
  try {
    return holdWhileStreaming(await open(), slot);
  } catch (error) {
    await slot.release();
    throw error;
  }
}

/**
 * For `GET /v1/changes`: a request that may wait (`wait` > 0) holds a place until it answers. A
 * request that does not wait holds none. The place is taken on arrival, before the route knows
 * whether anything waits for it: a long poll answered at once holds its place for that moment.
 */
export const waitingPollWithinLimit: MiddlewareHandler<ApiEnv> = async (c, next) => {
  const wait = Number(new URL(c.req.url).searchParams.get("wait") ?? "0");
  if (!(wait > 0)) return next();
  const slot = await takeStreamSlot(c.env, c.get("scope"), wait * 1000 + POLL_LEASE_SLACK_MS);
  try {
    await next();
  } finally {
    await slot.release();
  }
};
