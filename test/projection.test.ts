/**
 * The projection path (docs/DESIGN.md, "Consistency and failure"): ledgers answer with their summary, the
 * Worker gathers summaries and sends them to the PROJECTION queue, the consumer writes each batch to
 * D1 under a version guard, and each ledger's safety alarm re-sends what D1 lacks. Faults go through
 * our own seams: createApp's `projectionQueue`, the ledger's `projectionQueue` and `projector`, and
 * the env the consumer is given.
 */
import {
  createExecutionContext,
  env,
  runDurableObjectAlarm,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { createApp } from "../src/app";
import type { ProjectionMessage } from "../src/core/summary";
import { RESENDS_OF_A_VERSION } from "../src/ledger/safety";
import { DEAD_LETTER_MAX_RETRIES, DEAD_LETTER_QUEUE } from "../src/projection/queue";
import wranglerConfig from "../wrangler.jsonc?raw";
import { eventually, extendEvent, signedExtendRequest } from "./helpers";
import { consume, d1Down, d1LosesAnswers, d1Row, deliver, fakeQueue, ledger, run } from "./projection-seams";

describe("the consumer", () => {
  it("knows the dead-letter queue and its retries as wrangler.jsonc configures them", () => {
    const config = JSON.parse(wranglerConfig.replace(/^\s*\/\/.*$/gm, "")) as {
      queues: { consumers: { queue: string; max_retries: number; dead_letter_queue?: string }[] };
    };
    const dlq = config.queues.consumers.find((consumer) => consumer.queue === DEAD_LETTER_QUEUE);
    expect(dlq?.max_retries).toBe(DEAD_LETTER_MAX_RETRIES);
    expect(config.queues.consumers.some((consumer) => consumer.dead_letter_queue === DEAD_LETTER_QUEUE)).toBe(
      true,
    );
  });

  it("writes the highest version per job in a batch; a replayed or reordered batch changes nothing", async () => {
    const fake = fakeQueue();
    const app = createApp({ projectionQueue: () => fake.queue });
    await deliver(app, run("exr_coalesce", "extract_run.processed", 1, "evt_c1"));
    await deliver(app, run("exr_coalesce", "extract_run.processed", 1, "evt_c1"));
    await deliver(app, run("exr_coalesce", "extract_run.failed", 0, "evt_c0"));
    expect(fake.sent.map((message) => message.version)).toEqual([1, 2, 3]);
    const [v1, v2, v3] = fake.sent as [ProjectionMessage, ProjectionMessage, ProjectionMessage];

    const first = await consume([v2, v3, v1]);
    expect(first.ackAll).toBe(true);
    const jobKey = "extend:extract_run:exr_coalesce";
    expect(await d1Row(jobKey)).toEqual({
      version: 3,
      event_count: 2,
      delivery_count: 3,
      status: "succeeded",
    });

    // Older versions, again and alone: the row keeps version 3.
    expect((await consume([v1, v2])).ackAll).toBe(true);
    expect((await consume([v1])).ackAll).toBe(true);
    expect(await d1Row(jobKey)).toEqual({
      version: 3,
      event_count: 2,
      delivery_count: 3,
      status: "succeeded",
    });
    // And D1 holds exactly what the ledger says.
    const listed = await env.DB.prepare("SELECT version FROM jobs WHERE job_key = ?").bind(jobKey).first();
    expect(listed).toEqual({ version: (await ledger(jobKey).projectionState()).version });
  });

  it("a batch whose D1 write fails is retried; once D1 answers it is applied once", async () => {
    const fake = fakeQueue();
    const app = createApp({ projectionQueue: () => fake.queue });
    await deliver(app, run("exr_consumer_down", "extract_run.processed", 5, "evt_cd"));
    await deliver(app, run("exr_consumer_down", "extract_run.processed", 5, "evt_cd"));
    const jobKey = "extend:extract_run:exr_consumer_down";

    const refused = await consume(fake.sent, d1Down);
    expect(refused.ackAll).toBe(false);
    expect(refused.retryBatch.retry).toBe(true);
    expect(await d1Row(jobKey)).toBeNull();

    // D1 commits but the answer is lost: retried, and the retry changes nothing.
    const lost = await consume(fake.sent, d1LosesAnswers, 5);
    expect(lost.retryBatch.retry).toBe(true);
    expect(await d1Row(jobKey)).toEqual({
      version: 2,
      event_count: 1,
      delivery_count: 2,
      status: "succeeded",
    });
    const retried = await consume(fake.sent, env.DB, 6);
    expect(retried.ackAll).toBe(true);
    expect(await d1Row(jobKey)).toEqual({
      version: 2,
      event_count: 1,
      delivery_count: 2,
      status: "succeeded",
    });
  });

  it("one summary D1 refuses does not hold the others back: they land and are acked, it alone is retried", async () => {
    const fake = fakeQueue();
    const app = createApp({ projectionQueue: () => fake.queue });
    await deliver(app, run("exr_poison_good", "extract_run.processed", 1));
    await deliver(app, run("exr_poison_bad", "extract_run.processed", 1));
    const [good, bad] = fake.sent as [ProjectionMessage, ProjectionMessage];
    // A summary D1's constraints refuse (status is NOT NULL), as a parser bug once produced.
    const poisoned = { ...bad, summary: { ...bad.summary, status: null } } as unknown as ProjectionMessage;
    const result = await consume([good, poisoned]);
    expect(result.ackAll).toBe(false);
    expect(result.retryBatch.retry).toBe(false);
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toHaveLength(1);
    expect(await d1Row("extend:extract_run:exr_poison_good")).toMatchObject({
      version: 1,
      status: "succeeded",
    });
    expect(await d1Row("extend:extract_run:exr_poison_bad")).toBeNull();
  });

  for (const size of [2, 100]) {
    it(`a bundle of ${size} summaries with one refused: the others land, it alone is sent on as its own message, the bundle is acked`, async () => {
      const fake = fakeQueue();
      const app = createApp({ projectionQueue: () => fake.queue });
      const ids = Array.from({ length: size }, (_, n) => `exr_bundle${size}_${n}`);
      for (const id of ids) await deliver(app, run(id, "extract_run.processed", 1));
      const summaries = fake.sent.filter((message) => message.jobKey.includes(`exr_bundle${size}_`));
      expect(summaries).toHaveLength(size);
      const [bad, ...good] = summaries as [ProjectionMessage, ...ProjectionMessage[]];
      const poisoned = { ...bad, summary: { ...bad.summary, status: null } } as unknown as ProjectionMessage;
      const resent = fakeQueue();
      const result = await consume([{ summaries: [...good, poisoned] }], env.DB, 1, {
        PROJECTION: resent.queue,
      });
      expect(result.explicitAcks).toHaveLength(1);
      expect(result.retryMessages).toHaveLength(0);
      expect(resent.calls).toEqual([1]);
      expect(resent.sent.map((message) => message.jobKey)).toEqual([bad.jobKey]);
      for (const message of good) expect(await d1Row(message.jobKey)).toMatchObject({ version: 1 });
      expect(await d1Row(bad.jobKey)).toBeNull();

      // On its own it fails as a whole: retried, then dead-lettered by the queue; on its last attempt
      // there it is reported once and acked, not retried for ever.
      const alone = await consume(resent.sent.slice(0, 1), env.DB, 2);
      expect(alone.retryBatch.retry).toBe(true);
      expect(alone.explicitAcks).toHaveLength(0);
      const logs: string[] = [];
      const spy = vi
        .spyOn(console, "log")
        .mockImplementation((line: unknown) => void logs.push(String(line)));
      const last = await consume(resent.sent.slice(0, 1), env.DB, 11, { queue: "runledger-projection-dlq" });
      spy.mockRestore();
      expect(last.explicitAcks).toHaveLength(1);
      expect(last.retryMessages).toHaveLength(0);
      expect(logs.filter((line) => line.includes('"projection summary abandoned"'))).toHaveLength(1);
    });
  }

  it("packs many jobs into one transaction, beyond D1's 100 bound parameters and 100 KB per statement", async () => {
    const fake = fakeQueue();
    const app = createApp({ projectionQueue: () => fake.queue });
    const big = "m".repeat(2000);
    for (let n = 0; n < 60; n++) {
      await deliver(
        app,
        extendEvent("extract_run.failed", {
          id: `exr_pack_${n}`,
          failureReason: "ERROR",
          failureMessage: big,
          updatedAt: "2026-05-01T11:00:00Z",
        }),
      );
    }
    expect(fake.sent).toHaveLength(60);
    expect((await consume(fake.sent)).ackAll).toBe(true);
    const count = await env.DB.prepare(
      "SELECT count(*) AS n FROM jobs WHERE job_key LIKE 'extend:extract_run:exr_pack_%'",
    ).first<{ n: number }>();
    expect(count?.n).toBe(60);
  });
});

describe("the Worker's sends", () => {
  it("a hot job's burst sends far fewer messages than events: a send in flight coalesces the rest", async () => {
    const fake = fakeQueue();
    const app = createApp({ projectionQueue: () => fake.queue });
    const release = fake.hold();
    const events = Array.from({ length: 40 }, (_, n) => run("exr_hot", "extract_run.processed", n % 60));
    const ctxs = events.map(() => createExecutionContext());
    const responses = await Promise.all(
      events.map(async (event, n) =>
        app.fetch(await signedExtendRequest(event), env, ctxs[n] as ExecutionContext),
      ),
    );
    expect(responses.every((response) => response.status === 200)).toBe(true);
    // Every delivery is answered while the first send is still held.
    release();
    await Promise.all(ctxs.map((ctx) => waitOnExecutionContext(ctx)));
    expect(fake.sent.length).toBeLessThanOrEqual(2);
    expect(fake.calls.length).toBeLessThanOrEqual(2);
    expect(Math.max(...fake.sent.map((message) => message.version))).toBe(40);
  });

  it("through the real queue, the list shows every job at its final version", async () => {
    const app = createApp();
    const keys: string[] = [];
    await Promise.all(
      Array.from({ length: 12 }, async (_, n) => {
        const id = `exr_real_${n}`;
        keys.push(`extend:extract_run:${id}`);
        for (const minute of [1, 2]) await deliver(app, run(id, "extract_run.processed", minute));
      }),
    );
    await eventually(async () => {
      for (const key of keys) expect((await d1Row(key))?.version).toBe(2);
    });
  });
});

describe("the ledger's safety alarm", () => {
  it("re-sends what D1 lacks after a failed send, retrying by alarm until D1 has it", async () => {
    const fake = fakeQueue();
    fake.fail(true);
    const app = createApp({ projectionQueue: () => fake.queue });
    const jobKey = "extend:extract_run:exr_send_fails";
    // The ledger's own send fails too (set before its first delivery: the failed send asks it to
    // check within a second).
    const stub = ledger(jobKey);
    await runInDurableObject(stub, (instance) => {
      instance.projectionQueue = fake.queue;
    });
    await deliver(app, run("exr_send_fails", "extract_run.failed", 1));
    await deliver(app, run("exr_send_fails", "extract_run.processed", 2));
    expect(fake.sent).toEqual([]);
    expect(await d1Row(jobKey)).toBeNull();

    // It keeps an alarm, with backoff.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.projectionState()).toMatchObject({ version: 2, projectedVersion: 0 });
    const retryAt = await runInDurableObject(stub, (_, state) => state.storage.getAlarm());
    expect(retryAt).not.toBeNull();

    // The queue is back: the next alarm sends, D1 gets version 2, and the check after confirms it.
    await runInDurableObject(stub, (instance) => {
      instance.projectionQueue = env.PROJECTION;
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await eventually(async () =>
      expect(await d1Row(jobKey)).toMatchObject({ version: 2, status: "succeeded" }),
    );
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.projectionState()).toMatchObject({ version: 2, projectedVersion: 2 });
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBeNull();
  });

  it("a summary the Worker could not send reaches D1 with no later request: its ledger checks within a second, not 30 s", async () => {
    const fake = fakeQueue();
    fake.fail(true);
    const app = createApp({ projectionQueue: () => fake.queue });
    const jobKey = "extend:extract_run:exr_unsent";
    await deliver(app, run("exr_unsent", "extract_run.processed", 1));
    expect(fake.sent).toEqual([]);
    // No further request: the ledger's own check re-sends it through the real queue. Its usual
    // check comes 30 s after the change, past this wait's limit.
    await eventually(async () => expect(await d1Row(jobKey)).toMatchObject({ version: 1 }));
  });

  it("a version D1 keeps refusing is re-sent a few times, then given up and reported, not re-sent for ever", async () => {
    const app = createApp({ projectionQueue: () => fakeQueue().queue });
    const jobKey = "extend:extract_run:exr_refused";
    const stub = ledger(jobKey);
    const resent = fakeQueue();
    await runInDurableObject(stub, (instance) => {
      instance.projectionQueue = resent.queue;
      // D1 answers, and never holds it.
      instance.projector = { versionOf: async () => null };
    });
    await deliver(app, run("exr_refused", "extract_run.processed", 1));
    for (let n = 0; n < RESENDS_OF_A_VERSION; n++) expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(resent.sent).toHaveLength(RESENDS_OF_A_VERSION);
    // The check after: given up, reported, and no alarm armed for it.
    const logs: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => void logs.push(String(line)));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    spy.mockRestore();
    expect(logs.filter((line) => line.includes("projection abandoned"))).toHaveLength(1);
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBeNull();
    expect(await runDurableObjectAlarm(stub)).toBe(false);
    expect(resent.sent).toHaveLength(RESENDS_OF_A_VERSION);
    // The next delivery is a new version: it is sent again.
    await deliver(app, run("exr_refused", "extract_run.failed", 2));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(resent.sent).toHaveLength(RESENDS_OF_A_VERSION + 1);
  });

  it("D1 down for N events, then every one of them in D1 after recovery", async () => {
    const fake = fakeQueue();
    const app = createApp({ projectionQueue: () => fake.queue });
    const jobs = Array.from({ length: 10 }, (_, n) => `exr_outage_${n}`);
    // 30 deliveries on 10 jobs while D1 is down: each batch fails and is retried until dead-lettered.
    for (const [n, id] of jobs.entries()) {
      for (const minute of [1, 2, 3])
        await deliver(app, run(id, n % 2 ? "extract_run.failed" : "extract_run.processed", minute));
    }
    expect((await consume(fake.sent, d1Down)).retryBatch.retry).toBe(true);
    const keys = jobs.map((id) => `extend:extract_run:${id}`);
    for (const key of keys) expect(await d1Row(key)).toBeNull();

    // Half the jobs: D1 is back and the batch's retry lands. The other half: their batch was lost
    // (dead-lettered and dropped); their ledgers' safety checks fail while D1 is down, then re-send.
    const half = new Set(keys.slice(0, 5));
    expect(
      (
        await consume(
          fake.sent.filter((message) => half.has(message.jobKey)),
          env.DB,
          2,
        )
      ).ackAll,
    ).toBe(true);
    for (const key of keys.slice(5)) {
      const stub = ledger(key);
      await runInDurableObject(stub, (instance) => {
        instance.projector = { versionOf: () => Promise.reject(new Error("D1_ERROR: database unavailable")) };
      });
      expect(await runDurableObjectAlarm(stub)).toBe(true);
      expect((await stub.projectionState()).projectedVersion).toBe(0);
      await runInDurableObject(stub, (instance) => {
        instance.projector = { versionOf: async (jobKey) => (await d1Row(jobKey))?.version ?? null };
      });
      expect(await runDurableObjectAlarm(stub)).toBe(true);
    }
    await eventually(async () => {
      for (const [n, key] of keys.entries()) {
        expect(await d1Row(key)).toEqual({
          version: 3,
          event_count: 3,
          delivery_count: 3,
          status: n % 2 ? "failed" : "succeeded",
        });
      }
    });
  });
});
