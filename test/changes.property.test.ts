/**
 * The change feed is complete (CONTRACT §6), as a fast-check property inside workerd: whatever the
 * arrival order of 200 deliveries on 50 jobs — repeats, same-second ties and late old events
 * included — a feed walk with `limit=3` that runs while they arrive ends with every job at its
 * final `version`, none skipped, and never shows a job twice in one page. Fixed seed, bounded runs.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { apiGet, createToken, sendExtend, WAIT_LIMIT_MS } from "./helpers";

const JOBS = 50;
const DELIVERIES = 200;
/** Deliveries in flight at once: a burst, as a vendor's retries make. */
const CONCURRENCY = 8;

interface Delivery {
  job: number;
  /** The vendor event this is a delivery of (a repeat shares it). */
  event: number;
  type: "extract_run.processed" | "extract_run.failed";
  /** Seconds past a base time: few values, so same-second ties are common. */
  second: number;
}

/** 200 deliveries on 50 jobs: each job gets its events, some delivered again; then any order. */
const deliveriesArbitrary = fc
  .array(
    fc.record({
      job: fc.integer({ min: 0, max: JOBS - 1 }),
      event: fc.integer({ min: 0, max: 3 }),
      type: fc.constantFrom("extract_run.processed" as const, "extract_run.failed" as const),
      second: fc.integer({ min: 0, max: 4 }),
    }),
    { minLength: DELIVERIES - JOBS, maxLength: DELIVERIES - JOBS },
  )
  .chain((extra) => {
    // Every job gets at least one delivery; an (job, event) pair always has one type and time, so
    // its repeats are true repeats of one vendor event.
    const all: Delivery[] = [
      ...Array.from({ length: JOBS }, (_, job) => ({
        job,
        event: 0,
        type: "extract_run.processed" as const,
        second: 2,
      })),
      ...extra,
    ];
    const first = new Map<string, Delivery>();
    const consistent = all.map((delivery) => {
      const key = `${delivery.job}:${delivery.event}`;
      const kept = first.get(key) ?? delivery;
      first.set(key, kept);
      return { ...delivery, type: kept.type, second: kept.second };
    });
    return fc.shuffledSubarray(consistent, { minLength: consistent.length, maxLength: consistent.length });
  });

interface ChangesPage {
  data: { jobKey: string; version: number }[];
  nextCursor: string;
}

let run = 0;

describe("change feed completeness", () => {
  it("a walk with limit 3 during 200 shuffled deliveries on 50 jobs ends with every job at its final version", {
    timeout: 120_000,
  }, async () => {
    const token = await createToken();
    await fc.assert(
      fc.asyncProperty(deliveriesArbitrary, async (deliveries) => {
        run++;
        const prefix = `exr_prop_${run}_`;
        const jobKey = (job: number) => `extend:extract_run:${prefix}${job}`;
        const base = Date.UTC(2026, 6, 1, 12, 0, 0);
        const start = (await (await apiGet("/v1/changes?after=latest", token)).json()) as ChangesPage;

        // The final version of a job is its number of accepted deliveries.
        const expected = new Map<string, number>();
        for (const delivery of deliveries) {
          expected.set(jobKey(delivery.job), (expected.get(jobKey(delivery.job)) ?? 0) + 1);
        }

        let sending = true;
        const seen = new Map<string, number>();
        const walk = (async () => {
          let cursor = start.nextCursor;
          const deadline = Date.now() + WAIT_LIMIT_MS * 3;
          for (;;) {
            const response = await apiGet(`/v1/changes?after=${cursor}&limit=3`, token);
            expect(response.status).toBe(200);
            const page = (await response.json()) as ChangesPage;
            const keys = page.data.map((job) => job.jobKey);
            expect(new Set(keys).size, "a job twice in one page").toBe(keys.length);
            for (const job of page.data) {
              if (!job.jobKey.includes(prefix)) continue;
              const before = seen.get(job.jobKey) ?? 0;
              seen.set(job.jobKey, Math.max(before, job.version));
            }
            cursor = page.nextCursor;
            const done = [...expected].every(([key, version]) => seen.get(key) === version);
            if (!sending && done) return;
            if (Date.now() > deadline) return;
            if (page.data.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
          }
        })();

        const queue = [...deliveries];
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            for (let delivery = queue.shift(); delivery !== undefined; delivery = queue.shift()) {
              const body = {
                eventId: `evt_${prefix}${delivery.job}_${delivery.event}`,
                eventType: delivery.type,
                payload: {
                  object: "extract_run",
                  id: `${prefix}${delivery.job}`,
                  updatedAt: new Date(base + delivery.second * 1000).toISOString(),
                },
              };
              const response = await sendExtend(body);
              expect(response.status, await response.text()).toBe(200);
            }
          }),
        );
        sending = false;
        await walk;
        const missing = [...expected].filter(([key, version]) => seen.get(key) !== version);
        expect(missing, "jobs the walk did not see at their final version").toEqual([]);
      }),
      { seed: 20261127, numRuns: 3 },
    );
  });
});
