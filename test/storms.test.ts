/** Concurrency storms on one job: dedup under races, and the ordering rule under concurrent writes. */
import { describe, expect, it } from "vitest";
import { createToken, extendEvent, jobDetail, type StoredBody, sendAlfred, sendExtend } from "./helpers";

/** Hundreds of deliveries per test: a budget of its own, for a loaded 2-core machine. */
const STORM_BUDGET_MS = 90_000;

describe("storms", { timeout: STORM_BUDGET_MS }, () => {
  it("300 concurrent deliveries of one event: stored once, exactly one duplicate:false, 300 deliveries", async () => {
    const event = extendEvent(
      "classify_run.processed",
      { id: "clr_storm", status: "PROCESSED" },
      "evt_storm",
    );
    const answers = await Promise.all(
      Array.from({ length: 300 }, async () => {
        const response = await sendExtend(event);
        expect(response.status).toBe(200);
        return (await response.json()) as StoredBody;
      }),
    );
    expect(answers.filter((answer) => !answer.duplicate)).toHaveLength(1);
    const job = await jobDetail("extend:classify_run:clr_storm", await createToken());
    expect(job).toMatchObject({ eventCount: 1, deliveryCount: 300 });
    expect(job.history).toHaveLength(1);
    expect(job.history[0]?.deliveries).toBe(300);
  });

  it("100 distinct events on one job at once: 100 entries in occurredAt order, status of the latest", async () => {
    const base = 1_700_000_000;
    // Stage updates 0..98 with distinct times, delivered all at once, plus `finished` at the very end.
    const events = Array.from({ length: 99 }, (_, n) => ({
      event_id: `storm-stage-${n}`,
      event_type: "job_event_type",
      event_time: String(base + n),
      event: { event_name: "job_stage_update_event", job_id: "storm-job", stage: `step_${n}` },
    }));
    events.push({
      event_id: "storm-finished",
      event_type: "job_event_type",
      event_time: String(base + 500),
      event: { event_name: "job_finished_event", job_id: "storm-job", stage: "completed" },
    });
    const statuses = await Promise.all(events.reverse().map(async (body) => (await sendAlfred(body)).status));
    expect(statuses.every((status) => status === 200)).toBe(true);

    const job = await jobDetail("alfred:job:storm-job", await createToken());
    expect(job).toMatchObject({ status: "succeeded", terminal: true, eventCount: 100, deliveryCount: 100 });
    const times = job.history.map((entry) => Date.parse(entry.occurredAt));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(job.history.at(-1)?.eventId).toBe("storm-finished");
  });
});
