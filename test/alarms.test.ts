/**
 * The ledger's safety alarm under faults (issue "Never lose"): an object restarted between its
 * write and arming its check arms it on start; a delivery during a check is not lost to it; failed
 * checks back off (1 s, 2 s, 4 s …) and the backoff starts over once a check succeeds. Alarms are
 * run with `runDurableObjectAlarm`; faults go through the ledger's own seams (`projector`,
 * `projectionQueue`) and createApp's `projectionQueue`.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { JobLedger, RETRY_FIRST_MS } from "../src/ledger/job-ledger";
import { eventually } from "./helpers";
import { d1Row, deliver, fakeQueue, ledger, run } from "./projection-seams";

/** A Worker whose own sends to the projection queue are lost: only the ledger's alarm reaches D1. */
function appLosingSends() {
  const fake = fakeQueue();
  fake.fail(true);
  return createApp({ projectionQueue: () => fake.queue });
}

const alarmOf = (stub: DurableObjectStub<JobLedger>) =>
  runInDurableObject(stub, (_, state) => state.storage.getAlarm());

describe("an object restarted between its write and arming its check", () => {
  it("arms the check when it starts again, and the check brings D1 up to date", async () => {
    const jobKey = "extend:extract_run:exr_restart";
    await deliver(appLosingSends(), run("exr_restart", "extract_run.processed", 1));
    const stub = ledger(jobKey);
    // The crash: the event is stored, but no alarm survived to check D1.
    await runInDurableObject(stub, (_, state) => state.storage.deleteAlarm());
    expect(await alarmOf(stub)).toBeNull();

    // The object starts again on the same storage.
    await runInDurableObject(stub, (_, state) => {
      new JobLedger(state, env);
    });
    await eventually(async () => expect(await alarmOf(stub)).not.toBeNull());
    expect(await d1Row(jobKey)).toBeNull();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await eventually(async () =>
      expect(await d1Row(jobKey)).toMatchObject({ version: 1, status: "succeeded" }),
    );
  });

  it("a job D1 already holds arms nothing on start", async () => {
    const jobKey = "extend:extract_run:exr_restart_clean";
    await deliver(appLosingSends(), run("exr_restart_clean", "extract_run.processed", 1));
    const stub = ledger(jobKey);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await eventually(async () => expect(await d1Row(jobKey)).toMatchObject({ version: 1 }));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.projectionState()).toMatchObject({ version: 1, projectedVersion: 1 });
    expect(await alarmOf(stub)).toBeNull();
    await runInDurableObject(stub, (_, state) => {
      new JobLedger(state, env);
    });
    expect(await alarmOf(stub)).toBeNull();
  });
});

describe("a delivery during a check", () => {
  it("is checked in turn: D1 ends at the latest version", async () => {
    const jobKey = "extend:extract_run:exr_during_flush";
    const app = appLosingSends();
    await deliver(app, run("exr_during_flush", "extract_run.failed", 1));
    const stub = ledger(jobKey);
    // The check's D1 read waits until the test lets it go. It polls a flag rather than awaiting a
    // promise the test resolves: a promise settled from the test's context is I/O on behalf of
    // another object, which workerd refuses.
    let entered = false;
    let released = false;
    await runInDurableObject(stub, (instance) => {
      instance.projector = {
        versionOf: async () => {
          entered = true;
          while (!released) await new Promise((resolve) => setTimeout(resolve, 5));
          return null;
        },
      };
    });
    const check = runDurableObjectAlarm(stub);
    await eventually(() => expect(entered).toBe(true));
    // While the check waits on D1, a newer event is stored.
    await deliver(app, run("exr_during_flush", "extract_run.processed", 2));
    released = true;
    expect(await check).toBe(true);
    expect(await stub.projectionState()).toMatchObject({ version: 2 });
    expect(await alarmOf(stub)).not.toBeNull();

    await runInDurableObject(stub, (instance) => {
      instance.projector = { versionOf: async (key) => (await d1Row(key))?.version ?? null };
    });
    await eventually(async () => {
      expect(await runDurableObjectAlarm(stub)).toBe(true);
      expect(await d1Row(jobKey)).toMatchObject({ version: 2, status: "succeeded" });
    });
    await eventually(async () => {
      await runDurableObjectAlarm(stub);
      expect(await stub.projectionState()).toMatchObject({ version: 2, projectedVersion: 2 });
    });
    expect(await alarmOf(stub)).toBeNull();
  });
});

describe("backoff", () => {
  /** Runs the alarm and returns how far ahead the next one was set, within the run's bounds. */
  async function nextDelay(stub: DurableObjectStub<JobLedger>): Promise<[number, number]> {
    const before = Date.now();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const after = Date.now();
    const at = await alarmOf(stub);
    if (at === null) throw new Error("no alarm was set");
    return [at - after, at - before];
  }

  it("doubles while checks fail, and starts over once one succeeds", async () => {
    const jobKey = "extend:extract_run:exr_backoff";
    const app = appLosingSends();
    await deliver(app, run("exr_backoff", "extract_run.processed", 1));
    const stub = ledger(jobKey);
    const down = fakeQueue();
    down.fail(true);
    await runInDurableObject(stub, (instance) => {
      instance.projectionQueue = down.queue;
    });
    for (const delay of [RETRY_FIRST_MS, 2 * RETRY_FIRST_MS, 4 * RETRY_FIRST_MS]) {
      const [least, most] = await nextDelay(stub);
      expect(delay).toBeGreaterThanOrEqual(least);
      expect(delay).toBeLessThanOrEqual(most);
    }

    // The queue is back: the check succeeds and the backoff is forgotten.
    await runInDurableObject(stub, (instance) => {
      instance.projectionQueue = env.PROJECTION;
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await eventually(async () => expect(await d1Row(jobKey)).toMatchObject({ version: 1 }));

    // The next failure waits the first delay again, not the fifth.
    await runInDurableObject(stub, (instance) => {
      instance.projectionQueue = down.queue;
    });
    await deliver(app, run("exr_backoff", "extract_run.processed", 2));
    const [least, most] = await nextDelay(stub);
    expect(RETRY_FIRST_MS).toBeGreaterThanOrEqual(least);
    expect(RETRY_FIRST_MS).toBeLessThanOrEqual(most);
  });
});
