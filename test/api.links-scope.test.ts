/**
 * Linked keys respect scope (CONTRACT §5): a job's `files` and a file's `job` list only keys the
 * token may read — in the detail and in a stream's snapshot — so a company token learns nothing of
 * files or jobs outside its company through a link.
 */
import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { alfredEvent } from "./fixtures/alfred/events";
import { apiStatus, BASE, createToken, type JobDetailBody, jobDetail, sendAlfredStored } from "./helpers";

const T0 = 1_765_000_000;
const JOB = "alfred:job:scope-job";
const FILE_A = "alfred:file:scope-file-a";
const FILE_NONE = "alfred:file:scope-file-none";
const OPEN_JOB = "alfred:job:scope-open-job";
const FILE_IN_OPEN = "alfred:file:scope-file-in-open";

let admin: string;
let alfredOnly: string;
let companyA: string;

beforeAll(async () => {
  [admin, alfredOnly, companyA] = await Promise.all([
    createToken({ admin: true }),
    createToken({ source: "alfred" }),
    createToken({ company: "co-a" }),
  ]);
  // A job of co-a with a file of co-a and a file that names no company.
  await sendAlfredStored(alfredEvent("job_create", { jobId: "scope-job", companyId: "co-a", time: T0 }));
  await sendAlfredStored(
    alfredEvent("file_add_to_job", {
      fileId: "scope-file-a",
      jobId: "scope-job",
      companyId: "co-a",
      time: T0,
    }),
  );
  const noCompany = { company_id: undefined, company_name: undefined };
  await sendAlfredStored(
    alfredEvent("file_add_to_job", {
      fileId: "scope-file-none",
      jobId: "scope-job",
      time: T0,
      fields: noCompany,
    }),
  );
  // A job whose events name no company, with a file of co-a.
  await sendAlfredStored(alfredEvent("job_create", { jobId: "scope-open-job", time: T0, fields: noCompany }));
  await sendAlfredStored(
    alfredEvent("file_add_to_job", {
      fileId: "scope-file-in-open",
      jobId: "scope-open-job",
      companyId: "co-a",
      time: T0,
    }),
  );
});

const pending = (jobKey: string) => ({ jobKey, status: "pending" });

describe("a job's files", () => {
  it("an unscoped or source token sees every file", async () => {
    for (const token of [admin, alfredOnly]) {
      const job = await jobDetail(JOB, token);
      expect(job.files).toEqual([pending(FILE_A), pending(FILE_NONE)]);
    }
  });

  it("a company token sees only its company's files, each as {jobKey, status}", async () => {
    const job = await jobDetail(JOB, companyA);
    expect(job.companyId).toBe("co-a");
    expect(job.files).toEqual([pending(FILE_A)]);
    expect(await apiStatus(`/v1/jobs/${FILE_NONE}`, companyA)).toBe(404);
  });
});

describe("a file's job", () => {
  it("an unscoped token sees the job of a file", async () => {
    expect((await jobDetail(FILE_IN_OPEN, admin)).job).toEqual(pending(OPEN_JOB));
    expect((await jobDetail(FILE_NONE, admin)).job).toEqual(pending(JOB));
  });

  it("a company token sees a file of its company, but not a job outside it: job is null", async () => {
    const file = await jobDetail(FILE_IN_OPEN, companyA);
    expect(file.companyId).toBe("co-a");
    expect(file.job).toBeNull();
    expect(await apiStatus(`/v1/jobs/${OPEN_JOB}`, companyA)).toBe(404);
    expect((await jobDetail(FILE_A, companyA)).job).toEqual(pending(JOB));
  });
});

describe("a stream's snapshot", () => {
  /** The `data` of the first `event: snapshot` of a job's stream. */
  async function snapshot(jobKey: string, token: string): Promise<JobDetailBody> {
    const response = await SELF.fetch(`${BASE}/v1/jobs/${jobKey}/stream`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = "";
    try {
      for (;;) {
        const match = /event: snapshot\ndata: (.*)\n\n/.exec(text);
        if (match?.[1] !== undefined) return JSON.parse(match[1]) as JobDetailBody;
        const { done, value } = await reader.read();
        if (done) throw new Error(`the stream ended before its snapshot: ${text}`);
        text += decoder.decode(value, { stream: true });
      }
    } finally {
      await reader.cancel();
    }
  }

  it("lists the files the token may read, as the detail does", async () => {
    expect((await snapshot(JOB, companyA)).files).toEqual([pending(FILE_A)]);
    expect((await snapshot(JOB, admin)).files).toEqual([pending(FILE_A), pending(FILE_NONE)]);
    expect((await snapshot(FILE_IN_OPEN, companyA)).job).toBeNull();
  });
});
