/**
 * The future horizon (README "Ordering", `FUTURE_HORIZON_SECONDS`): off by default, so the vendor's
 * time decides as CONTRACT §4 says; with it, an event stamped far ahead of its receipt (Alfred's
 * `event_time` accepts years up to 9999) orders as receipt + horizon, so it no longer pins the
 * job's status and its place in the list, while its `occurredAt` is shown as the vendor sent it.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../src/index";
import { alfredEvent } from "./fixtures/alfred/events";
import { ALFRED_TOKEN, alfredRequest, createToken, jobDetail, sendAlfred } from "./helpers";

let token: string;
beforeAll(async () => {
  token = await createToken();
});

/** Runs the Worker itself with a one-hour horizon, against the same Durable Objects and D1. */
async function sendWithHorizon(body: object): Promise<Response> {
  const ctx = createExecutionContext();
  const request = alfredRequest("POST", ALFRED_TOKEN, JSON.stringify(body)) as Request<
    unknown,
    IncomingRequestCfProperties
  >;
  const response = await worker.fetch(request, { ...env, FUTURE_HORIZON_SECONDS: "3600" }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

const YEAR_9999 = Date.UTC(9999, 0, 1) / 1000;
const nowSeconds = () => Math.floor(Date.now() / 1000);

describe("an event stamped in year 9999", () => {
  it("by default (no horizon) pins the status, as the contract's rule says: the latest time decides", async () => {
    const jobId = "horizon-off";
    await sendAlfred(alfredEvent("job_start", { jobId, time: YEAR_9999 }));
    await sendAlfred(alfredEvent("job_finished", { jobId, time: nowSeconds() }));
    const job = await jobDetail(`alfred:job:${jobId}`, token);
    expect(job).toMatchObject({ status: "processing", lastEventAt: "9999-01-01T00:00:00.000Z" });
  });

  it("with a horizon orders as its receipt + the horizon: a later real event moves the status", async () => {
    const jobId = "horizon-on";
    const received = Date.now();
    expect((await sendWithHorizon(alfredEvent("job_start", { jobId, time: YEAR_9999 }))).status).toBe(200);
    // Two hours later by its own clock, within the horizon of its own receipt.
    const later = nowSeconds() + 2 * 3600;
    expect((await sendWithHorizon(alfredEvent("job_finished", { jobId, time: later }))).status).toBe(200);
    const job = await jobDetail(`alfred:job:${jobId}`, token);
    expect(job).toMatchObject({ status: "succeeded", terminal: true });
    // The vendor's value is kept and shown; the list position (lastEventAt) follows the capped time.
    expect(job.history.map((entry) => [entry.eventType, entry.occurredAt])).toEqual([
      ["job_start", "9999-01-01T00:00:00.000Z"],
      ["job_finished", new Date(later * 1000).toISOString()],
    ]);
    expect(Date.parse(job.lastEventAt)).toBeLessThanOrEqual(Date.now() + 3600_000);
    expect(Date.parse(job.firstEventAt)).toBeGreaterThanOrEqual(received + 3600_000 - 1000);
  });
});
