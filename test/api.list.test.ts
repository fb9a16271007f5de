/**
 * `GET /v1/jobs` and `GET /v1/quarantine` as a client walks them (CONTRACT §5, §3.3 "Consistency"):
 * keyset cursors over `(lastEventAt DESC, jobKey ASC)`, walks while events arrive, every filter,
 * token scopes on the lists, revoked tokens, and quarantine pagination.
 *
 * Storage is shared by the tests of this file, so each test keeps to its own ids and its own span
 * of `occurredAt` (its own year), and checks the whole list where it must (order, no repeats).
 */
import { env, SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { sha256Hex } from "../src/core/digest";
import {
  ALFRED_TOKEN,
  apiGet,
  BASE,
  createToken,
  type ErrorBody,
  extendEvent,
  type QuarantineListBody,
  sendAlfred,
  sendExtend,
} from "./helpers";

interface Summary {
  jobKey: string;
  source: string;
  kind: string;
  id: string;
  status: string;
  companyId: string | null;
  lastEventAt: string;
  eventCount: number;
}

interface ListBody {
  data: Summary[];
  nextCursor: string | null;
}

type QuarantineEntry = QuarantineListBody["data"][number];

const WAIT = { timeout: 5_000, interval: 40 };

let token: string;

beforeAll(async () => {
  token = await createToken();
});

const iso = (ms: number): string => new Date(ms).toISOString();

/** Order of `GET /v1/jobs`: lastEventAt descending, then jobKey ascending. */
function listOrder(a: { jobKey: string; at: number }, b: { jobKey: string; at: number }): number {
  if (a.at !== b.at) return b.at - a.at;
  return a.jobKey < b.jobKey ? -1 : a.jobKey > b.jobKey ? 1 : 0;
}

function expectListOrder(rows: Summary[]): void {
  for (let i = 1; i < rows.length; i++) {
    const before = rows[i - 1] as Summary;
    const after = rows[i] as Summary;
    const compared = listOrder(
      { jobKey: before.jobKey, at: Date.parse(before.lastEventAt) },
      { jobKey: after.jobKey, at: Date.parse(after.lastEventAt) },
    );
    expect(
      compared < 0,
      `${before.jobKey} @${before.lastEventAt} before ${after.jobKey} @${after.lastEventAt}`,
    ).toBe(true);
  }
}

async function getJson<T>(path: string, as = token): Promise<T> {
  const response = await apiGet(path, as);
  const text = await response.text();
  expect(response.status, `GET ${path}: ${text.slice(0, 300)}`).toBe(200);
  return JSON.parse(text) as T;
}

function list(query = "", as = token): Promise<ListBody> {
  return getJson<ListBody>(`/v1/jobs${query === "" ? "" : `?${query}`}`, as);
}

function withCursor(query: string, cursor: string | null): string {
  if (cursor === null) return query;
  const tail = `cursor=${encodeURIComponent(cursor)}`;
  return query === "" ? tail : `${query}&${tail}`;
}

/** Follows nextCursor to the end; `between` runs after each page (not after the last). */
async function walk(
  query: string,
  as = token,
  between?: (page: ListBody, index: number) => Promise<void>,
): Promise<{ pages: ListBody[]; rows: Summary[] }> {
  const pages: ListBody[] = [];
  let cursor: string | null = null;
  do {
    const page: ListBody = await list(withCursor(query, cursor), as);
    pages.push(page);
    cursor = page.nextCursor;
    expect(pages.length, "the walk does not end").toBeLessThan(500);
    if (cursor !== null && between !== undefined) await between(page, pages.length - 1);
  } while (cursor !== null);
  return { pages, rows: pages.flatMap((page) => page.data) };
}

function expectNoRepeats(keys: string[]): void {
  const repeated = keys.filter((key, i) => keys.indexOf(key) !== i);
  expect(repeated, "jobs returned more than once").toEqual([]);
}

/** The exclusive window `(at - 1 ms, at + 1 ms)`: only jobs whose lastEventAt is exactly `at`. */
function exactly(at: number): string {
  return `updatedAfter=${iso(at - 1)}&updatedBefore=${iso(at + 1)}&limit=200`;
}

/** Waits until the list (D1) shows the job with this lastEventAt and eventCount. */
async function waitListed(jobKey: string, at: number, eventCount = 1): Promise<Summary> {
  return vi.waitFor(async () => {
    const job = (await list(exactly(at))).data.find((row) => row.jobKey === jobKey);
    expect(job, `${jobKey} listed at ${iso(at)}`).toBeDefined();
    expect(job?.eventCount).toBe(eventCount);
    return job as Summary;
  }, WAIT);
}

/** Waits until the list shows exactly these jobs in [from, to]. */
async function waitAllListed(keys: string[], from: number, to: number): Promise<void> {
  await vi.waitFor(async () => {
    const { rows } = await walk(`updatedAfter=${iso(from - 1)}&updatedBefore=${iso(to + 1)}&limit=200`);
    const listed = new Set(rows.map((row) => row.jobKey));
    expect(keys.filter((key) => !listed.has(key))).toEqual([]);
  }, WAIT);
}

// ---- deliveries ---------------------------------------------------------------------------------

async function expectStored(response: Response, jobKey: string): Promise<void> {
  const text = await response.text();
  expect(response.status, text).toBe(200);
  expect(JSON.parse(text)).toMatchObject({ jobKey, duplicate: false });
}

/** An Extend run event whose occurredAt is `payload.updatedAt`. */
async function extendRun(
  kind: string,
  id: string,
  at: number,
  outcome: "processed" | "failed" = "processed",
): Promise<string> {
  const jobKey = `extend:${kind}:${id}`;
  const payload = {
    object: kind === "parse_run" ? "parse_run_status" : kind,
    id,
    status: outcome === "processed" ? "PROCESSED" : "FAILED",
    updatedAt: iso(at),
  };
  await expectStored(await sendExtend(extendEvent(`${kind}.${outcome}`, payload)), jobKey);
  return jobKey;
}

/** An Alfred job event whose occurredAt is `event_time` (Unix seconds; `at` must be whole seconds). */
async function alfredJob(
  jobId: string,
  at: number,
  company: string,
  eventName = "job_start_event",
): Promise<string> {
  expect(at % 1000, "Alfred event_time is whole seconds here").toBe(0);
  const jobKey = `alfred:job:${jobId}`;
  await expectStored(
    await sendAlfred({
      event_id: `ev-${crypto.randomUUID()}`,
      event_type: "job_event_type",
      event_time: String(at / 1000),
      event: {
        event_name: eventName,
        company_id: company,
        company_name: `Company ${company}`,
        job_id: jobId,
      },
    }),
    jobKey,
  );
  return jobKey;
}

async function inBatches<T>(tasks: (() => Promise<T>)[], size = 20): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < tasks.length; i += size) {
    out.push(...(await Promise.all(tasks.slice(i, i + size).map((task) => task()))));
  }
  return out;
}

// ---- 1. cursor walk ------------------------------------------------------------------------------

describe("GET /v1/jobs: a cursor walk", () => {
  it("visits 120 jobs exactly once with limit=7, newest lastEventAt first, then jobKey; the last page ends it", async () => {
    const base = Date.UTC(2001, 2, 1, 9, 0, 0);
    const kinds = ["classify_run", "extract_run", "parse_run"];
    // The first 60 jobs come in threes sharing one occurredAt (Extend and Alfred mixed, so ties
    // are broken on jobKey across sources and kinds); the other 60 each have their own.
    const planned = Array.from({ length: 120 }, (_, i) => {
      const at = base + (i < 60 ? Math.floor(i / 3) : i) * 60_000;
      return { i, at };
    });
    const expected = await inBatches(
      planned.map(({ i, at }) => async () => {
        const jobKey =
          i % 2 === 0
            ? await extendRun(kinds[i % 3] as string, `cw_${String(i).padStart(3, "0")}`, at)
            : await alfredJob(`cw-${String(i).padStart(3, "0")}`, at, "cw-company");
        return { jobKey, at };
      }),
    );
    const mine = new Map(expected.map((job) => [job.jobKey, job.at]));
    expect(mine.size).toBe(120);
    const lastAt = base + 119 * 60_000;
    await waitAllListed([...mine.keys()], base, lastAt);

    const { pages, rows } = await walk("limit=7");
    expect(pages.at(-1)?.nextCursor).toBeNull();
    for (const page of pages.slice(0, -1)) {
      expect(page.data).toHaveLength(7);
      expect(page.nextCursor).toEqual(expect.any(String));
    }
    expect((pages.at(-1) as ListBody).data.length).toBeGreaterThan(0);
    expect((pages.at(-1) as ListBody).data.length).toBeLessThanOrEqual(7);
    expectNoRepeats(rows.map((row) => row.jobKey));
    expectListOrder(rows);

    const walked = rows.filter((row) => mine.has(row.jobKey));
    expect(walked.map((row) => row.jobKey)).toEqual([...expected].sort(listOrder).map((job) => job.jobKey));
    for (const row of walked) expect(row.lastEventAt).toBe(iso(mine.get(row.jobKey) as number));
  });

  it("a walk with a filter and a window visits the same jobs in the same order as one page", async () => {
    const window = `updatedAfter=${iso(Date.UTC(2001, 0, 1))}&updatedBefore=${iso(Date.UTC(2002, 0, 1))}`;
    const whole = await list(`${window}&source=alfred&limit=200`);
    expect(whole.data.length).toBe(60);
    expect(whole.nextCursor).toBeNull();
    const { rows } = await walk(`${window}&source=alfred&limit=7`);
    expect(rows.map((row) => row.jobKey)).toEqual(whole.data.map((row) => row.jobKey));
  });
});

// ---- 2. walking while events arrive ----------------------------------------------------------------

describe("GET /v1/jobs: walking while events arrive", () => {
  it("never repeats a job; every job that matched and did not move is visited exactly once", async () => {
    const hour = 3_600_000;
    const base = Date.UTC(2010, 0, 1);
    const window = `updatedAfter=${iso(base - 1)}&updatedBefore=${iso(Date.UTC(2011, 0, 1))}`;
    // 30 jobs, j0 oldest … j29 newest; j18, j19 and j20 share one time, so the boundary after the
    // first page of 10 (j29…j21 and one of j18–j20) falls inside a tie.
    const timeOf = (i: number) => base + (i >= 18 && i <= 20 ? 18 : i) * hour;
    const keyOf = new Map<number, string>();
    const atOf = new Map<string, number>();
    await inBatches(
      Array.from({ length: 30 }, (_, i) => async () => {
        const key =
          i % 3 === 0
            ? await alfredJob(`wl-${i}`, timeOf(i), "wl-company")
            : await extendRun(i % 3 === 1 ? "classify_run" : "split_run", `wl_${i}`, timeOf(i));
        keyOf.set(i, key);
        atOf.set(key, timeOf(i));
      }),
    );
    const start = [...atOf.keys()];
    await waitAllListed(start, base, timeOf(29));
    const atStart = await walk(`${window}&limit=200`);
    expect(atStart.rows.map((row) => row.jobKey).sort()).toEqual([...start].sort());

    // An event for job i at time `at` (same kind of delivery as the job's first).
    const touch = async (i: number, at: number, eventCount: number) => {
      const key = keyOf.get(i) as string;
      const [, kind, id] = key.split(":") as [string, string, string];
      if (key.startsWith("alfred:")) await alfredJob(id, at, "wl-company", "job_stage_update_event");
      else await extendRun(kind, id, at);
      await waitListed(key, Math.max(at, atOf.get(key) as number), eventCount);
      atOf.set(key, Math.max(at, atOf.get(key) as number));
    };
    const fresh: string[] = [];
    const newJob = async (name: string, at: number) => {
      const key = name.startsWith("a")
        ? await alfredJob(`wl-new-${name}`, at, "wl-company")
        : await extendRun("classify_run", `wl_new_${name}`, at);
      await waitListed(key, at);
      fresh.push(key);
    };

    const movedAhead = new Set<string>();
    const visitedBeforeChange = new Set<string>();
    const pageSizes: number[] = [];
    const { rows, pages } = await walk(`${window}&limit=10`, token, async (page, index) => {
      pageSizes.push(page.data.length);
      const onPage = (i: number) => page.data.some((row) => row.jobKey === keyOf.get(i));
      if (index === 0) {
        expect([25, 29, 21].map(onPage)).toEqual([true, true, true]);
        expect([5, 6, 12, 13, 17].map(onPage)).toEqual([false, false, false, false, false]);
        // Page 1 was j29…j21 and one of the tie j18–j20. Visited j25: a newer event; it must not
        // come back.
        await touch(25, base + 100 * hour, 2);
        visitedBeforeChange.add(keyOf.get(25) as string);
        // Not yet visited j5, j6: newer events move them ahead of the walk.
        await touch(5, base + 101 * hour, 2);
        await touch(6, base + 101 * hour, 2);
        movedAhead.add(keyOf.get(5) as string).add(keyOf.get(6) as string);
        // Not yet visited j12, j13: an older event leaves lastEventAt, so their place, as it was.
        await touch(12, timeOf(12) - 30 * 60_000, 2);
        await touch(13, timeOf(13) - 30 * 60_000, 2);
        // Brand-new jobs: one ahead of the walk, one behind it.
        await newJob("a1", base + 102 * hour);
        await newJob("e1", base + 30 * 60_000);
      } else if (index === 1) {
        // Page 2 was the rest of the tie and j17…j10.
        expect([15, 12, 13, 17, 10].map(onPage)).toEqual([true, true, true, true, true]);
        expect([3, 7, 8, 9, 5, 6].map(onPage)).toEqual([false, false, false, false, false, false]);
        await touch(15, base + 103 * hour, 2);
        await touch(25, base + 104 * hour, 3);
        visitedBeforeChange.add(keyOf.get(15) as string);
        await touch(3, base + 105 * hour, 2);
        movedAhead.add(keyOf.get(3) as string);
        await touch(7, timeOf(7) - 60_000, 2);
        await touch(8, timeOf(8) - 10 * 60_000, 2);
        await newJob("e2", base + 106 * hour);
        await newJob("a2", base + 2 * hour + 1000);
      }
    });
    expect(pageSizes.slice(0, 2)).toEqual([10, 10]);
    expect(pages.length).toBeGreaterThanOrEqual(3);
    const keys = rows.map((row) => row.jobKey);
    expectNoRepeats(keys);
    // Each page starts after the last row of the one before, so the whole walk stays in order.
    expectListOrder(rows);

    const counts = new Map<string, number>();
    for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
    for (const key of start) {
      if (movedAhead.has(key)) expect(counts.get(key) ?? 0, key).toBeLessThanOrEqual(1);
      else expect(counts.get(key), `${key} visited once`).toBe(1);
    }
    for (const key of visitedBeforeChange) expect(counts.get(key), key).toBe(1);
    // Jobs with an older event kept their place, and the walk shows the projection with the event.
    for (const i of [12, 13, 7, 8]) {
      const row = rows.find((r) => r.jobKey === keyOf.get(i));
      expect(row, `j${i}`).toMatchObject({ lastEventAt: iso(timeOf(i)), eventCount: 2 });
    }
    expect(fresh).toHaveLength(4);
  });
});

// ---- 3. filters ------------------------------------------------------------------------------------

describe("GET /v1/jobs: filters, alone and combined", () => {
  const t = (s: number) => Date.UTC(2005, 2, 1, 10, 0, s);
  interface Planned {
    jobKey: string;
    source: string;
    kind: string;
    status: string;
    companyId: string | null;
    at: number;
  }
  const planned: Planned[] = [];

  beforeAll(async () => {
    const add = (p: Planned) => planned.push(p);
    add({ ...base("extend", "classify_run", "flt_cls_ok"), status: "succeeded", companyId: null, at: t(0) });
    await extendRun("classify_run", "flt_cls_ok", t(0));
    add({ ...base("extend", "classify_run", "flt_cls_fail"), status: "failed", companyId: null, at: t(1) });
    await extendRun("classify_run", "flt_cls_fail", t(1), "failed");
    add({ ...base("extend", "extract_run", "flt_ext_ok"), status: "succeeded", companyId: null, at: t(2) });
    await extendRun("extract_run", "flt_ext_ok", t(2));
    add({ ...base("alfred", "job", "flt-a-start"), status: "processing", companyId: "flt-co-a", at: t(3) });
    await alfredJob("flt-a-start", t(3), "flt-co-a", "job_start_event");
    add({ ...base("alfred", "job", "flt-a-done"), status: "succeeded", companyId: "flt-co-a", at: t(4) });
    await alfredJob("flt-a-done", t(4), "flt-co-a", "job_finished_event");
    add({ ...base("alfred", "job", "flt-b-new"), status: "pending", companyId: "flt-co-b", at: t(5) });
    await alfredJob("flt-b-new", t(5), "flt-co-b", "job_create_event");
    add({ ...base("alfred", "file", "flt-file-b"), status: "succeeded", companyId: "flt-co-b", at: t(6) });
    await expectStored(
      await sendAlfred({
        event_id: "flt-file-b-done",
        event_type: "file_event_type",
        event_time: String(t(6) / 1000),
        event: { event_name: "file_done_event", company_id: "flt-co-b", file_id: "flt-file-b" },
      }),
      "alfred:file:flt-file-b",
    );
    await waitAllListed(
      planned.map((p) => p.jobKey),
      t(0),
      t(6),
    );
    // What the list shows agrees with what was sent.
    const shown = (await list(`updatedAfter=${iso(t(0) - 1)}&updatedBefore=${iso(t(6) + 1)}&limit=200`)).data;
    for (const p of planned) {
      expect(shown.find((row) => row.jobKey === p.jobKey)).toMatchObject({
        source: p.source,
        kind: p.kind,
        status: p.status,
        companyId: p.companyId,
        lastEventAt: iso(p.at),
      });
    }
  });

  function base(source: string, kind: string, id: string) {
    return { jobKey: `${source}:${kind}:${id}`, source, kind };
  }

  const ms = (row: Summary) => Date.parse(row.lastEventAt);
  const cases: [
    string,
    (row: Pick<Planned, "source" | "kind" | "status" | "companyId"> & { at: number }) => boolean,
  ][] = [
    ["source=extend", (r) => r.source === "extend"],
    ["source=alfred", (r) => r.source === "alfred"],
    ["source=alfred,extend", () => true],
    ["kind=classify_run", (r) => r.kind === "classify_run"],
    ["kind=job", (r) => r.kind === "job"],
    ["kind=extract_run,file", (r) => r.kind === "extract_run" || r.kind === "file"],
    ["status=succeeded", (r) => r.status === "succeeded"],
    ["status=failed,pending", (r) => r.status === "failed" || r.status === "pending"],
    ["company=flt-co-a", (r) => r.companyId === "flt-co-a"],
    ["company=flt-co-a,flt-co-b", (r) => r.companyId === "flt-co-a" || r.companyId === "flt-co-b"],
    // Exclusive bounds on lastEventAt (docs/API.md, "Read API").
    [`updatedAfter=${iso(t(3))}`, (r) => r.at > t(3)],
    [`updatedBefore=${iso(t(3))}`, (r) => r.at < t(3)],
    [`updatedAfter=${iso(t(3) - 1)}`, (r) => r.at >= t(3)],
    [`updatedBefore=${iso(t(3) + 1)}`, (r) => r.at <= t(3)],
    [`updatedAfter=${iso(t(1))}&updatedBefore=${iso(t(5))}`, (r) => r.at > t(1) && r.at < t(5)],
    // The same instant written with an offset.
    ["updatedAfter=2005-03-01T12:00:03%2B02:00", (r) => r.at > t(3)],
    [
      `source=alfred&kind=job&status=processing,succeeded&company=flt-co-a&updatedAfter=${iso(t(0))}`,
      (r) =>
        r.source === "alfred" &&
        r.kind === "job" &&
        (r.status === "processing" || r.status === "succeeded") &&
        r.companyId === "flt-co-a" &&
        r.at > t(0),
    ],
    [
      "source=extend&kind=classify_run&status=failed",
      (r) => r.source === "extend" && r.kind === "classify_run" && r.status === "failed",
    ],
    [
      `status=succeeded&updatedAfter=${iso(t(0))}&updatedBefore=${iso(t(6))}`,
      (r) => r.status === "succeeded" && r.at > t(0) && r.at < t(6),
    ],
  ];

  it.each(cases)("?%s lists exactly the jobs that match", async (query, matches) => {
    const { rows } = await walk(`${query}&limit=200`);
    expectNoRepeats(rows.map((row) => row.jobKey));
    expectListOrder(rows);
    // Everything listed matches (whatever else this file stored) …
    const wrong = rows.filter(
      (row) =>
        !matches({
          source: row.source,
          kind: row.kind,
          status: row.status,
          companyId: row.companyId,
          at: ms(row),
        }),
    );
    expect(wrong.map((row) => row.jobKey)).toEqual([]);
    // … and of the jobs planted here, exactly those that match are listed.
    const listed = new Set(rows.map((row) => row.jobKey));
    const expected = planned.filter((p) => matches(p)).map((p) => p.jobKey);
    expect(planned.filter((p) => listed.has(p.jobKey)).map((p) => p.jobKey)).toEqual(expected);
    expect(expected.length, "the case selects some of the planted jobs").toBeGreaterThan(0);
    if (query !== "source=alfred,extend") {
      expect(expected.length, "the case leaves out some of the planted jobs").toBeLessThan(planned.length);
    }
  });

  it("a filter nothing matches is an empty page, not an error", async () => {
    expect(await list("source=extend&company=flt-co-a")).toEqual({ data: [], nextCursor: null });
    expect(await list(`updatedAfter=${iso(t(6))}&updatedBefore=${iso(t(6) + 1)}`)).toEqual({
      data: [],
      nextCursor: null,
    });
    expect(await list("company=flt-co-nobody")).toEqual({ data: [], nextCursor: null });
  });

  it("limit: 50 by default, at most 200", async () => {
    // At least 205 jobs, whatever ran before.
    const { rows: before } = await walk("limit=200");
    const missing = Math.max(0, 205 - before.length);
    const topUp = Date.UTC(2000, 5, 1);
    const added = await inBatches(
      Array.from({ length: missing }, (_, i) => () => extendRun("parse_run", `lim_${i}`, topUp + i * 1000)),
    );
    if (added.length > 0) await waitAllListed(added, topUp, topUp + (missing - 1) * 1000);
    const { rows: all } = await walk("limit=200");
    expect(all.length).toBeGreaterThanOrEqual(205);

    const firstDefault = await list();
    expect(firstDefault.data).toHaveLength(50);
    expect(firstDefault.nextCursor).toEqual(expect.any(String));
    const max = await list("limit=200");
    expect(max.data).toHaveLength(200);
    expect(max.nextCursor).toEqual(expect.any(String));
    expect(firstDefault.data.map((row) => row.jobKey)).toEqual(
      max.data.slice(0, 50).map((row) => row.jobKey),
    );
    expect(max.data.map((row) => row.jobKey)).toEqual(all.slice(0, 200).map((row) => row.jobKey));
    const one = await list("limit=1");
    expect(one.data.map((row) => row.jobKey)).toEqual([all[0]?.jobKey]);

    const over = await apiGet("/v1/jobs?limit=201", token);
    expect(over.status).toBe(400);
    expect(((await over.json()) as ErrorBody).error.code).toBe("invalid_request");
  });
});

// ---- 4. token scopes on the lists -------------------------------------------------------------------

describe("token scopes on the lists", () => {
  const at = Date.UTC(2006, 4, 1, 8, 0, 0);
  let companyA: string;
  let companyB: string;
  let extendJob: string;
  let quarantineExtend: string;
  let quarantineAlfred: string;

  async function quarantined(response: Response): Promise<string> {
    const text = await response.text();
    expect(response.status, text).toBe(202);
    return (JSON.parse(text) as { quarantineId: string }).quarantineId;
  }

  beforeAll(async () => {
    companyA = await alfredJob("scp-a", at, "scp-co-a");
    companyB = await alfredJob("scp-b", at + 1000, "scp-co-b");
    extendJob = await extendRun("classify_run", "scp_ext", at + 2000);
    quarantineExtend = await quarantined(await sendExtend("not json: scope extend"));
    quarantineAlfred = await quarantined(await sendAlfred("not json: scope alfred", ALFRED_TOKEN));
    // Listed for an unscoped token first, so what a scoped token does not list is not vacuous.
    await waitAllListed([companyA, companyB, extendJob], at, at + 2000);
    const unscopedQuarantine = (await walkQuarantine("limit=200", token)).map((entry) => entry.id);
    expect(unscopedQuarantine).toEqual(expect.arrayContaining([quarantineExtend, quarantineAlfred]));
  });

  it("a company-scoped token lists only that company's Alfred jobs, never an Extend job", async () => {
    const scoped = await createToken({ company: "scp-co-a" });
    const { rows } = await walk("limit=200", scoped);
    const keys = rows.map((row) => row.jobKey);
    expect(keys).toContain(companyA);
    expect(keys).not.toContain(companyB);
    expect(keys).not.toContain(extendJob);
    expect(rows.filter((row) => row.source !== "alfred" || row.companyId !== "scp-co-a")).toEqual([]);

    expect(await list("source=extend", scoped)).toEqual({ data: [], nextCursor: null });
    expect(await list("source=extend&limit=200", scoped)).toEqual({ data: [], nextCursor: null });
    expect(await list("company=scp-co-b", scoped)).toEqual({ data: [], nextCursor: null });
    expect(
      (await list("source=alfred&company=scp-co-a&limit=200", scoped)).data.map((r) => r.jobKey),
    ).toContain(companyA);
    expect((await list("source=alfred,extend&limit=200", scoped)).data.map((r) => r.jobKey)).not.toContain(
      extendJob,
    );
  });

  it("a source-scoped token lists only that source", async () => {
    const extendOnly = await createToken({ source: "extend" });
    const extendRows = (await walk("limit=200", extendOnly)).rows;
    expect(extendRows.map((row) => row.jobKey)).toContain(extendJob);
    expect(extendRows.filter((row) => row.source !== "extend")).toEqual([]);
    expect(await list("source=alfred", extendOnly)).toEqual({ data: [], nextCursor: null });
    expect(await list("company=scp-co-a", extendOnly)).toEqual({ data: [], nextCursor: null });

    const alfredOnly = await createToken({ source: "alfred" });
    const alfredRows = (await walk("limit=200", alfredOnly)).rows;
    expect(alfredRows.map((row) => row.jobKey)).toEqual(expect.arrayContaining([companyA, companyB]));
    expect(alfredRows.filter((row) => row.source !== "alfred")).toEqual([]);
    expect(await list("source=extend", alfredOnly)).toEqual({ data: [], nextCursor: null });
  });

  it("a company-scoped token sees no quarantine: an empty list and 404 on an id", async () => {
    const scoped = await createToken({ company: "scp-co-a" });
    expect(await getJson("/v1/quarantine", scoped)).toEqual({ data: [], nextCursor: null });
    expect(await getJson("/v1/quarantine?source=alfred", scoped)).toEqual({ data: [], nextCursor: null });
    for (const id of [quarantineExtend, quarantineAlfred]) {
      const response = await apiGet(`/v1/quarantine/${id}`, scoped);
      expect(response.status, id).toBe(404);
      expect(((await response.json()) as ErrorBody).error.code).toBe("not_found");
    }
  });

  it.each([
    ["extend", () => quarantineExtend, () => quarantineAlfred, "not json: scope extend"],
    ["alfred", () => quarantineAlfred, () => quarantineExtend, "not json: scope alfred"],
  ])("a %s-scoped token sees only its source's quarantine", async (source, own, other, body) => {
    const scoped = await createToken({ source });
    const entries = await walkQuarantine("limit=200", scoped);
    const ids = entries.map((entry) => entry.id);
    expect(ids).toContain(own());
    expect(ids).not.toContain(other());
    expect(entries.filter((entry) => entry.source !== source)).toEqual([]);
    const otherSource = source === "extend" ? "alfred" : "extend";
    expect(await getJson(`/v1/quarantine?source=${otherSource}`, scoped)).toEqual({
      data: [],
      nextCursor: null,
    });

    const mine = await apiGet(`/v1/quarantine/${own()}`, scoped);
    expect(mine.status).toBe(200);
    expect(await mine.text()).toBe(body);
    const theirs = await apiGet(`/v1/quarantine/${other()}`, scoped);
    expect(theirs.status).toBe(404);
    expect(((await theirs.json()) as ErrorBody).error.code).toBe("not_found");
  });
});

// ---- 5. revoked tokens ----------------------------------------------------------------------------

describe("a revoked token", () => {
  it("is 401 unauthorized on every /v1 route, at once; other tokens keep working", async () => {
    const at = Date.UTC(2007, 0, 1);
    const eventId = "evt_revoked_1";
    const response = await sendExtend(
      extendEvent(
        "classify_run.processed",
        { object: "classify_run", id: "clr_revoked", status: "PROCESSED", updatedAt: iso(at) },
        eventId,
      ),
    );
    await expectStored(response, "extend:classify_run:clr_revoked");
    const quarantined = await sendExtend("not json: revoked");
    expect(quarantined.status).toBe(202);
    const quarantineId = ((await quarantined.json()) as { quarantineId: string }).quarantineId;
    const jobKey = "extend:classify_run:clr_revoked";
    const routes: [string, number][] = [
      ["/v1/jobs", 200],
      ["/v1/jobs?source=extend&limit=5", 200],
      [`/v1/jobs/${jobKey}`, 200],
      [`/v1/jobs/${encodeURIComponent(jobKey)}`, 200],
      [`/v1/jobs/${jobKey}/events/${eventId}`, 200],
      ["/v1/jobs/extend:classify_run:clr_revoked_nobody", 404],
      ["/v1/quarantine", 200],
      [`/v1/quarantine/${quarantineId}`, 200],
      ["/v1/quarantine/q_nobody", 404],
    ];

    const revoked = await createToken({ source: "extend" });
    const other = await createToken({ source: "extend" });
    for (const [route, status] of routes) {
      const live = await apiGet(route, revoked);
      await live.body?.cancel();
      expect(live.status, `${route} before revoking`).toBe(status);
    }

    await env.DB.prepare("UPDATE tokens SET revoked_at = ? WHERE token_hash = ?")
      .bind(new Date().toISOString(), await sha256Hex(revoked))
      .run();

    for (const [route] of [...routes, ["/v1/nope", 404] as [string, number]]) {
      const answer = await SELF.fetch(`${BASE}${route}`, { headers: { authorization: `Bearer ${revoked}` } });
      const text = await answer.text();
      expect(answer.status, `${route}: ${text.slice(0, 300)}`).toBe(401);
      expect(answer.headers.get("content-type")).toMatch(/^application\/json/);
      expect(JSON.parse(text)).toEqual({ error: { code: "unauthorized", message: expect.any(String) } });
    }
    for (const [route, status] of routes) {
      const live = await apiGet(route, other);
      await live.body?.cancel();
      expect(live.status, `${route} with another token`).toBe(status);
    }
  });
});

// ---- 6. quarantine pagination -----------------------------------------------------------------------

async function walkQuarantine(query: string, as: string): Promise<QuarantineEntry[]> {
  const entries: QuarantineEntry[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: QuarantineListBody = await getJson<QuarantineListBody>(
      `/v1/quarantine?${withCursor(query, cursor)}`,
      as,
    );
    entries.push(...page.data);
    cursor = page.nextCursor;
    expect(++pages, "the walk does not end").toBeLessThan(500);
  } while (cursor !== null);
  return entries;
}

describe("GET /v1/quarantine: pagination", () => {
  it("walks 12 entries with limit=5: each once, newest first (receivedAt, then id, descending)", async () => {
    // Two bursts of six concurrent deliveries: entries of one burst often share a millisecond, so
    // the tie-break on id is exercised; the second burst is received after the first.
    const sent: { id: string; body: string; burst: number }[] = [];
    for (const burst of [0, 1]) {
      const answers = await Promise.all(
        Array.from({ length: 6 }, async (_, k) => {
          const n = burst * 6 + k;
          const body = `not json ${n} (pagination)`;
          const response = n % 4 === 3 ? await sendAlfred(body) : await sendExtend(body);
          const text = await response.text();
          expect(response.status, text).toBe(202);
          return { id: (JSON.parse(text) as { quarantineId: string }).quarantineId, body, burst };
        }),
      );
      sent.push(...answers);
    }
    expect(new Set(sent.map((entry) => entry.id)).size).toBe(12);

    const pages: QuarantineListBody[] = [];
    let cursor: string | null = null;
    do {
      const page: QuarantineListBody = await getJson<QuarantineListBody>(
        `/v1/quarantine?${withCursor("limit=5", cursor)}`,
      );
      pages.push(page);
      cursor = page.nextCursor;
      expect(pages.length).toBeLessThan(100);
    } while (cursor !== null);
    for (const page of pages.slice(0, -1)) expect(page.data).toHaveLength(5);
    expect(pages.at(-1)?.nextCursor).toBeNull();
    const entries = pages.flatMap((page) => page.data);
    const ids = entries.map((entry) => entry.id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    for (const { id } of sent)
      expect(
        ids.filter((other) => other === id),
        id,
      ).toHaveLength(1);

    for (let i = 1; i < entries.length; i++) {
      const newer = entries[i - 1] as QuarantineEntry;
      const older = entries[i] as QuarantineEntry;
      const a = Date.parse(newer.receivedAt);
      const b = Date.parse(older.receivedAt);
      expect(a, `${newer.id} before ${older.id}`).toBeGreaterThanOrEqual(b);
      if (a === b) expect(newer.id > older.id, `${newer.id} before ${older.id} (same ms)`).toBe(true);
    }
    // Every entry of the second burst is listed before every entry of the first.
    const position = new Map(ids.map((id, i) => [id, i]));
    const lastOfSecond = Math.max(
      ...sent.filter((e) => e.burst === 1).map((e) => position.get(e.id) as number),
    );
    const firstOfFirst = Math.min(
      ...sent.filter((e) => e.burst === 0).map((e) => position.get(e.id) as number),
    );
    expect(lastOfSecond).toBeLessThan(firstOfFirst);
    // Sources and sizes are those of what was sent.
    for (const { id, body } of sent) {
      const n = Number(body.split(" ")[2]);
      expect(entries.find((e) => e.id === id)).toMatchObject({
        source: n % 4 === 3 ? "alfred" : "extend",
        size: body.length,
      });
    }
  });
});
