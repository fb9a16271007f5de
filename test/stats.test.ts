/**
 * `GET /v1/stats`, the overview (CONTRACT §10): job counts that agree with the list for every token
 * scope after shuffled lifecycles; accepted deliveries, repeats, quarantined deliveries and refusals
 * by error code counted in the bucket of their receipt; a replayed projection batch that moves no
 * counter; a burst of forged requests that costs far fewer writes than requests; the windows'
 * buckets; and query plans that read the counters only, never the jobs.
 *
 * Storage may be shared with other test files: each test scopes its reads to what only it writes —
 * an Alfred company of its own, or (through an app with its own clock) a minute days ahead that no
 * other delivery falls in — or compares deltas.
 */
import { createExecutionContext, env, SELF, waitOnExecutionContext } from "cloudflare:test";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { statsSchema } from "../src/api/schemas";
import { type AppSeams, createApp } from "../src/app";
import type { ProjectionMessage } from "../src/core/summary";
import {
  ADD_DELIVERIES,
  bucketStart,
  companySlice,
  MOVE_JOB_COUNTS,
  writeRefusals,
} from "../src/projection/counters";
import { repairSummaries } from "../src/projection/jobs";
import { resolveQuarantined } from "../src/projection/quarantine";
import { statsStatements } from "../src/projection/stats";
import { type AlfredEventName, alfredEvent, mulberry32, shuffle } from "./fixtures/alfred/events";
import {
  ALFRED_TOKEN,
  BASE,
  createToken,
  eventually,
  extendEvent,
  nowSeconds,
  sendAlfred,
  sendExtend,
  signedExtendRequest,
} from "./helpers";
import { consume, d1LosesAnswers, fakeQueue } from "./projection-seams";

type Stats = v.InferOutput<typeof statsSchema>;

/** Reads the overview for `token` through SELF, or through `app` (with its own clock). */
async function stats(token: string, query = "", app?: ReturnType<typeof createApp>): Promise<Stats> {
  const request = new Request(`${BASE}/v1/stats${query}`, { headers: { authorization: `Bearer ${token}` } });
  const response = app === undefined ? await SELF.fetch(request) : await viaApp(app, request);
  expect(response.status, await response.clone().text()).toBe(200);
  return v.parse(statsSchema, await response.json());
}

async function viaApp(app: ReturnType<typeof createApp>, request: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await app.fetch(request, env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

/** What the list holds for `token`: jobs by status and by source, every page walked. */
async function listCounts(
  token: string,
): Promise<{ total: number; byStatus: Record<string, number>; bySource: Record<string, number> }> {
  const byStatus: Record<string, number> = {};
  const bySource: Record<string, number> = {};
  let total = 0;
  let cursor: string | null = null;
  do {
    const query: string = `?limit=200${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`;
    const response = await SELF.fetch(`${BASE}/v1/jobs${query}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const page = (await response.json()) as {
      data: { status: string; source: string }[];
      nextCursor: string | null;
    };
    for (const job of page.data) {
      byStatus[job.status] = (byStatus[job.status] ?? 0) + 1;
      bySource[job.source] = (bySource[job.source] ?? 0) + 1;
      total += 1;
    }
    cursor = page.nextCursor;
  } while (cursor !== null);
  return { total, byStatus, bySource };
}

/** The counts of an answer, without the statuses and sources at 0 (the list names only those it has). */
function nonZero(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n !== 0));
}

function sum(
  buckets: Stats["deliveries"]["buckets"],
  field: "accepted" | "duplicates" | "quarantined",
): number {
  return buckets.reduce((total, bucket) => total + bucket[field], 0);
}

/** An app whose clock stands at `at`: its deliveries, refusals and stats fall in buckets of their own. */
function appAt(at: number, seams: AppSeams = {}) {
  return createApp({ now: () => at, ...seams });
}

/** A minute days ahead that no other test's delivery falls in (its buckets are never pruned: pruning removes old rows). */
function minuteOfItsOwn(): number {
  const days = 30 + Math.floor(Math.random() * 3000);
  return bucketStart(Date.now() + days * 86_400_000 + Math.floor(Math.random() * 1440) * 60_000, 60);
}

/**
 * One Alfred job's lifecycle, in time order, ending at a status chosen by `random`: create, start,
 * stage updates, then finished, exceeded retries, invalid, a non-terminal failure, or nothing more.
 */
function alfredLifecycle(jobId: string, companyId: string, random: () => number) {
  const endings: AlfredEventName[][] = [
    ["job_finished"],
    ["job_exceeded_retries"],
    ["job_invalid"],
    ["job_failed"],
    [],
    ["job_retry"],
  ];
  const ending = endings[Math.floor(random() * endings.length)] ?? [];
  const names: AlfredEventName[] = ["job_create", "job_start", "job_stage_update", ...ending];
  const steps = names.slice(0, 1 + Math.floor(random() * names.length));
  return steps.map((name, n) => alfredEvent(name, { jobId, companyId, time: 1_700_000_000 + n * 60 }));
}

describe("GET /v1/stats: the query and the window", () => {
  it("answers 96 × 900 s by default, 60 × 60 s for 1h, 168 × 3600 s for 7d: oldest first, no gaps, the last bucket holding now", async () => {
    const token = await createToken();
    for (const [query, width, count] of [
      ["", 900, 96],
      ["?window=24h", 900, 96],
      ["?window=1h", 60, 60],
      ["?window=7d", 3600, 168],
    ] as const) {
      const before = Date.now();
      const answer = await stats(token, query);
      const after = Date.now();
      const { bucketSeconds, buckets } = answer.deliveries;
      expect(bucketSeconds).toBe(width);
      expect(buckets).toHaveLength(count);
      const starts = buckets.map((bucket) => Date.parse(bucket.start));
      for (const [n, start] of starts.entries()) {
        expect(start % (width * 1000)).toBe(0);
        if (n > 0) expect(start - (starts[n - 1] ?? 0)).toBe(width * 1000);
      }
      const last = starts.at(-1) ?? 0;
      expect(last).toBeGreaterThanOrEqual(bucketStart(before, width));
      expect(last).toBeLessThanOrEqual(bucketStart(after, width));
      const generatedAt = Date.parse(answer.generatedAt);
      expect(generatedAt).toBeGreaterThanOrEqual(last);
      expect(generatedAt).toBeLessThan(last + width * 1000);
    }
  });

  it("refuses a bad window or an unknown parameter (400 invalid_request) and a missing token (401)", async () => {
    const token = await createToken();
    for (const query of ["?window=2h", "?window=", "?window=1h&window=7d", "?windw=1h"]) {
      const response = await SELF.fetch(`${BASE}/v1/stats${query}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status, query).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("invalid_request");
    }
    expect((await SELF.fetch(`${BASE}/v1/stats`)).status).toBe(401);
  });
});

describe("GET /v1/stats: jobs", () => {
  it("counts each job once by status and source, as the list does, for company, source and admin tokens, after shuffled lifecycles with repeats", async () => {
    const companyId = `co-stats-${crypto.randomUUID()}`;
    const company = await createToken({ company: companyId });
    const alfred = await createToken({ source: "alfred" });
    const extend = await createToken({ source: "extend" });
    const admin = await createToken({ admin: true });
    const before = await stats(company, "?window=1h");
    expect(before.jobs.total).toBe(0);

    const random = mulberry32(2026);
    const deliveries: object[] = [];
    let repeats = 0;
    for (let job = 0; job < 8; job++) {
      for (const event of alfredLifecycle(`stats-${companyId}-${job}`, companyId, random)) {
        const copies = 1 + Math.floor(random() * 3);
        repeats += copies - 1;
        for (let copy = 0; copy < copies; copy++) deliveries.push(event);
      }
    }
    // Three Extend runs: processed then failed later (failed), processed, failed.
    const suffix = crypto.randomUUID().slice(0, 8);
    const signedAt = (offset: number) => ({ timestamp: nowSeconds() - 60 + offset });
    const extendDeliveries = [
      [extendEvent("extract_run.processed", { id: `exr_stats_${suffix}_0` }), signedAt(0)],
      [extendEvent("extract_run.failed", { id: `exr_stats_${suffix}_0` }), signedAt(10)],
      [extendEvent("extract_run.processed", { id: `exr_stats_${suffix}_1` }), signedAt(0)],
      [extendEvent("extract_run.failed", { id: `exr_stats_${suffix}_2` }), signedAt(0)],
    ] as const;
    const startedAt = Date.now();
    for (const body of shuffle(deliveries, random)) expect((await sendAlfred(body)).status).toBe(200);
    for (const [body, options] of shuffle(extendDeliveries, random)) {
      expect((await sendExtend(body, options)).status).toBe(200);
    }
    const receivedBy = Date.now();

    // The company's own: exactly what its token lists, and its deliveries.
    await eventually(async () => {
      const answer = await stats(company, "?window=1h");
      const list = await listCounts(company);
      expect(list.total).toBe(8);
      expect(answer.jobs.total).toBe(list.total);
      expect(nonZero(answer.jobs.byStatus)).toEqual(list.byStatus);
      expect(answer.jobs.bySource).toEqual({ alfred: 8 });
      expect(sum(answer.deliveries.buckets, "accepted")).toBe(deliveries.length);
      expect(sum(answer.deliveries.buckets, "duplicates")).toBe(repeats);
      // In the buckets of their receipt (one received within 2 s of a bucket's end may count in the next).
      for (const bucket of answer.deliveries.buckets.filter((b) => b.accepted > 0)) {
        expect(Date.parse(bucket.start)).toBeGreaterThanOrEqual(bucketStart(startedAt, 60));
        expect(Date.parse(bucket.start)).toBeLessThanOrEqual(bucketStart(receivedBy + 2_000, 60));
      }
      // Neither refusals nor quarantine can be attributed to a company.
      expect(answer.quarantine.open).toBe(0);
      for (const bucket of answer.deliveries.buckets) {
        expect(bucket.quarantined).toBe(0);
        expect(bucket.refused).toEqual({});
      }
    });
    // Source-scoped and admin tokens: what their lists hold, whatever else this storage holds.
    for (const [token, sources] of [
      [alfred, ["alfred"]],
      [extend, ["extend"]],
      [admin, ["extend", "alfred", "standard"]],
    ] as const) {
      await eventually(async () => {
        const list = await listCounts(token);
        const answer = await stats(token);
        expect(answer.jobs.total).toBe(list.total);
        expect(nonZero(answer.jobs.byStatus)).toEqual(list.byStatus);
        expect(nonZero(answer.jobs.bySource)).toEqual(list.bySource);
        expect(Object.keys(answer.jobs.bySource).sort()).toEqual([...sources].sort());
      });
    }
  });
});

describe("GET /v1/stats: deliveries", () => {
  it("counts quarantined deliveries in the bucket of their receipt and open items until a retry resolves one; a company token sees 0", async () => {
    const at = minuteOfItsOwn() + 17_000;
    const app = appAt(at);
    const alfred = await createToken({ source: "alfred" });
    const extend = await createToken({ source: "extend" });
    const admin = await createToken();
    const company = await createToken({ company: `co-q-${crypto.randomUUID()}` });
    const openBefore = (await stats(alfred, "?window=1h", app)).quarantine.open;
    const adminOpenBefore = (await stats(admin, "?window=1h", app)).quarantine.open;

    const ids: string[] = [];
    for (let n = 0; n < 3; n++) {
      const response = await viaApp(
        app,
        new Request(`${BASE}/webhooks/alfred/${ALFRED_TOKEN}`, { method: "POST", body: "{" }),
      );
      expect(response.status).toBe(202);
      ids.push(((await response.json()) as { quarantineId: string }).quarantineId);
    }
    const extendResponse = await viaApp(
      app,
      await signedExtendRequest("not json", { timestamp: Math.floor(at / 1000) }),
    );
    expect(extendResponse.status).toBe(202);

    const minute = bucketStart(at, 60);
    const alfredStats = await stats(alfred, "?window=1h", app);
    const buckets = alfredStats.deliveries.buckets;
    expect(buckets.at(-1)).toMatchObject({ start: new Date(minute).toISOString(), quarantined: 3 });
    expect(sum(buckets, "quarantined")).toBe(3);
    expect(alfredStats.quarantine.open).toBe(openBefore + 3);
    expect(sum((await stats(extend, "?window=1h", app)).deliveries.buckets, "quarantined")).toBe(1);
    const adminStats = await stats(admin, "?window=7d", app);
    expect(adminStats.deliveries.buckets.at(-1)).toMatchObject({
      start: new Date(bucketStart(at, 3600)).toISOString(),
      quarantined: 4,
    });
    expect(adminStats.quarantine.open).toBe(adminOpenBefore + 4);

    // A retry that stores one resolves it: one item fewer open.
    const [first] = ids;
    expect(
      await resolveQuarantined(env.DB, first ?? "", {
        resolvedAt: at,
        jobKey: "alfred:job:resolved",
        eventId: "e1",
        outcome: "stored",
      }),
    ).toBe(true);
    expect((await stats(alfred, "?window=1h", app)).quarantine.open).toBe(openBefore + 2);

    const companyStats = await stats(company, "?window=1h", app);
    expect(companyStats.quarantine.open).toBe(0);
    expect(sum(companyStats.deliveries.buckets, "quarantined")).toBe(0);
  });

  it("counts refusals by error code in the bucket of their receipt; a burst of 200 forged requests costs a few writes, not 200", async () => {
    const at = minuteOfItsOwn() + 42_000;
    let writes = 0;
    const app = appAt(at, {
      refusalWrites: (db, counts) => {
        writes += 1;
        return writeRefusals(db, counts);
      },
    });
    const forged = (n: number) =>
      signedExtendRequest(extendEvent("extract_run.processed", { id: `exr_forged_${n}` }), {
        secret: "wss_forged",
        timestamp: Math.floor(at / 1000),
      });
    const requests: Request[] = [
      ...(await Promise.all(Array.from({ length: 200 }, (_, n) => forged(n)))),
      ...Array.from(
        { length: 5 },
        () => new Request(`${BASE}/webhooks/extend`, { method: "POST", body: "{}" }),
      ),
      ...Array.from({ length: 3 }, () => new Request(`${BASE}/webhooks/extend`)),
      ...Array.from(
        { length: 4 },
        () => new Request(`${BASE}/webhooks/alfred/not-the-token`, { method: "POST", body: "{}" }),
      ),
    ];
    const started = Date.now();
    const contexts = requests.map(() => createExecutionContext());
    const responses = await Promise.all(requests.map((request, n) => app.fetch(request, env, contexts[n])));
    // Every refusal is answered without waiting for its count to be written.
    expect(responses.map((response) => response.status).filter((status) => status < 400)).toEqual([]);
    await Promise.all(contexts.map((ctx) => waitOnExecutionContext(ctx)));
    const seconds = (Date.now() - started) / 1000;

    expect(writes).toBeGreaterThanOrEqual(1);
    // At most one write a second (and one more for the last refusals), whatever the number of requests.
    expect(writes).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
    expect(writes).toBeLessThan(20);

    const extend = await createToken({ source: "extend" });
    const alfred = await createToken({ source: "alfred" });
    const minute = new Date(bucketStart(at, 60)).toISOString();
    expect((await stats(extend, "?window=1h", app)).deliveries.buckets.at(-1)).toMatchObject({
      start: minute,
      refused: { invalid_signature: 200, missing_signature: 5, method_not_allowed: 3 },
    });
    expect((await stats(alfred, "?window=1h", app)).deliveries.buckets.at(-1)).toMatchObject({
      start: minute,
      refused: { unauthorized: 4 },
    });
    const admin = await stats(await createToken(), "?window=24h", app);
    expect(admin.deliveries.buckets.at(-1)?.refused).toEqual({
      invalid_signature: 200,
      missing_signature: 5,
      method_not_allowed: 3,
      unauthorized: 4,
    });
    const company = await stats(await createToken({ company: "co-refused" }), "?window=1h", app);
    expect(company.deliveries.buckets.at(-1)?.refused).toEqual({});
  });
});

describe("GET /v1/stats: refusals when D1 refuses their flush", () => {
  it("keeps the counts and writes them with the next flush", async () => {
    const at = minuteOfItsOwn() + 5_000;
    let attempts = 0;
    const app = appAt(at, {
      refusalWrites: (db, counts) => {
        attempts += 1;
        return attempts === 1 ? Promise.reject(new Error("D1_ERROR: injected")) : writeRefusals(db, counts);
      },
    });
    const refuse = () =>
      viaApp(app, new Request(`${BASE}/webhooks/standard`, { method: "POST", body: "{}" }));
    expect((await refuse()).status).toBe(401);
    expect(attempts).toBe(1);
    expect((await refuse()).status).toBe(401);
    expect(attempts).toBe(2);
    const standard = await createToken({ source: "standard" });
    expect((await stats(standard, "?window=1h", app)).deliveries.buckets.at(-1)?.refused).toEqual({
      missing_signature: 2,
    });
  });
});

/** The counter rows of one company's slice, for comparing before and after. */
async function companyCounters(companyId: string) {
  const slice = companySlice(companyId);
  const jobs = await env.DB.prepare(
    "SELECT source, status, jobs FROM job_counts WHERE slice = ? AND jobs <> 0 ORDER BY source, status",
  )
    .bind(slice)
    .all();
  const deliveries = await env.DB.prepare(
    "SELECT source, width, start, accepted, duplicates FROM delivery_counts WHERE slice = ? ORDER BY source, width, start",
  )
    .bind(slice)
    .all();
  return { jobs: jobs.results, deliveries: deliveries.results };
}

/** What the jobs table itself holds for a company, by status: what its counters must equal. */
async function companyRows(companyId: string): Promise<{ source: string; status: string; jobs: number }[]> {
  const rows = await env.DB.prepare(
    "SELECT source, status, count(*) AS jobs FROM jobs WHERE company_id = ? GROUP BY source, status ORDER BY source, status",
  )
    .bind(companyId)
    .all<{ source: string; status: string; jobs: number }>();
  return rows.results;
}

/** Summaries of a company's Alfred jobs as their ledgers hand them to the projection, versions 1…n each. */
async function summariesOf(
  companyId: string,
  jobs: number,
  events: AlfredEventName[],
): Promise<ProjectionMessage[]> {
  const fake = fakeQueue();
  const app = createApp({ projectionQueue: () => fake.queue });
  for (let job = 0; job < jobs; job++) {
    for (const [n, name] of events.entries()) {
      const body = alfredEvent(name, {
        jobId: `replay-${companyId}-${job}`,
        companyId,
        time: 1_700_000_000 + n,
      });
      const response = await viaApp(
        app,
        new Request(`${BASE}/webhooks/alfred/${ALFRED_TOKEN}`, {
          method: "POST",
          body: JSON.stringify(body),
        }),
      );
      expect(response.status).toBe(200);
      // The same event again: a repeat.
      if (n === 0) {
        await viaApp(
          app,
          new Request(`${BASE}/webhooks/alfred/${ALFRED_TOKEN}`, {
            method: "POST",
            body: JSON.stringify(body),
          }),
        );
      }
    }
  }
  await eventually(() =>
    expect(new Set(fake.sent.map((m) => `${m.jobKey}@${m.version}`)).size).toBe(jobs * (events.length + 1)),
  );
  return fake.sent;
}

describe("GET /v1/stats: counters move with the rows", () => {
  it("a replayed, repeated or older projection batch moves no counter; one D1 committed but did not confirm moves them once", async () => {
    const companyId = `co-replay-${crypto.randomUUID()}`;
    const summaries = await summariesOf(companyId, 3, ["job_create", "job_start", "job_finished"]);
    const newest = new Map<string, ProjectionMessage>();
    for (const summary of summaries) {
      const kept = newest.get(summary.jobKey);
      if (kept === undefined || kept.version < summary.version) newest.set(summary.jobKey, summary);
    }
    const older = summaries.filter((summary) => summary.version === 2);

    // Applied once: 3 succeeded jobs, 4 deliveries each of which 1 repeat.
    await consume([{ summaries: older }]);
    await consume([{ summaries: [...newest.values()] }]);
    const applied = await companyCounters(companyId);
    expect(applied.jobs).toEqual([{ source: "alfred", status: "succeeded", jobs: 3 }]);
    expect(await companyRows(companyId)).toEqual(applied.jobs);
    const minutes = applied.deliveries.filter((row) => row.width === 60);
    expect(minutes.reduce((n, row) => n + Number(row.accepted), 0)).toBe(12);
    expect(minutes.reduce((n, row) => n + Number(row.duplicates), 0)).toBe(3);

    // Replayed whole, replayed in pieces, older versions after newer ones: nothing moves.
    await consume([{ summaries }]);
    await consume([{ summaries: [...newest.values()] }, { summaries: older }]);
    await consume(older);
    expect(await companyCounters(companyId)).toEqual(applied);

    // A batch D1 commits but whose answer is lost is retried by the queue: counted once.
    const other = `co-lost-${crypto.randomUUID()}`;
    const lost = await summariesOf(other, 2, ["job_create", "job_failed"]);
    expect((await consume([{ summaries: lost }], d1LosesAnswers)).retryBatch.retry).toBe(true);
    const once = await companyCounters(other);
    await consume([{ summaries: lost }], env.DB, 2);
    expect(await companyCounters(other)).toEqual(once);
    expect(once.jobs).toEqual(await companyRows(other));
    expect(once.jobs).toEqual([{ source: "alfred", status: "failed", jobs: 2 }]);
  });

  it("follows rows written outside the projection's batch: a row deleted or edited by hand, and reprojection's repair", async () => {
    const companyId = `co-hand-${crypto.randomUUID()}`;
    const summaries = await summariesOf(companyId, 2, ["job_create", "job_start"]);
    await consume([{ summaries }]);
    expect((await companyCounters(companyId)).jobs).toEqual([
      { source: "alfred", status: "processing", jobs: 2 },
    ]);
    const [one, two] = [...new Set(summaries.map((summary) => summary.jobKey))];
    const latest = (jobKey: string | undefined) =>
      summaries.filter((summary) => summary.jobKey === jobKey).sort((a, b) => b.version - a.version)[0];

    await env.DB.prepare("DELETE FROM jobs WHERE job_key = ?")
      .bind(one ?? "")
      .run();
    await env.DB.prepare("UPDATE jobs SET status = 'failed' WHERE job_key = ?")
      .bind(two ?? "")
      .run();
    expect((await companyCounters(companyId)).jobs).toEqual(await companyRows(companyId));
    expect(await companyRows(companyId)).toEqual([{ source: "alfred", status: "failed", jobs: 1 }]);

    const repair = [latest(one), latest(two)].flatMap((summary) =>
      summary === undefined ? [] : [summary.summary],
    );
    const { repaired } = await repairSummaries(env.DB, repair);
    expect(repaired.sort()).toEqual([one, two].sort());
    expect((await companyCounters(companyId)).jobs).toEqual([
      { source: "alfred", status: "processing", jobs: 2 },
    ]);
  });
});

describe("GET /v1/stats: deliveries that reach D1 by reprojection", () => {
  const acceptedOf = async (companyId: string) => {
    const minutes = (await companyCounters(companyId)).deliveries.filter((row) => row.width === 60);
    return {
      accepted: minutes.reduce((n, row) => n + Number(row.accepted), 0),
      duplicates: minutes.reduce((n, row) => n + Number(row.duplicates), 0),
    };
  };

  it("a job whose summaries never reached D1 counts its deliveries when the repair writes it, once", async () => {
    const companyId = `co-unprojected-${crypto.randomUUID()}`;
    const summaries = await summariesOf(companyId, 1, ["job_create", "job_start"]);
    const latest = summaries.reduce((a, b) => (b.version > a.version ? b : a));
    expect(latest.summary).toMatchObject({ deliveryCount: 3, eventCount: 2 });
    expect(await acceptedOf(companyId)).toEqual({ accepted: 0, duplicates: 0 });

    await repairSummaries(env.DB, [latest.summary]);
    expect(await acceptedOf(companyId)).toEqual({ accepted: 3, duplicates: 1 });
    // A second run writes nothing, and the queue's message for that version is skipped by its guard.
    await repairSummaries(env.DB, [latest.summary]);
    await consume([{ summaries }]);
    expect(await acceptedOf(companyId)).toEqual({ accepted: 3, duplicates: 1 });
  });

  it("a row behind its ledger counts only the deliveries the repair adds", async () => {
    const companyId = `co-behind-${crypto.randomUUID()}`;
    const summaries = await summariesOf(companyId, 1, ["job_create", "job_start", "job_finished"]);
    const byVersion = [...summaries].sort((a, b) => a.version - b.version);
    const first = byVersion[0];
    const latest = byVersion.at(-1);
    if (first === undefined || latest === undefined) throw new Error("no summaries");
    await consume([{ summaries: [first] }]);
    const before = await acceptedOf(companyId);
    expect(before.accepted).toBe(first.summary.deliveryCount);

    await repairSummaries(env.DB, [latest.summary]);
    expect(await acceptedOf(companyId)).toEqual({ accepted: 4, duplicates: 1 });
  });
});

describe("GET /v1/stats: what a call reads", () => {
  const plans = async (sql: string, params: (string | number)[]) =>
    (
      await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .bind(...params)
        .all<{ detail: string }>()
    ).results.map((row) => row.detail);

  it.each([
    ["an admin token", { sources: ["extend", "alfred", "standard"], slice: "all", unattributed: true }],
    ["a source-scoped token", { sources: ["extend"], slice: "all", unattributed: true }],
    ["a company-scoped token", { sources: ["alfred"], slice: companySlice("co-1"), unattributed: false }],
  ])("%s: every statement seeks a counter table by its primary key, never the jobs", async (_, scope) => {
    for (const width of [60, 900, 3600] as const) {
      const statements = statsStatements({ ...scope, width, since: Date.now() - 86_400_000 });
      expect(statements).toHaveLength(scope.unattributed ? 4 : 2);
      for (const { sql, params } of statements) {
        const detail = await plans(sql, params);
        expect(detail.length, sql).toBeGreaterThan(0);
        for (const line of detail) {
          expect(line, sql).toMatch(
            /^SEARCH (job|delivery|refusal|quarantine)_counts USING PRIMARY KEY \(source=\?/,
          );
        }
      }
    }
  });

  it("the projection's counter statements find each job by its key: their cost is the batch's, not the table's", async () => {
    const json = JSON.stringify([
      { job_key: "alfred:job:x", source: "alfred", status: "pending", version: 1 },
    ]);
    for (const sql of [MOVE_JOB_COUNTS, ADD_DELIVERIES]) {
      const detail = (await plans(sql, [json])).join(" | ");
      expect(detail).toMatch(/SEARCH jobs USING INDEX sqlite_autoindex_jobs_1 \(job_key=\?\)/);
      expect(detail).not.toMatch(/SCAN jobs/);
    }
  });
});
