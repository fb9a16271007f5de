/**
 * The future horizon (CONTRACT §4 "Clocks", `FUTURE_HORIZON_SECONDS`, 24 h by default): an event
 * stamped far ahead of its receipt (Alfred's `event_time` accepts years up to 9999) orders as
 * receipt + horizon, so it no longer pins the job's status and its place in the list, while its
 * `occurredAt` is shown as the vendor sent it. `0` turns the cap off: the vendor's time decides.
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

/** Runs the Worker itself with a horizon of `seconds`, against the same Durable Objects and D1. */
async function sendWithHorizon(body: object, seconds = "3600"): Promise<Response> {
  const ctx = createExecutionContext();
  const request = alfredRequest("POST", ALFRED_TOKEN, JSON.stringify(body)) as Request<
    unknown,
    IncomingRequestCfProperties
  >;
  const response = await worker.fetch(request, { ...env, FUTURE_HORIZON_SECONDS: seconds }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

const YEAR_9999 = Date.UTC(9999, 0, 1) / 1000;
const nowSeconds = () => Math.floor(Date.now() / 1000);

describe("an event stamped in year 9999", () => {
  it("with the horizon off (0) pins the status: the latest time decides", async () => {
    const jobId = "horizon-off";
    expect((await sendWithHorizon(alfredEvent("job_start", { jobId, time: YEAR_9999 }), "0")).status).toBe(
      200,
    );
    const finished = alfredEvent("job_finished", { jobId, time: nowSeconds() });
    expect((await sendWithHorizon(finished, "0")).status).toBe(200);
    const job = await jobDetail(`alfred:job:${jobId}`, token);
    expect(job).toMatchObject({ status: "processing", lastEventAt: "9999-01-01T00:00:00.000Z" });
  });

  it("by default orders as its receipt + 24 h: an event stamped past that moves the status", async () => {
    const jobId = "horizon-default";
    const received = Date.now();
    await sendAlfred(alfredEvent("job_start", { jobId, time: YEAR_9999 }));
    // Two days ahead by its own clock: capped too, at its own (later) receipt + 24 h.
    await sendAlfred(alfredEvent("job_finished", { jobId, time: nowSeconds() + 2 * 86_400 }));
    const job = await jobDetail(`alfred:job:${jobId}`, token);
    expect(job).toMatchObject({ status: "succeeded", terminal: true });
    expect(job.history[0]).toMatchObject({ eventType: "job_start", occurredAt: "9999-01-01T00:00:00.000Z" });
    expect(Date.parse(job.firstEventAt)).toBeGreaterThanOrEqual(received + 86_400_000 - 1000);
    expect(Date.parse(job.lastEventAt)).toBeLessThanOrEqual(Date.now() + 86_400_000);
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
