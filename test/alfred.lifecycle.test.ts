/**
 * Alfred job lifecycles delivered out of order (CONTRACT §4 "Order"): the status is that of the
 * event with the latest `event_time`, same-second ties go to the later lifecycle step, a late older
 * event never moves the status back, and history comes back in `occurredAt` order.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { type AlfredEnvelope, alfredEvent, mulberry32, shuffle } from "./fixtures/alfred/events";
import { createToken, jobDetail, sendAlfredStored } from "./helpers";

let token: string;
beforeAll(async () => {
  token = await createToken();
});

const T0 = 1700000000;

interface Step {
  body: AlfredEnvelope;
  time: number;
  status: string;
  terminal: boolean;
}

/** create, start, stage updates, retry, failed (not exceeded), retry, stage update, finished. */
function lifecycle(jobId: string): Step[] {
  const at = (seconds: number) => T0 + seconds;
  const steps: [AlfredEnvelope, string, boolean][] = [
    [alfredEvent("job_create", { jobId, time: at(0) }), "pending", false],
    [
      alfredEvent("job_start", { jobId, time: at(10), spelling: "sdk", typed: "native" }),
      "processing",
      false,
    ],
    [alfredEvent("job_stage_update", { jobId, time: at(20), stage: "downloading" }), "processing", false],
    [
      alfredEvent("job_stage_update", { jobId, time: at(30), stage: "in_progress", spelling: "bare" }),
      "processing",
      false,
    ],
    [alfredEvent("job_retry", { jobId, time: at(40), retries: 1 }), "processing", false],
    [
      alfredEvent("job_failed", { jobId, time: at(50), retries: 1, exceededRetries: false, typed: "native" }),
      "failed",
      false,
    ],
    [alfredEvent("job_retry", { jobId, time: at(60), retries: 2, spelling: "sdk" }), "processing", false],
    [alfredEvent("job_stage_update", { jobId, time: at(70), stage: "uploading" }), "processing", false],
    [alfredEvent("job_finished", { jobId, time: at(80) }), "succeeded", true],
  ];
  return steps.map(([body, status, terminal], i) => ({ body, time: at(i * 10), status, terminal }));
}

describe("a full lifecycle in 20 random orders", () => {
  const random = mulberry32(20240521);
  const orders = Array.from({ length: 20 }, (_, n) => ({ n, order: shuffle([...Array(9).keys()], random) }));

  it.each(orders)(
    "order #$n $order ends succeeded, terminal, history in time order",
    async ({ n, order }) => {
      const jobId = `lifecycle-${n}`;
      const steps = lifecycle(jobId);
      const jobKey = `alfred:job:${jobId}`;
      let latest: Step | null = null;
      for (const index of order) {
        const step = steps[index] as Step;
        const stored = await sendAlfredStored(step.body);
        expect(stored).toEqual({ ok: true, eventId: step.body.event_id, jobKey, duplicate: false });
        if (latest === null || step.time > latest.time) latest = step;
        // After every delivery the status is that of the latest event so far: never moved back.
        const job = await jobDetail(jobKey, token);
        expect(job.status, `after delivering step ${index}`).toBe(latest.status);
        expect(job.terminal, `after delivering step ${index}`).toBe(latest.terminal);
      }

      const job = await jobDetail(jobKey, token);
      expect(job).toMatchObject({
        jobKey,
        status: "succeeded",
        vendorStatus: "job_finished",
        terminal: true,
        stage: "uploading",
        retries: 2,
        failure: null,
        eventCount: 9,
        deliveryCount: 9,
        firstEventAt: new Date(T0 * 1000).toISOString(),
        lastEventAt: new Date((T0 + 80) * 1000).toISOString(),
      });
      expect(job.history.map((entry) => entry.eventId)).toEqual(steps.map((step) => step.body.event_id));
      expect(job.history.map((entry) => entry.eventType)).toEqual([
        "job_create",
        "job_start",
        "job_stage_update",
        "job_stage_update",
        "job_retry",
        "job_failed",
        "job_retry",
        "job_stage_update",
        "job_finished",
      ]);
      expect(job.history.map((entry) => entry.occurredAt)).toEqual(
        steps.map((step) => new Date(step.time * 1000).toISOString()),
      );
    },
  );

  it("the seeded orders are really shuffled (not all the same)", () => {
    const distinct = new Set(orders.map(({ order }) => order.join(",")));
    expect(distinct.size).toBeGreaterThan(15);
  });
});

describe("same-second ties: the later lifecycle step wins", () => {
  it("create, start and stage update in one second, delivered in reverse", async () => {
    const jobId = "tie-reverse";
    const time = T0 + 500;
    const create = alfredEvent("job_create", { jobId, time });
    const start = alfredEvent("job_start", { jobId, time });
    const stage = alfredEvent("job_stage_update", { jobId, time, stage: "downloading" });
    for (const body of [stage, start, create]) await sendAlfredStored(body);

    const job = await jobDetail(`alfred:job:${jobId}`, token);
    expect(job).toMatchObject({ status: "processing", vendorStatus: "downloading", stage: "downloading" });
    expect(job.terminal).toBe(false);
    expect(job.history.map((entry) => entry.eventType)).toEqual([
      "job_create",
      "job_start",
      "job_stage_update",
    ]);
  });

  it("create after start in the same second does not put the job back to pending", async () => {
    const jobId = "tie-create-late";
    const time = T0 + 600;
    await sendAlfredStored(alfredEvent("job_start", { jobId, time, typed: "native" }));
    await sendAlfredStored(alfredEvent("job_create", { jobId, time, typed: "native" }));
    const job = await jobDetail(`alfred:job:${jobId}`, token);
    expect(job.status).toBe("processing");
    expect(job.history.map((entry) => entry.eventType)).toEqual(["job_create", "job_start"]);
  });

  it("finished and a stage update in the same second: finished wins whatever the arrival", async () => {
    const jobId = "tie-finished";
    const time = T0 + 700;
    await sendAlfredStored(alfredEvent("job_finished", { jobId, time }));
    await sendAlfredStored(alfredEvent("job_stage_update", { jobId, time, stage: "uploading" }));
    await sendAlfredStored(alfredEvent("job_retry", { jobId, time, retries: 1 }));
    const job = await jobDetail(`alfred:job:${jobId}`, token);
    expect(job).toMatchObject({ status: "succeeded", terminal: true, vendorStatus: "job_finished" });
    expect(job.history.map((entry) => entry.eventType)).toEqual([
      "job_stage_update",
      "job_retry",
      "job_finished",
    ]);
  });

  it("retry and failed in the same second: failed wins", async () => {
    const jobId = "tie-failed";
    const time = T0 + 800;
    await sendAlfredStored(alfredEvent("job_failed", { jobId, time, retries: 1, exceededRetries: false }));
    await sendAlfredStored(alfredEvent("job_retry", { jobId, time, retries: 1 }));
    const job = await jobDetail(`alfred:job:${jobId}`, token);
    expect(job).toMatchObject({ status: "failed", terminal: false });
    expect(job.history.map((entry) => entry.eventType)).toEqual(["job_retry", "job_failed"]);
  });
  it.each([
    ["completed first", ["completed", "in_progress"]],
    ["completed last", ["in_progress", "completed"]],
  ])("two stage updates in one second, %s: the terminal one wins", async (label, stages) => {
    const jobId = `tie-stages-${label.replace(" ", "-")}`;
    const time = T0 + 900;
    for (const stage of stages)
      await sendAlfredStored(alfredEvent("job_stage_update", { jobId, time, stage }));
    const job = await jobDetail(`alfred:job:${jobId}`, token);
    expect(job).toMatchObject({
      status: "succeeded",
      terminal: true,
      vendorStatus: "completed",
      stage: "completed",
    });
    expect(job.history.map((entry) => entry.vendorStatus)).toEqual(["in_progress", "completed"]);
  });

  it.each([
    ["a retry", "job_retry"],
    ["a failed without exceeded retries", "job_failed"],
  ] as const)(
    "a stage update to completed and %s in one second: terminal beats non-terminal",
    async (_, later) => {
      const jobId = `tie-terminal-${later}`;
      const time = T0 + 950;
      await sendAlfredStored(alfredEvent("job_stage_update", { jobId, time, stage: "completed" }));
      await sendAlfredStored(alfredEvent(later, { jobId, time, retries: 1, exceededRetries: false }));
      const job = await jobDetail(`alfred:job:${jobId}`, token);
      expect(job).toMatchObject({ status: "succeeded", terminal: true, vendorStatus: "completed" });
      // One order for history and status (docs/DESIGN.md, "Ordering"): the terminal event is last in
      // history too, so the last entry with a status is the one that set it.
      expect(job.history.map((entry) => entry.eventType)).toEqual([later, "job_stage_update"]);
    },
  );

  it("failed with and without exceeded retries in one second: the terminal one wins", async () => {
    const jobId = "tie-failed-exceeded";
    const time = T0 + 1000;
    await sendAlfredStored(alfredEvent("job_failed", { jobId, time, retries: 3, exceededRetries: true }));
    await sendAlfredStored(alfredEvent("job_failed", { jobId, time, retries: 2, exceededRetries: false }));
    const job = await jobDetail(`alfred:job:${jobId}`, token);
    expect(job).toMatchObject({ status: "failed", terminal: true, retries: 3 });
  });
});

describe("terminal and non-terminal failures", () => {
  it("failed with exceeded_retries true is terminal; a late, older stage update does not reopen it", async () => {
    const jobId = "failed-exceeded";
    const jobKey = `alfred:job:${jobId}`;
    await sendAlfredStored(alfredEvent("job_create", { jobId, time: T0 }));
    await sendAlfredStored(alfredEvent("job_stage_update", { jobId, time: T0 + 10, stage: "in_progress" }));
    const failed = alfredEvent("job_failed", {
      jobId,
      time: T0 + 30,
      retries: 3,
      exceededRetries: true,
      errorMessages: ["Gave up after 3 retries"],
    });
    await sendAlfredStored(failed);

    let job = await jobDetail(jobKey, token);
    expect(job).toMatchObject({ status: "failed", terminal: true, retries: 3 });
    expect(job.failure?.messages).toEqual(["Gave up after 3 retries"]);

    // An older stage update arrives late: it goes into history in its place, the status stays.
    const late = alfredEvent("job_stage_update", { jobId, time: T0 + 20, stage: "uploading" });
    await sendAlfredStored(late);
    job = await jobDetail(jobKey, token);
    expect(job).toMatchObject({
      status: "failed",
      terminal: true,
      vendorStatus: "job_failed",
      eventCount: 4,
    });
    expect(job.failure?.messages).toEqual(["Gave up after 3 retries"]);
    expect(job.history.map((entry) => entry.eventType)).toEqual([
      "job_create",
      "job_stage_update",
      "job_stage_update",
      "job_failed",
    ]);
    expect(job.history[2]?.eventId).toBe(late.event_id);
    expect(job.history[3]?.eventId).toBe(failed.event_id);
  });

  it("job_exceeded_retries is terminal; a late, older retry does not reopen it", async () => {
    const jobId = "exceeded-event";
    await sendAlfredStored(alfredEvent("job_exceeded_retries", { jobId, time: T0 + 100, retries: 5 }));
    await sendAlfredStored(alfredEvent("job_retry", { jobId, time: T0 + 90, retries: 4 }));
    const job = await jobDetail(`alfred:job:${jobId}`, token);
    expect(job).toMatchObject({
      status: "failed",
      terminal: true,
      vendorStatus: "job_exceeded_retries",
      retries: 5,
    });
  });

  it("job_invalid is terminal; a late, older start does not reopen it", async () => {
    const jobId = "invalid-event";
    await sendAlfredStored(alfredEvent("job_invalid", { jobId, time: T0 + 100, typed: "native" }));
    await sendAlfredStored(alfredEvent("job_start", { jobId, time: T0 + 50, typed: "native" }));
    const job = await jobDetail(`alfred:job:${jobId}`, token);
    expect(job).toMatchObject({ status: "failed", terminal: true, vendorStatus: "job_invalid" });
    expect(job.history.map((entry) => entry.eventType)).toEqual(["job_start", "job_invalid"]);
  });

  it('failed with exceeded_retries "false" is not terminal, and a later retry moves it to processing', async () => {
    const jobId = "failed-not-exceeded";
    const jobKey = `alfred:job:${jobId}`;
    await sendAlfredStored(alfredEvent("job_start", { jobId, time: T0 }));
    const failed = alfredEvent("job_failed", { jobId, time: T0 + 10, retries: 1 });
    expect(failed.event.exceeded_retries).toBe("false");
    await sendAlfredStored(failed);

    let job = await jobDetail(jobKey, token);
    expect(job).toMatchObject({ status: "failed", terminal: false, retries: 1 });
    expect(job.failure?.messages).toEqual(["Network connectivity issues", "Database timeout error"]);

    await sendAlfredStored(alfredEvent("job_retry", { jobId, time: T0 + 20, retries: 2 }));
    job = await jobDetail(jobKey, token);
    expect(job).toMatchObject({ status: "processing", terminal: false, retries: 2, failure: null });
    expect(job.history.map((entry) => entry.eventType)).toEqual(["job_start", "job_failed", "job_retry"]);
  });

  it("a stage update to completed is terminal: a late, older failed does not replace it", async () => {
    const jobId = "stage-completed";
    await sendAlfredStored(alfredEvent("job_stage_update", { jobId, time: T0 + 100, stage: "completed" }));
    await sendAlfredStored(alfredEvent("job_failed", { jobId, time: T0 + 50, retries: 1 }));
    const job = await jobDetail(`alfred:job:${jobId}`, token);
    expect(job).toMatchObject({
      status: "succeeded",
      terminal: true,
      vendorStatus: "completed",
      failure: null,
    });
  });

  it("the latest stage and retries are those of the latest events, not the latest deliveries", async () => {
    const jobId = "latest-facts";
    await sendAlfredStored(alfredEvent("job_stage_update", { jobId, time: T0 + 30, stage: "uploading" }));
    await sendAlfredStored(alfredEvent("job_retry", { jobId, time: T0 + 40, retries: 2 }));
    await sendAlfredStored(alfredEvent("job_stage_update", { jobId, time: T0 + 10, stage: "downloading" }));
    await sendAlfredStored(alfredEvent("job_retry", { jobId, time: T0 + 20, retries: 1 }));
    const job = await jobDetail(`alfred:job:${jobId}`, token);
    expect(job).toMatchObject({ stage: "uploading", retries: 2, status: "processing" });
  });
});
