/**
 * Properties against an oracle (issue "Never lose, never double-apply"): fast-check generates job
 * lifecycles for both vendors — random event sets, same-second ties, terminal and non-terminal
 * failures, repeats with other bytes, late old events — and delivery orders with duplicates. Each
 * lifecycle goes through the Worker as the vendor would send it; the job's detail (from its ledger)
 * and its D1 row (through the real queue) must equal what the model of CONTRACT §4 in `./model`
 * says. Fixed seeds and bounded runs here; `npm run fuzz` runs longer with fresh seeds.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import fc from "fast-check";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { createApp } from "../src/app";
import { alfredEvent, type Spelling, type Typed } from "./fixtures/alfred/events";
import {
  ALFRED_TOKEN,
  alfredRequest,
  createToken,
  eventually,
  extendEvent,
  type JobDetailBody,
  jobDetail,
  signedExtendRequest,
} from "./helpers";
import {
  type AlfredJobEvent,
  alfredMeaning,
  EXTEND_RUN_EVENTS,
  type ExtendRunEvent,
  type ModelEvent,
  type ModelJob,
  modelJob,
} from "./model";

/**
 * `npm test`: a fixed seed and a few dozen lifecycles per vendor. `npm run fuzz` provides `fuzz`
 * (minutes and a seed): then each property runs rounds of lifecycles from that seed until its half
 * of the time is up, printing `oracle: … cases=N` after each round.
 */
const long = inject("fuzz");
const SEED = long?.seed ?? 20261127;
const BUDGET_MS = long === null ? 90_000 : long.minutes * 60_000 + 600_000;
const ROUND = 25;

/** Runs a property: `quick` runs from `seed` in `npm test`; rounds until the deadline under `npm run fuzz`. */
async function check<T>(name: string, property: fc.IAsyncProperty<[T]>, seed: number, quick: number) {
  if (long === null) {
    await fc.assert(property, { seed, numRuns: quick });
    return;
  }
  const deadline = Date.now() + (long.minutes * 60_000) / 2;
  let cases = 0;
  for (let round = 0; Date.now() < deadline; round++) {
    await fc.assert(property, { seed: seed + round, numRuns: ROUND });
    cases += ROUND;
    console.log(`oracle: ${name} seed ${seed} round ${round + 1} cases=${cases}`);
  }
}

let token: string;
beforeAll(async () => {
  token = await createToken();
});

/** Jobs checked so far, for the D1 check at the end of each property. */
interface Checked {
  jobKey: string;
  expected: ModelJob;
}

/** One delivery: what the model sees of it besides its receipt, and the request the vendor sends. */
interface Delivery {
  meaning: Omit<ModelEvent, "receivedAt">;
  request: () => Promise<Request>;
}

/**
 * The receipt clock the Worker runs on here (CONTRACT §4 "Clocks" orders by the first receipt):
 * real time, but each delivery at least 1 ms after the one before, so the model knows each
 * receipt exactly and no two first receipts tie.
 */
let lastReceipt = 0;
let receipt = 0;
const app = createApp({ now: () => receipt });

/** Delivers a request to the Worker's app at the next receipt time, and answers both. */
async function deliver(request: Request): Promise<{ response: Response; receivedAt: number }> {
  receipt = Math.max(lastReceipt + 1, Date.now());
  lastReceipt = receipt;
  const ctx = createExecutionContext();
  const response = await app.fetch(request, env, ctx);
  await waitOnExecutionContext(ctx);
  return { response, receivedAt: receipt };
}

/**
 * Some events are stamped this far ahead of real time — beyond the default 24 h horizon of their
 * receipt — so the model's clock cap decides where they order (CONTRACT §4 "Clocks").
 */
const FAR_AHEAD = Math.floor(Date.now() / 1000) * 1000 + 10 * 86_400_000;

/**
 * A lifecycle and its delivery order: each event `copies` times, all copies in one generated
 * order, as `[event index, copy index]` pairs (part of the arbitrary, so a failure shrinks).
 */
function withOrder<E extends { copies: number }>(events: fc.Arbitrary<E[]>) {
  return events.chain((list) => {
    const slots = list.flatMap((event, i) =>
      Array.from({ length: event.copies }, (_, copy): [number, number] => [i, copy]),
    );
    return fc
      .shuffledSubarray(slots, { minLength: slots.length, maxLength: slots.length })
      .map((order) => ({ events: list, order }));
  });
}

let jobs = 0;

function historyView(job: JobDetailBody): ModelJob["history"] {
  return job.history.map(({ eventId, eventType, deliveries, occurredAt }) => ({
    eventId,
    eventType,
    deliveries,
    occurredAt,
  }));
}

async function deliverAndCheck(jobKey: string, order: Delivery[]): Promise<ModelJob> {
  const seen: ModelEvent[] = [];
  for (const delivery of order) {
    const { response, receivedAt } = await deliver(await delivery.request());
    expect(response.status, await response.clone().text()).toBe(200);
    seen.push({ ...delivery.meaning, receivedAt });
  }
  const expected = modelJob(seen);
  const job = await jobDetail(jobKey, token);
  expect({
    status: job.status,
    terminal: job.terminal,
    eventCount: job.eventCount,
    deliveryCount: job.deliveryCount,
    version: job.version,
    firstEventAt: job.firstEventAt,
    lastEventAt: job.lastEventAt,
    history: historyView(job),
  }).toEqual(expected);
  return expected;
}

interface D1Row {
  job_key: string;
  status: string;
  terminal: number;
  event_count: number;
  delivery_count: number;
  version: number;
  first_event_at: number;
  last_event_at: number;
}

/** Every checked job's D1 row, once the projection has caught up, equals the model. */
async function expectD1Rows(checked: Checked[]): Promise<void> {
  const rowOf = (expected: ModelJob) => ({
    status: expected.status,
    terminal: Number(expected.terminal),
    event_count: expected.eventCount,
    delivery_count: expected.deliveryCount,
    version: expected.version,
    first_event_at: Date.parse(expected.firstEventAt),
    last_event_at: Date.parse(expected.lastEventAt),
  });
  await eventually(async () => {
    const rows = new Map<string, D1Row>();
    for (let i = 0; i < checked.length; i += 50) {
      const keys = checked.slice(i, i + 50).map((job) => job.jobKey);
      const { results } = await env.DB.prepare(
        `SELECT job_key, status, terminal, event_count, delivery_count, version, first_event_at, last_event_at
         FROM jobs WHERE job_key IN (${keys.map(() => "?").join(",")})`,
      )
        .bind(...keys)
        .all<D1Row>();
      for (const row of results) rows.set(row.job_key, row);
    }
    for (const { jobKey, expected } of checked) {
      const { job_key: _key, ...row } = rows.get(jobKey) ?? { job_key: jobKey };
      expect(row, jobKey).toEqual(rowOf(expected));
    }
  });
}

const T0 = Date.UTC(2026, 10, 20, 8, 0, 0);

describe("Alfred jobs against the model", { timeout: BUDGET_MS }, () => {
  const alfredJobEvent: fc.Arbitrary<AlfredJobEvent> = fc.oneof(
    fc
      .constantFrom(
        "job_create",
        "job_start",
        "job_retry",
        "job_exceeded_retries",
        "job_invalid",
        "job_finished",
      )
      .map((name) => ({ name })),
    fc.record({
      name: fc.constant("job_stage_update"),
      stage: fc.constantFrom(
        "downloading",
        "in_progress",
        "completed",
        "failed",
        "invalid",
        "cancelled",
        "queued",
      ),
    }),
    fc.record({ name: fc.constant("job_failed"), exceededRetries: fc.boolean() }),
  );
  // Times in a 4-second window, some with a fraction: many same-second ties, and late old events
  // whenever the order puts a later time first.
  const generated = fc.record({
    event: alfredJobEvent,
    second: fc.integer({ min: 0, max: 3 }),
    fraction: fc.constantFrom(0, 0, 0.25),
    // One event in eight stamped days ahead: past the clock cap.
    ahead: fc.constantFrom(false, false, false, false, false, false, false, true),
    copies: fc.integer({ min: 1, max: 3 }),
    // A repeat may be serialized another way: other bytes, the same event.
    spellings: fc.array(
      fc.constantFrom<[Spelling, Typed]>(["docs", "strings"], ["sdk", "native"], ["bare", "strings"]),
      {
        minLength: 3,
        maxLength: 3,
      },
    ),
  });

  it("detail and D1 row equal the model for every generated lifecycle and delivery order", async () => {
    const checked: Checked[] = [];
    await check(
      "alfred",
      fc.asyncProperty(
        withOrder(fc.array(generated, { minLength: 1, maxLength: 7 })),
        async ({ events, order }) => {
          const jobId = `oracle-${jobs++}`;
          const delivery = ([index, copy]: [number, number]): Delivery => {
            const item = events[index];
            if (item === undefined) throw new Error(`no event ${index}`);
            const eventId = `${jobId}-e${index}`;
            const seconds = Math.floor((item.ahead ? FAR_AHEAD : T0) / 1000) + item.second + item.fraction;
            const meaning: Delivery["meaning"] = {
              eventId,
              eventType: item.event.name,
              time: Math.round(seconds * 1000),
              ...alfredMeaning(item.event),
            };
            const [spelling, typed] = item.spellings[copy] ?? ["docs", "strings"];
            const body = alfredEvent(item.event.name, {
              eventId,
              jobId,
              time: seconds,
              spelling,
              typed,
              stage: "stage" in item.event ? item.event.stage : undefined,
              exceededRetries: "exceededRetries" in item.event ? item.event.exceededRetries : undefined,
              retries: 1,
            });
            return {
              meaning,
              request: async () => alfredRequest("POST", ALFRED_TOKEN, JSON.stringify(body)),
            };
          };
          const jobKey = `alfred:job:${jobId}`;
          checked.push({ jobKey, expected: await deliverAndCheck(jobKey, order.map(delivery)) });
        },
      ),
      SEED,
      25,
    );
    await expectD1Rows(checked);
  });
});

describe("Extend workflow runs against the model", { timeout: BUDGET_MS }, () => {
  const generated = fc.record({
    type: fc.constantFrom(...(Object.keys(EXTEND_RUN_EVENTS) as ExtendRunEvent[])),
    second: fc.integer({ min: 0, max: 3 }),
    millis: fc.constantFrom(0, 0, 250),
    // One event in eight stamped days ahead: past the clock cap.
    ahead: fc.constantFrom(false, false, false, false, false, false, false, true),
    copies: fc.integer({ min: 1, max: 3 }),
  });

  it("detail and D1 row equal the model for every generated lifecycle and delivery order", async () => {
    const checked: Checked[] = [];
    await check(
      "extend",
      fc.asyncProperty(
        withOrder(fc.array(generated, { minLength: 1, maxLength: 7 })),
        async ({ events, order }) => {
          const runId = `wr_oracle_${jobs++}`;
          const delivery = ([index, copy]: [number, number]): Delivery => {
            const item = events[index];
            if (item === undefined) throw new Error(`no event ${index}`);
            const eventId = `evt_${runId}_${index}`;
            const time = (item.ahead ? FAR_AHEAD : T0) + item.second * 1000 + item.millis;
            const meaning: Delivery["meaning"] = {
              eventId,
              eventType: item.type,
              time,
              ...EXTEND_RUN_EVENTS[item.type],
            };
            const updatedAt = new Date(time).toISOString();
            const payload =
              item.type === "workflow_run.step_run.processed"
                ? {
                    object: "workflow_step_run",
                    id: `wsr_${index}`,
                    workflowRunId: runId,
                    status: "PROCESSED",
                    step: { name: `step ${index}` },
                    updatedAt,
                  }
                : {
                    object: "workflow_run",
                    id: runId,
                    status: "PROCESSED",
                    workflow: { name: "Oracle" },
                    updatedAt,
                  };
            // A repeat is the same event serialized with other whitespace: other bytes, other signature.
            const body = JSON.stringify(extendEvent(item.type, payload, eventId), null, copy);
            return { meaning, request: () => signedExtendRequest(body) };
          };
          const jobKey = `extend:workflow_run:${runId}`;
          checked.push({ jobKey, expected: await deliverAndCheck(jobKey, order.map(delivery)) });
        },
      ),
      SEED + 1,
      20,
    );
    await expectD1Rows(checked);
  });
});
