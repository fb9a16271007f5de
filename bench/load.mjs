/**
 * @module One load: autocannon against a server for a fixed time, with every request built by a
 * mode's generator (bench/deliveries.mjs). Only 2xx answers count as deliveries; the rest is
 * reported beside them.
 */
import autocannon from "autocannon";

export const CONNECTIONS = 32;

/** How many error times a load keeps (seconds from its start), to tell bursts from a steady trickle. */
const ERROR_TIMES_KEPT = 8;

/**
 * Runs `next(n)` requests against `url` for `seconds`, or until `amount` answers if given. Resolves with the 2xx rate, p99 latency
 * (all answers), the counts of 2xx, non-2xx, errors and timeouts, and when the last 2xx arrived
 * (performance.now()), from which the projection lag is measured.
 *
 * `errors` is autocannon's: connection errors (a reset, a refused connection) plus timeouts, one per
 * request lost. `errorCounts` says what they were (`{ ECONNRESET: 18 }`; a timeout counts as
 * `timeout`), `resets` is the ECONNRESET count, and `errorTimes` when the first few happened.
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
  const errorCounts = {};
  const errorTimes = [];
  instance.on("reqError", (error) => {
    const code =
      error?.message === "request timed out" ? "timeout" : String(error?.code ?? error?.message ?? error);
    errorCounts[code] = (errorCounts[code] ?? 0) + 1;
    if (errorTimes.length < ERROR_TIMES_KEPT) errorTimes.push((performance.now() - startedAt) / 1000);
  });
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
    errorCounts,
    resets: errorCounts.ECONNRESET ?? 0,
    errorTimes,
    statusCodes: Object.keys(result.statusCodeStats ?? {}).filter((code) => !code.startsWith("2")),
    lastAckAt,
    seconds: elapsed,
  };
}
