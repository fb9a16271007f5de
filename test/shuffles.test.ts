/**
 * Out-of-order and repeated deliveries (CONTRACT §4 "Order", "Dedup"): a job's final summary and
 * history are the same whatever order its events arrive in and however often each is repeated.
 * Orders and repeat counts come from a seeded generator, so a failure names a reproducible case.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { mulberry32, shuffle } from "./fixtures/alfred/events";
import {
  createToken,
  extendEvent,
  type JobDetailBody,
  jobDetail,
  nowSeconds,
  sendAlfred,
  sendExtend,
} from "./helpers";

let token: string;
beforeAll(async () => {
  token = await createToken();
});

interface Delivery {
  send: () => Promise<Response>;
}

/** Each event 1–3 times, all deliveries in one seeded shuffle. */
function schedule(events: Delivery[], seed: number): { order: Delivery[]; total: number } {
  const random = mulberry32(seed);
  const copies = events.flatMap((event) => Array.from({ length: 1 + Math.floor(random() * 3) }, () => event));
  return { order: shuffle(copies, random), total: copies.length };
}

/** What must not depend on arrival: everything but receipt times and the job's own id. */
function comparable(job: JobDetailBody) {
  const { lastReceivedAt: _r, jobKey: _k, id: _i, deliveryCount: _d, version: _v, ...rest } = job;
  return {
    ...rest,
    history: job.history.map(
      ({ receivedAt: _t, deliveries: _n, receipts: _r, eventId, summary, ...entry }) => {
        const { jobId: _j, ...facts } = summary;
        return { ...entry, summary: facts, eventId: eventId.replace(/-\d+$/, "") };
      },
    ),
  };
}

const SEEDS = Array.from({ length: 12 }, (_, n) => 1000 + n);

/** Many seeded orders per test: a budget of its own, for a loaded 2-core machine. */
const SHUFFLE_BUDGET_MS = 90_000;

describe("Extend workflow run: steps, review and completion in any order, with repeats", {
  timeout: SHUFFLE_BUDGET_MS,
}, () => {
  const base = nowSeconds() - 120;
  function events(run: string, n: number): Delivery[] {
    const at = (offset: number) => ({ timestamp: base + offset });
    const step = (i: number) =>
      extendEvent(
        "workflow_run.step_run.processed",
        {
          object: "workflow_step_run",
          id: `wsr_${i}`,
          workflowRunId: run,
          status: "PROCESSED",
          step: { name: `step ${i}` },
        },
        `evt_step_${i}-${n}`,
      );
    const runPayload = {
      object: "workflow_run",
      id: run,
      status: "PROCESSED",
      workflow: { name: "Invoices" },
    };
    const review = extendEvent(
      "workflow_run.needs_review",
      { ...runPayload, status: "NEEDS_REVIEW" },
      `evt_review-${n}`,
    );
    const done = extendEvent("workflow_run.completed", runPayload, `evt_done-${n}`);
    return [
      { send: () => sendExtend(step(1), at(0)) },
      { send: () => sendExtend(step(2), at(10)) },
      { send: () => sendExtend(step(3), at(20)) },
      { send: () => sendExtend(review, at(30)) },
      { send: () => sendExtend(done, at(40)) },
    ];
  }

  it("every order gives the same job", async () => {
    const results = [];
    for (const [n, seed] of SEEDS.entries()) {
      const run = `workflow_run_shuffle_${n}`;
      const { order, total } = schedule(events(run, n), seed);
      for (const delivery of order) expect((await delivery.send()).status).toBe(200);
      const job = await jobDetail(`extend:workflow_run:${run}`, token);
      expect(job).toMatchObject({ status: "succeeded", terminal: true, eventCount: 5, deliveryCount: total });
      results.push(comparable(job));
    }
    expect(results[0]?.history.map((entry) => entry.eventType)).toEqual([
      "workflow_run.step_run.processed",
      "workflow_run.step_run.processed",
      "workflow_run.step_run.processed",
      "workflow_run.needs_review",
      "workflow_run.completed",
    ]);
    for (const result of results) expect(result).toEqual(results[0]);
  });
});

describe("Alfred job: a lifecycle with same-second steps in any order, with repeats", {
  timeout: SHUFFLE_BUDGET_MS,
}, () => {
  const T = 1_700_100_000;
  function events(job: string, n: number): Delivery[] {
    const event = (name: string, time: number, extra: Record<string, unknown> = {}) => ({
      event_id: `${name}@${time}-${n}`,
      event_type: "job_event_type",
      event_time: String(time),
      event: { event_name: `${name}_event`, job_id: job, company_id: "co-shuffle", ...extra },
    });
    return [
      event("job_create", T, { file_count: "2" }),
      event("job_start", T),
      event("job_stage_update", T, { stage: "downloading" }),
      event("job_stage_update", T + 5, { stage: "in_progress" }),
      event("job_failed", T + 9, { retries: "1", exceeded_retries: "false", error_messages: ["timeout"] }),
      event("job_retry", T + 10, { retries: "1" }),
      event("job_finished", T + 20),
    ].map((body) => ({ send: () => sendAlfred(body) }));
  }

  it("every order gives the same job", async () => {
    const results = [];
    for (const [n, seed] of SEEDS.entries()) {
      const job = `shuffle-job-${n}`;
      const { order, total } = schedule(events(job, n), seed);
      for (const delivery of order) expect((await delivery.send()).status).toBe(200);
      const detail = await jobDetail(`alfred:job:${job}`, token);
      expect(detail).toMatchObject({
        status: "succeeded",
        terminal: true,
        eventCount: 7,
        deliveryCount: total,
      });
      results.push(comparable(detail));
    }
    expect(results[0]?.history.map((entry) => entry.eventType)).toEqual([
      "job_create",
      "job_start",
      "job_stage_update",
      "job_stage_update",
      "job_failed",
      "job_retry",
      "job_finished",
    ]);
    for (const result of results) expect(result).toEqual(results[0]);
  });
});
