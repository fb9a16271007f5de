/**
 * Reprojection (docs/OPERATING.md, "Reprojection"): `POST /v1/admin/reproject` rebuilds the D1 summaries from the
 * job ledgers, finding every job through the key registry even when D1 is wrong — rows deleted,
 * corrupted with a higher version, or never written. Happy, idempotent, resumable, error and
 * security cases, and the ledger's registration retried by its alarm. Faults go through our own
 * seams: createApp's `projectionQueue` and the ledger's `registration.registrar`.
 */
import {
  createExecutionContext,
  env,
  runDurableObjectAlarm,
  runInDurableObject,
  SELF,
  waitOnExecutionContext,
} from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { ReprojectPage, SeedPage } from "../src/api/reproject";
import { createApp } from "../src/app";
import { encodeChangeCursor, encodeCursor } from "../src/core/cursor";
import type { JobSummary } from "../src/core/summary";
import type { JobLedger } from "../src/ledger/job-ledger";
import { repairSummaries, replaceIfUnchanged } from "../src/projection/jobs";
import { registryShard, shardedRegistrar, shardOf } from "../src/registry/key-registry";
import {
  apiGet,
  BASE,
  createToken,
  errorCode,
  eventually,
  extendEvent,
  type JobDetailBody,
  jobDetail,
  sendExtend,
  signedExtendRequest,
} from "./helpers";

let read: string;
let admin: string;
beforeAll(async () => {
  read = await createToken();
  admin = await createToken({ admin: true });
});

function reproject(body: unknown, token: string | null = admin, route = "reproject"): Promise<Response> {
  return SELF.fetch(`${BASE}/v1/admin/${route}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Walks the whole registry from the start (or `cursor`), page by page, as the CLI does. */
async function reprojectAll(limit?: number, cursor?: string): Promise<ReprojectPage[]> {
  const pages: ReprojectPage[] = [];
  let next: string | null | undefined = cursor;
  do {
    const response = await reproject({ limit, cursor: next ?? undefined });
    expect(response.status, await response.clone().text()).toBe(200);
    const page = (await response.json()) as ReprojectPage;
    pages.push(page);
    next = page.nextCursor;
  } while (next !== null);
  return pages;
}

const repairedIn = (pages: ReprojectPage[]) => pages.flatMap((page) => page.repairedKeys).sort();

/**
 * Reprojection walks every ledger, and test files may share storage: the jobs other files left
 * are walked too. So each test reads what happened to its own jobs.
 */
const among = (keys: string[], mine: string[]) => keys.filter((key) => mine.includes(key)).sort();

function ledger(jobKey: string): DurableObjectStub<JobLedger> {
  return env.JOBS.get(env.JOBS.idFromName(jobKey));
}

async function registered(jobKey: string): Promise<boolean> {
  return (await registryShard(env, shardOf(jobKey)).keysAfter("", 10_000)).includes(jobKey);
}

/**
 * Runs each job's safety alarm once, as 30 s after its delivery: the alarm is what registers a
 * new job's key (src/ledger/registration.ts).
 */
async function alarmsRun(...jobKeys: string[]): Promise<void> {
  for (const jobKey of jobKeys) expect(await runDurableObjectAlarm(ledger(jobKey))).toBe(true);
}

async function d1Version(jobKey: string): Promise<number | null> {
  const row = await env.DB.prepare("SELECT version FROM jobs WHERE job_key = ?")
    .bind(jobKey)
    .first<{ version: number }>();
  return row?.version ?? null;
}

/** Stores one Extend event (200) and returns its job key. */
async function stored(id: string, type = "extract_run.processed"): Promise<string> {
  const response = await sendExtend(extendEvent(type, { id }));
  expect(response.status, await response.clone().text()).toBe(200);
  return `extend:extract_run:${id}`;
}

/** The summary part of a job's detail: what its list row must equal. */
async function ledgerSummary(jobKey: string): Promise<Omit<JobDetailBody, "history" | "files" | "job">> {
  const { history: _h, files: _f, job: _j, ...summary } = await jobDetail(jobKey, read);
  return summary;
}

/** The list's rows of these jobs, read page after page. */
async function listed(mine: string[]): Promise<Map<string, JobSummary>> {
  const rows = new Map<string, JobSummary>();
  let cursor: string | null = null;
  do {
    const query: string = cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`;
    const body = (await (await apiGet(`/v1/jobs?limit=200${query}`, read)).json()) as {
      data: JobSummary[];
      nextCursor: string | null;
    };
    for (const job of body.data) if (mine.includes(job.jobKey)) rows.set(job.jobKey, job);
    cursor = body.nextCursor;
  } while (cursor !== null);
  return rows;
}

async function feed(cursor: string): Promise<{ data: JobSummary[]; nextCursor: string }> {
  return (await (await apiGet(`/v1/changes?after=${cursor}&limit=200`, read)).json()) as {
    data: JobSummary[];
    nextCursor: string;
  };
}

describe("POST /v1/admin/reproject", () => {
  it("rebuilds deleted, corrupted and never-written rows from the ledgers; list and feed are right again; a second run changes nothing", async () => {
    const deleted = await stored("exr_rp_deleted");
    const corrupted = await stored("exr_rp_corrupted", "extract_run.failed");
    const intact = await stored("exr_rp_intact");
    // A job whose summary never reached D1: its projection send fails, and its safety alarm is
    // removed so it cannot re-send during the test.
    const app = createApp({
      projectionQueue: () => ({ sendBatch: () => Promise.reject(new Error("queue down (injected)")) }),
    });
    const ctx = createExecutionContext();
    const unprojected = "extend:extract_run:exr_rp_never";
    const answer = await app.fetch(
      await signedExtendRequest(extendEvent("extract_run.processed", { id: "exr_rp_never" })),
      env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(answer.status).toBe(200);
    // Its alarm registers it, but cannot re-send its summary either; then the alarm is gone.
    await runInDurableObject(ledger(unprojected), (instance) => {
      instance.projectionQueue = { sendBatch: () => Promise.reject(new Error("queue down (injected)")) };
    });
    await eventually(async () => {
      for (const key of [deleted, corrupted, intact]) expect(await d1Version(key)).toBe(1);
    });
    await alarmsRun(deleted, corrupted, intact, unprojected);
    await runInDurableObject(ledger(unprojected), (_, state) => state.storage.deleteAlarm());
    for (const key of [deleted, corrupted, intact, unprojected]) expect(await registered(key)).toBe(true);
    expect(await d1Version(unprojected)).toBeNull();
    // D1 goes wrong: a row deleted, a row corrupted with a higher version than the ledger's.
    await env.DB.prepare("DELETE FROM jobs WHERE job_key = ?").bind(deleted).run();
    await env.DB.prepare(
      "UPDATE jobs SET status = 'succeeded', terminal = 1, version = 999, event_count = 42 WHERE job_key = ?",
    )
      .bind(corrupted)
      .run();
    const mine = [deleted, corrupted, intact, unprojected];
    const before = await listed(mine);
    expect(before.has(deleted)).toBe(false);
    expect(before.has(unprojected)).toBe(false);
    expect(before.get(corrupted)).toMatchObject({ status: "succeeded", version: 999 });
    const { nextCursor: start } = (await (await apiGet("/v1/changes?after=latest", read)).json()) as {
      nextCursor: string;
    };

    const pages = await reprojectAll();
    expect(pages[0]?.total).toBeGreaterThanOrEqual(4);
    expect(pages.reduce((sum, page) => sum + page.processed, 0)).toBe(pages[0]?.total);
    expect(among(repairedIn(pages), mine)).toEqual([corrupted, deleted, unprojected].sort());

    // The list holds each job exactly as its ledger does, the corrupted one back to the truth.
    const after = await listed(mine);
    for (const key of mine) {
      expect(after.get(key)).toEqual(await ledgerSummary(key));
    }
    expect(after.get(corrupted)).toMatchObject({ status: "failed", version: 1, eventCount: 1 });
    // The feed shows the repaired jobs, once each, and not the intact one.
    const changed = await feed(start);
    expect(
      among(
        changed.data.map((job) => job.jobKey),
        mine,
      ),
    ).toEqual([corrupted, deleted, unprojected].sort());

    // Idempotent: a second run repairs nothing, and the feed has nothing new.
    const again = await reprojectAll();
    expect(among(repairedIn(again), mine)).toEqual([]);
    expect(again.reduce((sum, page) => sum + page.processed, 0)).toBe(again[0]?.total);
    expect(
      among(
        (await feed(changed.nextCursor)).data.map((job) => job.jobKey),
        mine,
      ),
    ).toEqual([]);
    expect(await listed(mine)).toEqual(after);
  });

  it("is resumable: stopped after a page, it goes on from the cursor and finds every job", async () => {
    const keys = await Promise.all(["a", "b", "c"].map((n) => stored(`exr_rp_resume_${n}`)));
    await eventually(async () => {
      for (const key of keys) expect(await d1Version(key)).toBe(1);
    });
    await alarmsRun(...keys);
    for (const key of keys) expect(await registered(key)).toBe(true);
    for (const key of keys) await env.DB.prepare("DELETE FROM jobs WHERE job_key = ?").bind(key).run();

    const first = await reproject({ limit: 2 });
    expect(first.status).toBe(200);
    const page = (await first.json()) as ReprojectPage;
    expect(page.processed).toBe(2);
    expect(page.nextCursor).toEqual(expect.any(String));
    expect(page.shard).toBeLessThan(page.shards);
    // … the operator stops here, and later goes on with the cursor it printed.
    const rest = await reprojectAll(2, page.nextCursor ?? undefined);
    const total = page.total ?? 0;
    expect(page.processed + rest.reduce((sum, next) => sum + next.processed, 0)).toBe(total);
    expect(rest.every((next) => next.total === undefined && next.processed <= 2)).toBe(true);
    expect(among([...page.repairedKeys, ...repairedIn(rest)], keys)).toEqual(keys.sort());
    const list = await listed(keys);
    for (const key of keys) expect(list.get(key)).toEqual(await ledgerSummary(key));
  });

  it("a ledger stored before registering whose registration fails retries it from its alarm until the registry has its key", async () => {
    const jobKey = "extend:extract_run:exr_rp_unregistered";
    const stub = ledger(jobKey);
    await stored("exr_rp_unregistered");
    await eventually(async () => expect(await d1Version(jobKey)).toBe(1));
    // As if it had stored its event before ledgers registered first: neither the registry nor the
    // ledger knows of a registration, and the registry is down.
    await runInDurableObject(registryShard(env, shardOf(jobKey)), (_, state) => {
      state.storage.sql.exec("DELETE FROM job_keys WHERE job_key = ?", jobKey);
    });
    await runInDurableObject(stub, (instance, state) => {
      state.storage.sql.exec("DELETE FROM registry_ack");
      instance.registration.known(false);
      instance.registration.registrar = {
        register: () => Promise.reject(new Error("registry down (injected)")),
      };
    });
    expect(await registered(jobKey)).toBe(false);
    // The alarm fails too and keeps itself armed, with backoff…
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).not.toBeNull();
    expect(await registered(jobKey)).toBe(false);
    // … until the registry answers.
    await runInDurableObject(stub, (instance) => {
      instance.registration.registrar = shardedRegistrar(env);
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await registered(jobKey)).toBe(true);
    await env.DB.prepare("DELETE FROM jobs WHERE job_key = ?").bind(jobKey).run();
    expect(repairedIn(await reprojectAll())).toEqual([jobKey]);
    expect(await d1Version(jobKey)).toBe(1);
  });

  it("a ledger from before the registry is found once the registry is seeded from D1", async () => {
    const jobKey = await stored("exr_rp_legacy");
    await eventually(async () => expect(await d1Version(jobKey)).toBe(1));
    await alarmsRun(jobKey);
    expect(await registered(jobKey)).toBe(true);
    // As if it had stored its events before this release: the registry has never heard of it.
    await runInDurableObject(registryShard(env, shardOf(jobKey)), (_, state) => {
      state.storage.sql.exec("DELETE FROM job_keys WHERE job_key = ?", jobKey);
    });
    await env.DB.prepare("UPDATE jobs SET status = 'running' WHERE job_key = ?").bind(jobKey).run();
    expect(repairedIn(await reprojectAll())).toEqual([]);

    const seed = async () => {
      const pages: SeedPage[] = [];
      let cursor: string | undefined;
      do {
        const response = await reproject({ limit: 3, cursor }, admin, "registry/seed");
        expect(response.status, await response.clone().text()).toBe(200);
        const page = (await response.json()) as SeedPage;
        pages.push(page);
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      return pages;
    };
    const rows = (await env.DB.prepare("SELECT count(*) AS n FROM jobs").first<{ n: number }>())?.n;
    const seeded = await seed();
    expect(seeded.length).toBeGreaterThan(1);
    expect(seeded.reduce((sum, page) => sum + page.processed, 0)).toBe(rows);
    expect(seeded.reduce((sum, page) => sum + page.registered, 0)).toBe(1);
    expect(await registered(jobKey)).toBe(true);
    expect((await seed()).reduce((sum, page) => sum + page.registered, 0)).toBe(0);
    expect(repairedIn(await reprojectAll())).toEqual([jobKey]);
    expect((await listed([jobKey])).get(jobKey)).toMatchObject({ status: "succeeded" });
  });

  it("a bad cursor, limit or body → 400 invalid_request", async () => {
    const refused = [
      { cursor: "nope" },
      // Another route's cursors are not this route's.
      { cursor: encodeCursor({ t: 1, k: "x" }) },
      { cursor: encodeChangeCursor({ c: 3 }) },
      { limit: 0 },
      { limit: 201 },
      { limit: 1.5 },
      { limit: "10" },
      { unknown: true },
      "{not json",
      "[]",
    ];
    for (const body of refused) {
      const response = await reproject(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(await errorCode(response)).toBe("invalid_request");
    }
    // The seed walks D1 keys: a reprojection cursor is not one of its cursors, nor the reverse.
    const page = (await (await reproject({ limit: 1 })).json()) as ReprojectPage;
    const seedPage = (await (await reproject({ limit: 1 }, admin, "registry/seed")).json()) as SeedPage;
    expect(page.nextCursor).toEqual(expect.any(String));
    expect(seedPage.nextCursor).toEqual(expect.any(String));
    for (const [route, cursor] of [
      ["registry/seed", page.nextCursor],
      ["reproject", seedPage.nextCursor],
      ["registry/seed", "nope"],
    ] as const) {
      const response = await reproject({ cursor }, admin, route);
      expect(response.status, `${route} ${cursor}`).toBe(400);
      expect(await errorCode(response)).toBe("invalid_request");
    }
  });

  it("no or bad token → 401 unauthorized; a read or a scoped admin token → 403 forbidden (both routes)", async () => {
    for (const route of ["reproject", "registry/seed"]) {
      const none = await reproject({}, null, route);
      expect(none.status).toBe(401);
      expect(await errorCode(none)).toBe("unauthorized");
      const bad = await reproject({}, "rl_bogus", route);
      expect(bad.status).toBe(401);
      expect(await errorCode(bad)).toBe("unauthorized");
      for (const token of [
        read,
        await createToken({ source: "extend" }),
        // A scoped admin would learn job keys outside its scope from `repairedKeys`.
        await createToken({ admin: true, source: "extend" }),
        await createToken({ admin: true, company: "acme" }),
      ]) {
        const forbidden = await reproject({}, token, route);
        expect(forbidden.status).toBe(403);
        expect(await errorCode(forbidden)).toBe("forbidden");
      }
    }
  });
});

describe("the repair write", () => {
  it("never takes a row back to an older version: a summary read before a newer one landed leaves it", async () => {
    const jobKey = await stored(`exr_repair_guard_${crypto.randomUUID()}`);
    await eventually(async () => expect(await d1Version(jobKey)).toBe(1));
    const older = (await ledgerSummary(jobKey)) as JobSummary;
    // A repeat delivery: the ledger moves to version 2 and the consumer writes it to D1.
    const id = jobKey.split(":")[2] as string;
    await sendExtend(extendEvent("extract_run.failed", { id }));
    await eventually(async () => expect(await d1Version(jobKey)).toBe(2));
    // The repair of the summary read before it must not put version 1 back.
    const { repaired, ahead } = await repairSummaries(env.DB, [older]);
    expect(repaired).toEqual([]);
    expect(ahead).toEqual([{ jobKey, version: 2 }]);
    expect(await d1Version(jobKey)).toBe(2);
    // Replacing a row claimed to be corrupted happens only while it holds the version seen.
    expect((await replaceIfUnchanged(env.DB, [{ summary: older, seenVersion: 3 }])).repaired).toEqual([]);
    expect(await d1Version(jobKey)).toBe(2);
  });
});
