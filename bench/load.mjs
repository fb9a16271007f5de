/**
 * @module One load: autocannon against a server for a fixed time, with every request built by a
 * mode's generator (bench/deliveries.mjs). Only 2xx answers count as deliveries; the rest is
 * reported beside them.
 */
import autocannon from "autocannon";

export const CONNECTIONS = 32;

/**
 * Runs `next(n)` requests against `url` for `seconds`, or until `amount` answers if given. Resolves with the 2xx rate, p99 latency
 * (all answers), the counts of 2xx, non-2xx, errors (what they were) and timeouts, and when the last 2xx arrived
 * (performance.now()), from which the projection lag is measured.
 */
export async function runLoad({ url, next, seconds, amount }) {
  let n = 0;
  let lastAckAt = null;
  let lastAnswerAt = null;
  const startedAt = performance.now();
  const instance = autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    ...(amount === undefined ? {} : { amount }),
    timeout: 20,
    // One generator shared by all connections: every request is request number n of this load.
    requests: [{ setupRequest: (request) => ({ ...request, ...next(n++) }) }],
  });
  const errorCodes = new Set();
  instance.on("reqError", (error) => errorCodes.add(String(error?.code ?? error?.message ?? error)));
  instance.on("response", (_client, statusCode) => {
    lastAnswerAt = performance.now();
    if (statusCode >= 200 && statusCode < 300) lastAckAt = lastAnswerAt;
  });
  const result = await instance;
  const ok = result["2xx"];
  // autocannon notices that `amount` is reached only at its next 1 s tick, so its own duration
  // would round a 1.3 s load up to 2 s: the rate runs to the last answer instead.
  const elapsed = lastAnswerAt === null ? result.duration : (lastAnswerAt - startedAt) / 1000;
  return {
    rps: ok / elapsed,
    p99: result.latency.p99,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    errorCodes: [...errorCodes],
    statusCodes: Object.keys(result.statusCodeStats ?? {}).filter((code) => !code.startsWith("2")),
    lastAckAt,
    seconds: elapsed,
  };
}
