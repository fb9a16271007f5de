/**
 * Bounded job details (CONTRACT §5, docs/API.md, "Read API"): a job's history and files come a page at a
 * time, each answer under 1 MB and each page capped in entries, and walking the cursors gives every
 * entry exactly once, in order — also when a late old event lands mid-walk. Files' statuses are
 * pushed by the files' own ledgers, so a job's detail asks no file for its status.
 *
 * Big jobs are written straight into their real ledger (its `ingest` and `linkFile`, the methods
 * the Worker and the files' ledgers call), not through 10,000 webhook deliveries: the storage, the
 * ordering and the reads are the real ones; the read side goes through the Worker.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import * as v from "valibot";
import { beforeAll, describe, expect, it } from "vitest";
import { jobDetailSchema } from "../src/core/summary";
import { type NormalizedEvent, STATUSES } from "../src/core/vocabulary";
import { storedEvent } from "../src/ledger/bounds";
import type { JobLedger, LinkedLedger } from "../src/ledger/job-ledger";
import { FILES_PAGE, HISTORY_PAGE, HISTORY_WHOLE } from "../src/ledger/pages";
import { alfredEvent } from "./fixtures/alfred/events";
import { apiGet, createToken, errorCode, type JobDetailBody, jobDetail, sendAlfredStored } from "./helpers";

/** The bound of the issue: one answer of the detail stays under 1 MB, however big the job. */
const MAX_ANSWER_BYTES = 1_000_000;
const T0 = Date.UTC(2026, 0, 1);

type Page = JobDetailBody & { historyNextCursor?: string; filesNextCursor?: string };

let token: string;
beforeAll(async () => {
  token = await createToken();
});

function ledger(jobKey: string): DurableObjectStub<JobLedger> {
  return env.JOBS.get(env.JOBS.idFromName(jobKey));
}

/** A workflow run's step event at `occurredAt`, as the Extend adapter would hand it to the ledger. */
function stepEvent(
  runId: string,
  eventId: string,
  occurredAt: number,
  summary: Record<string, unknown> = {},
): NormalizedEvent {
  return {
    source: "extend",
    kind: "workflow_run",
    id: runId,
    jobKey: `extend:workflow_run:${runId}`,
    eventId,
    eventType: "workflow_run.step_run.processed",
    status: "processing",
    vendorStatus: "PROCESSED",
    terminal: false,
    rank: 1,
    occurredAt,
    receivedAt: Date.now(),
    companyId: null,
    companyName: null,
    name: null,
    stage: null,
    retries: null,
    failure: null,
    summary: { stepRunId: eventId, ...summary },
    linkToJob: null,
    role: "job",
  };
}

/** Stores events in the job's ledger in one call, in the order given, cut to size as the gateway does. */
async function storeAll(jobKey: string, events: NormalizedEvent[]): Promise<void> {
  const raw = new TextEncoder().encode("{}").buffer as ArrayBuffer;
  await runInDurableObject(ledger(jobKey), async (instance) => {
    for (const event of events) await instance.ingest(storedEvent(event, event.occurredAt), raw);
  });
}

/** One answer of the detail: its parsed body and its size in bytes; the bound is asserted here. */
async function readPage(jobKey: string, query: string): Promise<Page> {
  const response = await apiGet(`/v1/jobs/${encodeURIComponent(jobKey)}${query}`, token);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const text = new TextDecoder().decode(bytes);
  expect(response.status, text.slice(0, 300)).toBe(200);
  expect(bytes.byteLength).toBeLessThanOrEqual(MAX_ANSWER_BYTES);
  return JSON.parse(text) as Page;
}

/**
 * Walks the history from the first page to the last, checking each page's cap. `between` runs
 * after each page is read, before the next is asked for.
 */
async function walkHistory(
  jobKey: string,
  limit: number | null,
  between: (pages: number) => Promise<void> = async () => undefined,
): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const params = new URLSearchParams();
    if (limit !== null) params.set("historyLimit", String(limit));
    if (cursor !== undefined) params.set("historyCursor", cursor);
    const page = await readPage(jobKey, params.toString() === "" ? "" : `?${params}`);
    expect(page.history.length).toBeLessThanOrEqual(limit ?? HISTORY_PAGE);
    expect(page.history.length).toBeGreaterThan(0);
    ids.push(...page.history.map((entry) => entry.eventId));
    cursor = page.historyNextCursor;
    pages += 1;
    await between(pages);
  } while (cursor !== undefined);
  return { ids, pages };
}

describe("a job's history a page at a time", () => {
  it("a job of 10,000 events: each answer under 1 MB and 500 entries; the pages hold every entry once, in order", async () => {
    const runId = "wr_pages_10k";
    const jobKey = `extend:workflow_run:${runId}`;
    const count = 10_000;
    // Stored in a scrambled order (7919 is prime to 10,000), so arrival is not history order.
    const events = Array.from({ length: count }, (_, i) => {
      const index = (i * 7919) % count;
      return stepEvent(runId, `evt_${index}`, T0 + index * 10);
    });
    await storeAll(jobKey, events);

    const first = await readPage(jobKey, "");
    expect(first).toMatchObject({ eventCount: count, deliveryCount: count, status: "processing" });
    expect(first.history).toHaveLength(HISTORY_PAGE);
    expect(first.historyNextCursor).toEqual(expect.any(String));
    // The documented shape, cursor included (src/api/schemas.ts is what /openapi.json describes).
    expect(v.safeParse(jobDetailSchema, first).issues).toBeUndefined();

    const walk = await walkHistory(jobKey, null);
    expect(walk.pages).toBe(count / HISTORY_PAGE);
    expect(walk.ids).toEqual(Array.from({ length: count }, (_, index) => `evt_${index}`));
  });

  it("a late old event during a walk: nothing twice, nothing out of order; it is in its place in the next walk", async () => {
    const runId = "wr_pages_late";
    const jobKey = `extend:workflow_run:${runId}`;
    const count = 1_000;
    await storeAll(
      jobKey,
      Array.from({ length: count }, (_, index) => stepEvent(runId, `evt_${index}`, T0 + index * 10)),
    );
    const walk = await walkHistory(jobKey, 100, async (pages) => {
      if (pages !== 3) return;
      // After three pages (entries 0–299): one event lands behind the cursor (between entries 5
      // and 6), one ahead of it (between 700 and 701).
      await storeAll(jobKey, [
        stepEvent(runId, "evt_late_behind", T0 + 55),
        stepEvent(runId, "evt_late_ahead", T0 + 7005),
      ]);
    });
    const original = Array.from({ length: count }, (_, index) => `evt_${index}`);
    // Offsets would have shifted by one and repeated entry 299; the keyset walk does not.
    expect(walk.ids).toEqual([...original.slice(0, 701), "evt_late_ahead", ...original.slice(701)]);
    expect(new Set(walk.ids).size).toBe(walk.ids.length);
    // The summary tells the walker something landed behind its cursor: one more event than it saw.
    expect((await readPage(jobKey, "?historyLimit=1")).eventCount).toBe(walk.ids.length + 1);

    const again = await walkHistory(jobKey, 100);
    expect(again.ids).toEqual([
      ...original.slice(0, 6),
      "evt_late_behind",
      ...original.slice(6, 701),
      "evt_late_ahead",
      ...original.slice(701),
    ]);
  });

  it("big entries: a job of more than 100 is cut by bytes; a job of 100 gets them all (CONTRACT §5)", async () => {
    // Each summary is ~15,000 three-byte characters: ~45 KB of JSON per entry.
    const big = (i: number) =>
      Object.fromEntries(Array.from({ length: 15 }, (_, k) => [`part${k}`, `${i}${"中".repeat(999)}`]));
    const overRun = "wr_pages_big";
    // The summary as big as it gets: a failure of NULs, each 6 bytes of JSON (\u0000), and a name.
    const failed: NormalizedEvent = {
      ...stepEvent(overRun, "evt_failed", T0 + 120 * 10, big(120)),
      eventType: "workflow_run.failed",
      status: "failed",
      terminal: true,
      rank: 9,
      name: "\u0000".repeat(5_000),
      failure: {
        reason: "\u0000".repeat(5_000),
        messages: Array.from({ length: 20 }, () => "\u0000".repeat(5_000)),
      },
    };
    await storeAll(`extend:workflow_run:${overRun}`, [
      ...Array.from({ length: 120 }, (_, index) =>
        stepEvent(overRun, `evt_${index}`, T0 + index * 10, big(index)),
      ),
      failed,
    ]);
    const first = await readPage(`extend:workflow_run:${overRun}`, "");
    expect(first.status).toBe("failed");
    expect(JSON.stringify(first.failure).length).toBeGreaterThan(100_000);
    const walk = await walkHistory(`extend:workflow_run:${overRun}`, null);
    expect(walk.ids).toEqual([...Array.from({ length: 120 }, (_, index) => `evt_${index}`), "evt_failed"]);
    expect(walk.pages).toBeGreaterThan(1);

    const wholeRun = "wr_pages_big_100";
    await storeAll(
      `extend:workflow_run:${wholeRun}`,
      Array.from({ length: HISTORY_WHOLE }, (_, index) =>
        stepEvent(wholeRun, `evt_${index}`, T0 + index * 10, big(index)),
      ),
    );
    const whole = await jobDetail<Page>(`extend:workflow_run:${wholeRun}`, token);
    expect(whole.history).toHaveLength(HISTORY_WHOLE);
    expect(whole).not.toHaveProperty("historyNextCursor");
    expect(whole.history[0]?.summary.part0).toBe(`0${"中".repeat(999)}`);
  });

  it("a job that fits one page has no cursor fields: the detail's shape is as it always was", async () => {
    const runId = "wr_pages_small";
    await storeAll(
      `extend:workflow_run:${runId}`,
      Array.from({ length: 3 }, (_, index) => stepEvent(runId, `evt_${index}`, T0 + index)),
    );
    const detail = await jobDetail<Page>(`extend:workflow_run:${runId}`, token);
    expect(detail.history.map((entry) => entry.eventId)).toEqual(["evt_0", "evt_1", "evt_2"]);
    expect(detail).not.toHaveProperty("historyNextCursor");
    expect(detail).not.toHaveProperty("filesNextCursor");
    expect(detail.files).toEqual([]);
  });

  it("bad page parameters are 400 invalid_request; a cursor of one list is refused by another", async () => {
    const runId = "wr_pages_params";
    const jobKey = `extend:workflow_run:${runId}`;
    await storeAll(
      jobKey,
      Array.from({ length: 3 }, (_, index) => stepEvent(runId, `evt_${index}`, T0 + index)),
    );
    const path = `/v1/jobs/${encodeURIComponent(jobKey)}`;
    const historyCursor = (await readPage(jobKey, "?historyLimit=1")).historyNextCursor ?? "";
    const listCursor = btoa(JSON.stringify({ t: 1, k: "x" })).replace(/=+$/, "");
    const filesCursor = btoa(JSON.stringify({ f: "alfred:file:x" })).replace(/=+$/, "");
    for (const query of [
      "?historyCursor=not-a-cursor",
      "?historyCursor=",
      `?historyCursor=${listCursor}`,
      `?historyCursor=${filesCursor}`,
      `?filesCursor=${historyCursor}`,
      "?historyLimit=0",
      "?historyLimit=1001",
      "?historyLimit=ten",
      "?historyCursr=x",
      "?historyLimit=5&historyLimit=6",
    ]) {
      const response = await apiGet(`${path}${query}`, token);
      expect(response.status, query).toBe(400);
      expect(await errorCode(response), query).toBe("invalid_request");
    }
    const second = await readPage(jobKey, `?historyLimit=1&historyCursor=${historyCursor}`);
    expect(second.history.map((entry) => entry.eventId)).toEqual(["evt_1"]);
  });
});

describe("a job's files: statuses pushed by the files, a page at a time", () => {
  /** Replaces a ledger's way to other ledgers with one that counts calls and answers none. */
  async function cutOff(jobKey: string): Promise<{ calls: number }> {
    const counter = { calls: 0 };
    await runInDurableObject(ledger(jobKey), (instance) => {
      const refuse = (): Promise<never> => {
        counter.calls += 1;
        return Promise.reject(new Error("no file may be asked"));
      };
      instance.linkedLedger = (): LinkedLedger => ({ admitFile: refuse, linkFile: refuse, brief: refuse });
    });
    return counter;
  }

  it("a job with 1,000 linked files: pages under 1 MB and 500 files, each file once, no file asked", async () => {
    const jobKey = "alfred:job:pages-1000-files";
    await sendAlfredStored(alfredEvent("job_create", { jobId: "pages-1000-files", time: T0 / 1000 }));
    const fileKey = (i: number) => `alfred:file:pages-file-${String(i).padStart(4, "0")}`;
    const statusOf = (i: number) => STATUSES[i % STATUSES.length] ?? "pending";
    // What each file's ledger sends when it is linked (pushed status, file version 1).
    await runInDurableObject(ledger(jobKey), async (instance) => {
      for (let i = 999; i >= 0; i--) {
        await instance.linkFile(fileKey(i), T0 + i, jobKey, { status: statusOf(i), version: 1 });
      }
    });
    const asked = await cutOff(jobKey);

    const files: { jobKey: string; status: string | null }[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await readPage(jobKey, cursor === undefined ? "" : `?filesCursor=${cursor}`);
      expect(page.files?.length).toBeLessThanOrEqual(FILES_PAGE);
      files.push(...(page.files ?? []));
      cursor = page.filesNextCursor;
      pages += 1;
    } while (cursor !== undefined);
    expect(pages).toBe(1000 / FILES_PAGE);
    expect(files).toEqual(
      Array.from({ length: 1000 }, (_, i) => ({ jobKey: fileKey(i), status: statusOf(i) })),
    );
    expect(asked.calls).toBe(0);
  });

  it("a file's status changes after linking: the job's detail shows it without asking the file", async () => {
    const jobKey = "alfred:job:push-job";
    const fileKey = "alfred:file:push-file";
    await sendAlfredStored(alfredEvent("job_create", { jobId: "push-job", time: 1710000000 }));
    await sendAlfredStored(
      alfredEvent("file_add_to_job", { fileId: "push-file", jobId: "push-job", time: 1710000001 }),
    );
    expect((await jobDetail(jobKey, token)).files).toEqual([{ jobKey: fileKey, status: "pending" }]);
    const asked = await cutOff(jobKey);

    await sendAlfredStored(
      alfredEvent("file_status_update", { fileId: "push-file", time: 1710000002, fileStatus: "ocr" }),
    );
    expect((await jobDetail(jobKey, token)).files).toEqual([{ jobKey: fileKey, status: "processing" }]);
    await sendAlfredStored(alfredEvent("file_done", { fileId: "push-file", time: 1710000003 }));
    expect((await jobDetail(jobKey, token)).files).toEqual([{ jobKey: fileKey, status: "succeeded" }]);
    expect(asked.calls).toBe(0);

    // An older push (a lower file version, say one retried late) does not move the status back.
    await ledger(jobKey).linkFile(fileKey, 0, jobKey, { status: "processing", version: 1 });
    expect((await jobDetail(jobKey, token)).files).toEqual([{ jobKey: fileKey, status: "succeeded" }]);
  });

  it("a push that fails is retried by the file's alarm until the job has it", async () => {
    const jobKey = "alfred:job:push-retry-job";
    const fileKey = "alfred:file:push-retry-file";
    await sendAlfredStored(
      alfredEvent("file_add_to_job", {
        fileId: "push-retry-file",
        jobId: "push-retry-job",
        time: 1710000000,
      }),
    );
    const refused = await cutOff(fileKey);
    await sendAlfredStored(alfredEvent("file_failed", { fileId: "push-retry-file", time: 1710000001 }));
    expect(refused.calls).toBeGreaterThan(0);
    expect((await ledger(fileKey).projectionState()).pendingLinks).toBeGreaterThan(0);
    expect((await jobDetail(jobKey, token)).files).toEqual([{ jobKey: fileKey, status: "pending" }]);

    await runInDurableObject(ledger(fileKey), (instance) => {
      instance.linkedLedger = (key) => env.JOBS.get(env.JOBS.idFromName(key));
    });
    // The retry the failed push armed, run now rather than waited for.
    expect(await runDurableObjectAlarm(ledger(fileKey))).toBe(true);
    expect((await ledger(fileKey).projectionState()).pendingLinks).toBe(0);
    expect((await jobDetail(jobKey, token)).files).toEqual([{ jobKey: fileKey, status: "failed" }]);
  });

  it("a file linked before statuses were pushed (schema v5) is asked once, then read from the job", async () => {
    const jobKey = "alfred:job:legacy-link-job";
    const fileKey = "alfred:file:legacy-link-file";
    await sendAlfredStored(alfredEvent("job_create", { jobId: "legacy-link-job", time: 1710000000 }));
    await sendAlfredStored(alfredEvent("file_done", { fileId: "legacy-link-file", time: 1710000001 }));
    // The link row as the code before pushes wrote it: no status of its own.
    await runInDurableObject(ledger(jobKey), (_, state) => {
      state.storage.sql.exec(
        "INSERT INTO links (rel, job_key, occurred_at) VALUES ('file', ?, ?)",
        fileKey,
        1710000001000,
      );
    });
    expect((await jobDetail(jobKey, token)).files).toEqual([{ jobKey: fileKey, status: "succeeded" }]);
    const asked = await cutOff(jobKey);
    expect((await jobDetail(jobKey, token)).files).toEqual([{ jobKey: fileKey, status: "succeeded" }]);
    expect(asked.calls).toBe(0);
  });
});
