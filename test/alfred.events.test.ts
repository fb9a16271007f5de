/**
 * Every Alfred event parses and lands on the right key with the right status (CONTRACT §3.2, §4):
 * the 24 job and file events × 3 spellings of `event_name` × string-typed and native values, and the
 * verbatim docs examples of vendors/alfred.md.
 */
import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import fileExtractedDataCreate from "./fixtures/alfred/docs/file-extracted-data-create.json?raw";
import fileExtractedDataDelete from "./fixtures/alfred/docs/file-extracted-data-delete.json?raw";
import filePropertyCreate from "./fixtures/alfred/docs/file-property-create.json?raw";
import filePropertyDelete from "./fixtures/alfred/docs/file-property-delete.json?raw";
import jobFailedParsed from "./fixtures/alfred/docs/job-failed.json";
import jobFailed from "./fixtures/alfred/docs/job-failed.json?raw";
import jobFinished from "./fixtures/alfred/docs/job-finished.json?raw";
import jobStageUpdate from "./fixtures/alfred/docs/job-stage-update.json?raw";
import jobStart from "./fixtures/alfred/docs/job-start.json?raw";
import {
  ALL_EVENTS,
  type AlfredEventName,
  alfredEvent,
  type BuildOptions,
  expectedKey,
  FILE_LOG_ONLY,
  isJobEvent,
  SPELLINGS,
  TYPINGS,
  wireName,
} from "./fixtures/alfred/events";
import {
  BASE,
  createToken,
  eventually,
  type JobDetailBody,
  jobDetail,
  sendAlfred,
  sendAlfredStored,
} from "./helpers";

let token: string;
beforeAll(async () => {
  token = await createToken();
});

function iso(seconds: number): string {
  return new Date(Math.round(seconds * 1000)).toISOString();
}

const ERRORS = ["Network connectivity issues", "Database timeout error"];

interface Expected {
  status: string | null;
  terminal: boolean;
  /** Asserted when given. */
  vendorStatus?: string;
  stage?: string | null;
  retries?: number | null;
  failureMessages?: string[] | null;
}

/** What the job's detail shows after this one event (the builder's defaults). */
const EXPECTED: Record<AlfredEventName, Expected> = {
  job_create: {
    status: "pending",
    terminal: false,
    vendorStatus: "job_create",
    stage: null,
    retries: null,
    failureMessages: null,
  },
  job_start: {
    status: "processing",
    terminal: false,
    vendorStatus: "job_start",
    stage: null,
    retries: null,
    failureMessages: null,
  },
  job_stage_update: {
    status: "processing",
    terminal: false,
    vendorStatus: "downloading",
    stage: "downloading",
    retries: null,
    failureMessages: null,
  },
  job_retry: {
    status: "processing",
    terminal: false,
    vendorStatus: "job_retry",
    stage: null,
    retries: 1,
    failureMessages: null,
  },
  job_failed: {
    status: "failed",
    terminal: false,
    vendorStatus: "job_failed",
    stage: null,
    retries: 3,
    failureMessages: ERRORS,
  },
  job_exceeded_retries: {
    status: "failed",
    terminal: true,
    vendorStatus: "job_exceeded_retries",
    stage: null,
    retries: 3,
    failureMessages: ERRORS,
  },
  job_invalid: {
    status: "failed",
    terminal: true,
    vendorStatus: "job_invalid",
    stage: null,
    retries: 3,
    failureMessages: ERRORS,
  },
  job_finished: {
    status: "succeeded",
    terminal: true,
    vendorStatus: "job_finished",
    stage: null,
    retries: null,
    failureMessages: null,
  },
  file_add_to_job: { status: null, terminal: false },
  file_category_create: { status: null, terminal: false },
  file_category_delete: { status: null, terminal: false },
  file_change_tag: { status: null, terminal: false },
  file_done: { status: "succeeded", terminal: true },
  file_extracted_data_create: { status: null, terminal: false },
  file_extracted_data_delete: { status: null, terminal: false },
  file_failed: { status: "failed", terminal: true },
  file_move: { status: null, terminal: false },
  file_move_to_pending: { status: null, terminal: false },
  file_move_to_recycle_bin: { status: "deleted", terminal: true },
  file_property_create: { status: null, terminal: false },
  file_property_delete: { status: null, terminal: false },
  file_remove_tag: { status: null, terminal: false },
  file_status_update: { status: "processing", terminal: false, vendorStatus: "classifying" },
  file_update: { status: null, terminal: false },
};

describe("all 24 Alfred events × 3 spellings × string/native values", () => {
  const cases = ALL_EVENTS.flatMap((name, index) =>
    SPELLINGS.flatMap((spelling) => TYPINGS.map((typed) => ({ name, spelling, typed, index }))),
  );

  it.each(cases)("$name spelt $spelling with $typed values", async ({ name, spelling, typed, index }) => {
    const tag = `${name}-${spelling}-${typed}`;
    // Distinct seconds per event; string times keep two decimals, native times carry a fraction.
    const time = 1653139800 + index * 60 + (typed === "strings" ? 0.25 : 0.5);
    const options: BuildOptions = {
      spelling,
      typed,
      time,
      jobId: `job-${tag}`,
      fileId: `file-${tag}`,
      fileLogId: `filelog-${tag}`,
      companyId: `co-${tag}`,
      companyName: `Company ${tag}`,
    };
    const body = alfredEvent(name, options);
    expect(body.event.event_name).toBe(wireName(name, spelling));
    if (typed === "strings") expect(typeof body.event_time).toBe("string");
    const jobKey = expectedKey(name, options);

    const response = await sendAlfred(body);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, eventId: body.event_id, jobKey, duplicate: false });

    const expected = EXPECTED[name];
    const job = await jobDetail(jobKey, token);
    const [, kind, id] = jobKey.split(":");
    expect(job).toMatchObject({
      jobKey,
      source: "alfred",
      kind,
      id,
      // A history-only event leaves a new job at the default status.
      status: expected.status ?? "pending",
      terminal: expected.terminal,
      companyId: `co-${tag}`,
      companyName: `Company ${tag}`,
      firstEventAt: iso(time),
      lastEventAt: iso(time),
      eventCount: 1,
      deliveryCount: 1,
    });
    // With no status-bearing event, the job's vendorStatus is the latest event's type.
    if (expected.status === null) expect(job.vendorStatus).toBe(name);
    if (expected.vendorStatus !== undefined) expect(job.vendorStatus).toBe(expected.vendorStatus);
    if (expected.stage !== undefined) expect(job.stage).toBe(expected.stage);
    if (expected.retries !== undefined) expect(job.retries).toBe(expected.retries);
    if (expected.failureMessages === null) expect(job.failure).toBeNull();
    if (expected.failureMessages !== undefined && expected.failureMessages !== null) {
      expect(job.failure).not.toBeNull();
      expect(job.failure?.messages).toEqual(expected.failureMessages);
    }

    expect(job.history).toHaveLength(1);
    expect(job.history[0]).toMatchObject({
      eventId: body.event_id,
      eventType: name,
      status: expected.status,
      occurredAt: iso(time),
      deliveries: 1,
    });
    if (expected.vendorStatus !== undefined) expect(job.history[0]?.vendorStatus).toBe(expected.vendorStatus);

    // Links: a job always lists its files; a file names its job (null until linked).
    if (isJobEvent(name)) expect(job.files).toEqual([]);
    else if (name === "file_add_to_job") expect(job.job?.jobKey).toBe(`alfred:job:job-${tag}`);
    else if (!FILE_LOG_ONLY.includes(name)) expect(job.job).toBeNull();
  });
});

describe("value tolerances", () => {
  it.each([
    ["1653139800.00", "2022-05-21T13:30:00.000Z"],
    ["1653139800", "2022-05-21T13:30:00.000Z"],
    ["1653139800.5", "2022-05-21T13:30:00.500Z"],
    ["1653139800.75", "2022-05-21T13:30:00.750Z"],
    [1653139800, "2022-05-21T13:30:00.000Z"],
    [1653139800.5, "2022-05-21T13:30:00.500Z"],
    [1653139800.123, "2022-05-21T13:30:00.123Z"],
  ] as const)("event_time %j is occurredAt %s", async (eventTime, occurredAt) => {
    const jobId = `time-${String(eventTime).replace(".", "_")}-${typeof eventTime}`;
    const body = { ...alfredEvent("job_start", { jobId }), event_time: eventTime };
    const stored = await sendAlfredStored(body);
    expect(stored.jobKey).toBe(`alfred:job:${jobId}`);
    const job = await jobDetail(stored.jobKey, token);
    expect(job.history[0]?.occurredAt).toBe(occurredAt);
    expect(job.firstEventAt).toBe(occurredAt);
    expect(job.lastEventAt).toBe(occurredAt);
  });

  it.each([
    ["true", true],
    [true, true],
    ["false", false],
    [false, false],
  ] as const)("job_failed with exceeded_retries %j is terminal=%s", async (exceeded, terminal) => {
    const jobId = `exceeded-${String(exceeded)}-${typeof exceeded}`;
    const body = alfredEvent("job_failed", { jobId, retries: 2, fields: { exceeded_retries: exceeded } });
    const stored = await sendAlfredStored(body);
    const job = await jobDetail(stored.jobKey, token);
    expect(job).toMatchObject({ status: "failed", terminal, retries: 2, vendorStatus: "job_failed" });
    expect(job.failure?.messages).toEqual(ERRORS);
  });

  it("reads retries given as a string or a number as a number", async () => {
    const a = await sendAlfredStored(
      alfredEvent("job_retry", { jobId: "retries-str", fields: { retries: "4" } }),
    );
    const b = await sendAlfredStored(
      alfredEvent("job_retry", { jobId: "retries-num", typed: "native", fields: { retries: 4 } }),
    );
    expect((await jobDetail(a.jobKey, token)).retries).toBe(4);
    expect((await jobDetail(b.jobKey, token)).retries).toBe(4);
  });

  it("accepts ids that are not UUIDs, and unknown extra fields", async () => {
    const jobId = "a1b2c3d4-e5f6-g7h8-i9j0-k1l2m3n4o5p6";
    const body = alfredEvent("job_create", {
      jobId,
      eventId: "zzzz-not-a-uuid",
      fields: { brand_new_field: { nested: [1, 2] }, another: null },
    });
    const stored = await sendAlfredStored(body);
    expect(stored).toEqual({
      ok: true,
      eventId: "zzzz-not-a-uuid",
      jobKey: `alfred:job:${jobId}`,
      duplicate: false,
    });
    expect((await jobDetail(stored.jobKey, token)).status).toBe("pending");
  });

  it("recognises event names case-insensitively (JOB_FINISHED_EVENT)", async () => {
    const body = alfredEvent("job_finished", {
      jobId: "upper-case",
      fields: { event_name: "JOB_FINISHED_EVENT" },
    });
    const stored = await sendAlfredStored(body);
    const job = await jobDetail(stored.jobKey, token);
    expect(job).toMatchObject({ status: "succeeded", terminal: true });
    expect(job.history[0]?.eventType).toBe("job_finished");
  });

  it("takes the event family from the name when the outer event_type is unfamiliar", async () => {
    const body = { ...alfredEvent("job_start", { jobId: "odd-outer" }), event_type: "something_else" };
    const stored = await sendAlfredStored(body);
    expect(stored.jobKey).toBe("alfred:job:odd-outer");
    expect((await jobDetail(stored.jobKey, token)).status).toBe("processing");
  });
});

describe("job stage updates", () => {
  it.each([
    ["completed", "succeeded", true],
    ["failed", "failed", false],
    ["invalid", "failed", true],
    ["cancelled", "cancelled", true],
    ["queued", "pending", false],
    ["started", "processing", false],
    ["in_progress", "processing", false],
    ["processing", "processing", false],
    ["waiting_to_be_sent_to_third_party", "processing", false],
    ["a_stage_nobody_documented", "processing", false],
  ] as const)("stage %s is %s (terminal %s)", async (stage, status, terminal) => {
    const body = alfredEvent("job_stage_update", { jobId: `stage-${stage}`, stage });
    const stored = await sendAlfredStored(body);
    const job = await jobDetail(stored.jobKey, token);
    expect(job).toMatchObject({ status, terminal, stage, vendorStatus: stage });
    expect(job.history[0]).toMatchObject({ eventType: "job_stage_update", status, vendorStatus: stage });
  });
});

describe("file status updates and status-less file events", () => {
  it.each([
    ["completed", "succeeded", true],
    ["complete", "succeeded", true],
    ["finished", "succeeded", true],
    ["done", "succeeded", true],
    ["failed", "failed", true],
    ["uploaded", "pending", false],
    ["pending", "pending", false],
    ["queued", "pending", false],
    ["classifying", "processing", false],
    ["ocr", "processing", false],
    ["indexing", "processing", false],
  ] as const)("file_status %s is %s (terminal %s)", async (fileStatus, status, terminal) => {
    const fileId = `fsu-${fileStatus}`;
    const body = alfredEvent("file_status_update", { fileId, fileStatus, typed: "native" });
    const stored = await sendAlfredStored(body);
    expect(stored.jobKey).toBe(`alfred:file:${fileId}`);
    const file = await jobDetail(stored.jobKey, token);
    expect(file).toMatchObject({ status, terminal, vendorStatus: fileStatus });
    expect(file.history[0]).toMatchObject({
      eventType: "file_status_update",
      status,
      vendorStatus: fileStatus,
    });
  });

  it("leaves the file's status as it is on tag, move, update and other status-less events", async () => {
    const fileId = "file-statusless-after";
    const t = 1653139800;
    await sendAlfredStored(alfredEvent("file_status_update", { fileId, time: t, fileStatus: "classifying" }));
    const later: AlfredEventName[] = [
      "file_change_tag",
      "file_remove_tag",
      "file_move",
      "file_move_to_pending",
      "file_update",
    ];
    for (const [i, name] of later.entries()) {
      await sendAlfredStored(alfredEvent(name, { fileId, time: t + 10 * (i + 1) }));
    }
    const file = await jobDetail(`alfred:file:${fileId}`, token);
    expect(file).toMatchObject({
      status: "processing",
      vendorStatus: "classifying",
      terminal: false,
      eventCount: 6,
    });
    expect(file.history.map((entry) => entry.eventType)).toEqual(["file_status_update", ...later]);
    expect(file.history.slice(1).every((entry) => entry.status === null)).toBe(true);
  });

  it("a file with only status-less events is pending, its vendorStatus the latest event's type", async () => {
    const fileId = "file-only-tags";
    await sendAlfredStored(alfredEvent("file_change_tag", { fileId, time: 1653139800 }));
    await sendAlfredStored(alfredEvent("file_remove_tag", { fileId, time: 1653139900 }));
    const file = await jobDetail(`alfred:file:${fileId}`, token);
    expect(file).toMatchObject({
      status: "pending",
      vendorStatus: "file_remove_tag",
      terminal: false,
      eventCount: 2,
    });
    expect(file.history.map((entry) => entry.status)).toEqual([null, null]);
  });

  it("file_update carries both ids and is keyed on file_id", async () => {
    const body = alfredEvent("file_update", { fileId: "upd-file", fileLogId: "upd-log" });
    const stored = await sendAlfredStored(body);
    expect(stored.jobKey).toBe("alfred:file:upd-file");
  });

  it("file_failed keeps the error messages", async () => {
    const body = alfredEvent("file_failed", { fileId: "failed-file", errorMessages: ["OCR engine timeout"] });
    const stored = await sendAlfredStored(body);
    const file = await jobDetail(stored.jobKey, token);
    expect(file).toMatchObject({ status: "failed", terminal: true });
    expect(file.failure?.messages).toEqual(["OCR engine timeout"]);
  });
});

describe("verbatim docs examples (vendors/alfred.md)", () => {
  const docs = [
    {
      name: "job-failed",
      raw: jobFailed,
      jobKey: "alfred:job:45678901-5678-5678-5678-5678901234fg",
      eventType: "job_failed",
      occurredAt: "2022-05-21T13:30:00.000Z",
      expect: {
        status: "failed",
        terminal: false,
        vendorStatus: "job_failed",
        retries: 3,
        companyId: "34567890-4567-4567-4567-4567890123ef",
        companyName: "Innovative Solutions",
        failure: { messages: ERRORS },
      },
    },
    {
      name: "job-finished",
      raw: jobFinished,
      jobKey: "alfred:job:67890123-7890-7890-7890-7890123456hi",
      eventType: "job_finished",
      occurredAt: iso(1653240900),
      expect: {
        status: "succeeded",
        terminal: true,
        companyId: "56789012-6789-6789-6789-6789012345gh",
        companyName: "Tech Pioneers",
        failure: null,
      },
    },
    {
      name: "job-stage-update",
      raw: jobStageUpdate,
      jobKey: "alfred:job:56789012-3456-3456-3456-345678901fgh",
      eventType: "job_stage_update",
      occurredAt: iso(1653544200),
      expect: {
        status: "processing",
        terminal: false,
        stage: "processing",
        vendorStatus: "processing",
        companyId: "45678901-2345-2345-2345-234567890def",
        companyName: "Dynamic Solutions",
      },
    },
    {
      name: "job-start",
      raw: jobStart,
      jobKey: "alfred:job:78901234-5678-5678-5678-567890123jkl",
      eventType: "job_start",
      occurredAt: iso(1653645300),
      expect: { status: "processing", terminal: false, companyName: "Innovate Logistics" },
    },
    {
      name: "file-property-create",
      raw: filePropertyCreate,
      jobKey: "alfred:file_log:10987654-7654-7654-7654-543210987654",
      eventType: "file_property_create",
      occurredAt: iso(1651932300),
      expect: { status: "pending", terminal: false, companyName: "NextGen Innovations" },
    },
    {
      name: "file-property-delete",
      raw: filePropertyDelete,
      jobKey: "alfred:file_log:21098765-8765-8765-8765-654321098765",
      eventType: "file_property_delete",
      occurredAt: iso(1652033400),
      expect: { status: "pending", terminal: false, companyName: "Advanced Technologies" },
    },
    {
      name: "file-extracted-data-create",
      raw: fileExtractedDataCreate,
      jobKey: "alfred:file_log:456n9012-o34p-78i9-j123-659314183000",
      eventType: "file_extracted_data_create",
      occurredAt: "2022-04-30T13:34:38.100Z",
      expect: { status: "pending", terminal: false, companyId: "678m7891-n23o-67h8-f012-548614182000" },
    },
    {
      name: "file-extracted-data-delete",
      raw: fileExtractedDataDelete,
      jobKey: "alfred:file_log:567p1234-q56r-90s2-t345-678914185000",
      eventType: "file_extracted_data_delete",
      occurredAt: "2022-05-01T17:39:49.200Z",
      expect: { status: "pending", terminal: false, companyId: "789o0123-p45q-89r1-s234-567814184000" },
    },
  ];

  it("loads the fixtures byte for byte (raw text and parsed JSON agree)", () => {
    expect(jobFailed.startsWith('{\n  "event_id": "f3g4h5i6-j7k8-l9m0-n1o2-p3q4r5s6t7u8",')).toBe(true);
    expect(JSON.parse(jobFailed)).toEqual(jobFailedParsed);
    expect(jobFailedParsed.event.retries).toBe("3");
    for (const doc of docs) expect(() => JSON.parse(doc.raw)).not.toThrow();
  });

  it.each(docs)("accepts the docs example $name", async (doc) => {
    const eventId = (JSON.parse(doc.raw) as { event_id: string }).event_id;
    const response = await sendAlfred(doc.raw);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, eventId, jobKey: doc.jobKey, duplicate: false });

    const job: JobDetailBody = await jobDetail(doc.jobKey, token);
    expect(job).toMatchObject({ jobKey: doc.jobKey, source: "alfred", eventCount: 1, ...doc.expect });
    expect(job.history).toHaveLength(1);
    expect(job.history[0]).toMatchObject({ eventId, eventType: doc.eventType, occurredAt: doc.occurredAt });

    // The raw event is served back byte for byte.
    const raw = await SELF.fetch(
      `${BASE}/v1/jobs/${encodeURIComponent(doc.jobKey)}/events/${encodeURIComponent(eventId)}`,
      { headers: { authorization: `Bearer ${token}` } },
    );
    expect(raw.status).toBe(200);
    expect(raw.headers.get("content-type")).toContain("application/json");
    expect(await raw.text()).toBe(doc.raw);
  });
});

describe("opaque ids and the read API", () => {
  it.each([
    ["slashes", "batch/2024/05/job-1"],
    ["colons", "tenant:42:job"],
    ["spaces inside", "job with spaces"],
    ["unicode", "jöb-ü-名前"],
    ["a percent sign", "100%-done"],
  ] as const)("a job_id with %s is stored and read back by its key", async (_label, jobId) => {
    const body = alfredEvent("job_start", { jobId: "placeholder", fields: { job_id: jobId } });
    const stored = await sendAlfredStored(body);
    expect(stored.jobKey).toBe(`alfred:job:${jobId}`);
    const job = await jobDetail(stored.jobKey, token);
    expect(job).toMatchObject({ jobKey: `alfred:job:${jobId}`, id: String(jobId), status: "processing" });
    const raw = await SELF.fetch(
      `${BASE}/v1/jobs/${encodeURIComponent(stored.jobKey)}/events/${encodeURIComponent(body.event_id)}`,
      { headers: { authorization: `Bearer ${token}` } },
    );
    expect(raw.status).toBe(200);
    expect(await raw.text()).toBe(JSON.stringify(body));
  });

  it("the job key may appear unencoded in the URL", async () => {
    const stored = await sendAlfredStored(alfredEvent("job_create", { jobId: "plain-key-1" }));
    const response = await SELF.fetch(`${BASE}/v1/jobs/alfred:job:plain-key-1`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as JobDetailBody).jobKey).toBe(stored.jobKey);
  });

  it("GET /v1/jobs lists Alfred summaries (stage, retries, failure, company) within 2 s", async () => {
    const companyId = "list-co-1";
    const jobId = "list-job-1";
    await sendAlfredStored(
      alfredEvent("job_stage_update", { jobId, companyId, time: 1653139800, stage: "ocr" }),
    );
    await sendAlfredStored(
      alfredEvent("job_failed", { jobId, companyId, time: 1653139810, retries: 2, errorMessages: ["boom"] }),
    );
    const detail = await jobDetail(`alfred:job:${jobId}`, token);
    const { history: _history, files: _files, ...summary } = detail;

    let listed: unknown[] = [];
    await eventually(async () => {
      const response = await SELF.fetch(`${BASE}/v1/jobs?source=alfred&kind=job&company=${companyId}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(200);
      listed = ((await response.json()) as { data: unknown[] }).data;
      expect(listed).toHaveLength(1);
      expect(listed[0]).toEqual(summary);
    });
    expect(listed[0]).toMatchObject({
      status: "failed",
      terminal: false,
      stage: "ocr",
      retries: 2,
      companyId,
      failure: { messages: ["boom"] },
    });
  });
});
