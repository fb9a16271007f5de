/**
 * Tenants stay apart (CONTRACT §4 "Tenancy", §5): a job's company is fixed by its first event that
 * names one. A later event naming another company is not applied — quarantined (202) with reason
 * `company_mismatch`, visible to an admin, nothing else changed — and a `file_add_to_job` between a
 * file and a job of two companies is quarantined the same way and links nothing.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { alfredEvent, type BuildOptions } from "./fixtures/alfred/events";
import {
  apiGet,
  apiStatus,
  createToken,
  eventually,
  jobDetail,
  type QuarantinedBody,
  quarantineEntries,
  sendAlfred,
  sendAlfredStored,
} from "./helpers";

const T0 = 1_760_000_000;

let admin: string;
beforeAll(async () => {
  admin = await createToken({ admin: true });
});

/** Sends a delivery that must be quarantined for `company_mismatch`; returns its quarantine id. */
async function expectMismatch(body: object): Promise<string> {
  const response = await sendAlfred(body);
  const text = await response.text();
  expect(response.status, text).toBe(202);
  const { quarantineId } = JSON.parse(text) as QuarantinedBody;
  const entry = (await quarantineEntries(admin)).find((item) => item.id === quarantineId);
  expect(entry?.source).toBe("alfred");
  expect(entry?.reason).toEqual([{ path: "", message: expect.stringMatching(/^company_mismatch: /) }]);
  return quarantineId;
}

function jobEvent(
  name: "job_create" | "job_start" | "job_stage_update",
  jobId: string,
  options: BuildOptions,
) {
  return alfredEvent(name, { jobId, ...options });
}

describe("a job's company is fixed by its first event that names one", () => {
  it("finding 1: company B's event on company A's job is quarantined; B's token cannot read A's events; the job stays A's", async () => {
    const jobKey = "alfred:job:tenancy-finding-1";
    const start = jobEvent("job_start", "tenancy-finding-1", { companyId: "co-a", time: T0 });
    await sendAlfredStored(start);
    const intruder = jobEvent("job_stage_update", "tenancy-finding-1", {
      companyId: "co-b",
      companyName: "Intruder Inc",
      stage: "completed",
      time: T0 + 60,
    });
    await expectMismatch(intruder);
    // A repeat of it is refused again, never counted.
    await expectMismatch(intruder);

    const tokenA = await createToken({ company: "co-a" });
    const tokenB = await createToken({ company: "co-b" });
    const rawPath = `/v1/jobs/${jobKey}/events/${start.event_id}`;
    expect(await apiStatus(rawPath, tokenB)).toBe(404);
    expect(await apiStatus(`/v1/jobs/${jobKey}/events/${intruder.event_id}`, tokenB)).toBe(404);
    expect(await apiStatus(`/v1/jobs/${jobKey}`, tokenB)).toBe(404);
    expect(await apiStatus(`${rawPath}/verification`, tokenB)).toBe(404);
    expect(await apiStatus(rawPath, tokenA)).toBe(200);

    const job = await jobDetail(jobKey, tokenA);
    expect(job).toMatchObject({
      companyId: "co-a",
      companyName: start.event.company_name,
      status: "processing",
      eventCount: 1,
      deliveryCount: 1,
      version: 1,
    });
    expect(job.history.map((entry) => entry.eventId)).toEqual([start.event_id]);
    // The list (D1) shows it as A's, to A only.
    await eventually(async () => {
      const listed = (await (await apiGet("/v1/jobs?source=alfred&limit=200", tokenA)).json()) as {
        data: { jobKey: string; companyId: string | null; version: number }[];
      };
      expect(listed.data.find((item) => item.jobKey === jobKey)).toMatchObject({
        companyId: "co-a",
        version: 1,
      });
    });
    const listedToB = (await (await apiGet("/v1/jobs?limit=200", tokenB)).json()) as {
      data: { jobKey: string }[];
    };
    expect(listedToB.data.map((item) => item.jobKey)).not.toContain(jobKey);
  });

  it("an event naming no company leaves it open; the first that names one fixes it", async () => {
    const jobId = "tenancy-open";
    await sendAlfredStored(jobEvent("job_create", jobId, { fields: { company_id: undefined }, time: T0 }));
    expect((await jobDetail(`alfred:job:${jobId}`, admin)).companyId).toBeNull();
    await sendAlfredStored(jobEvent("job_start", jobId, { companyId: "co-c", time: T0 + 1 }));
    await expectMismatch(jobEvent("job_stage_update", jobId, { companyId: "co-d", time: T0 + 2 }));
    // Events naming no company, or the same one, still apply.
    await sendAlfredStored(
      jobEvent("job_stage_update", jobId, { fields: { company_id: undefined }, time: T0 + 3 }),
    );
    await sendAlfredStored(jobEvent("job_stage_update", jobId, { companyId: "co-c", time: T0 + 4 }));
    expect(await jobDetail(`alfred:job:${jobId}`, admin)).toMatchObject({ companyId: "co-c", eventCount: 4 });
  });

  it("a late event of another company, older than the first, does not take the job over", async () => {
    const jobId = "tenancy-late";
    await sendAlfredStored(jobEvent("job_start", jobId, { companyId: "co-e", time: T0 + 100 }));
    await expectMismatch(jobEvent("job_create", jobId, { companyId: "co-f", time: T0 }));
    expect(await jobDetail(`alfred:job:${jobId}`, admin)).toMatchObject({ companyId: "co-e", eventCount: 1 });
  });

  it("an admin's retry of a company_mismatch entry is refused again: 422 still_invalid", async () => {
    const jobId = "tenancy-retry";
    await sendAlfredStored(jobEvent("job_start", jobId, { companyId: "co-g", time: T0 }));
    const id = await expectMismatch(jobEvent("job_stage_update", jobId, { companyId: "co-h", time: T0 + 1 }));
    const response = await env.DB.prepare("SELECT count(*) AS n FROM quarantine WHERE id = ?")
      .bind(id)
      .first();
    expect(response).toEqual({ n: 1 });
    const { SELF } = await import("cloudflare:test");
    const retried = await SELF.fetch(`https://runledger.test/v1/quarantine/${id}/retry`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}` },
    });
    const text = await retried.text();
    expect(retried.status, text).toBe(422);
    expect(JSON.parse(text)).toMatchObject({
      error: { code: "still_invalid", message: expect.stringContaining("company_mismatch") },
    });
    expect(await jobDetail(`alfred:job:${jobId}`, admin)).toMatchObject({ companyId: "co-g", eventCount: 1 });
  });
});

describe("file links across companies", () => {
  it("a file of company B added to company A's job is quarantined and links nothing", async () => {
    await sendAlfredStored(
      alfredEvent("job_create", { jobId: "tenancy-link-job", companyId: "co-a", time: T0 }),
    );
    await sendAlfredStored(
      alfredEvent("file_done", { fileId: "tenancy-link-file", companyId: "co-b", time: T0 }),
    );
    await expectMismatch(
      alfredEvent("file_add_to_job", {
        fileId: "tenancy-link-file",
        jobId: "tenancy-link-job",
        companyId: "co-b",
        time: T0 + 1,
      }),
    );
    const job = await jobDetail("alfred:job:tenancy-link-job", admin);
    expect(job.files).toEqual([]);
    const file = await jobDetail("alfred:file:tenancy-link-file", admin);
    expect(file).toMatchObject({ job: null, eventCount: 1, deliveryCount: 1, companyId: "co-b" });
  });

  it("a link naming the job's company for a file of another company is refused by the file's ledger", async () => {
    await sendAlfredStored(
      alfredEvent("job_create", { jobId: "tenancy-link-job-2", companyId: "co-a", time: T0 }),
    );
    await sendAlfredStored(
      alfredEvent("file_done", { fileId: "tenancy-link-file-2", companyId: "co-b", time: T0 }),
    );
    await expectMismatch(
      alfredEvent("file_add_to_job", {
        fileId: "tenancy-link-file-2",
        jobId: "tenancy-link-job-2",
        companyId: "co-a",
        time: T0 + 1,
      }),
    );
    expect((await jobDetail("alfred:job:tenancy-link-job-2", admin)).files).toEqual([]);
  });

  it("a link naming no company still compares the file's company with the job's", async () => {
    await sendAlfredStored(
      alfredEvent("job_create", { jobId: "tenancy-link-job-3", companyId: "co-a", time: T0 }),
    );
    await sendAlfredStored(
      alfredEvent("file_done", { fileId: "tenancy-link-file-3", companyId: "co-b", time: T0 }),
    );
    await expectMismatch(
      alfredEvent("file_add_to_job", {
        fileId: "tenancy-link-file-3",
        jobId: "tenancy-link-job-3",
        fields: { company_id: undefined },
        time: T0 + 1,
      }),
    );
    expect((await jobDetail("alfred:job:tenancy-link-job-3", admin)).files).toEqual([]);
  });

  it("a job known only from a link belongs to its file's company: its own event of another company is refused", async () => {
    await sendAlfredStored(
      alfredEvent("file_add_to_job", {
        fileId: "tenancy-first-file",
        jobId: "tenancy-linked-only",
        companyId: "co-a",
        time: T0,
      }),
    );
    const tokenA = await createToken({ company: "co-a" });
    expect(await jobDetail("alfred:job:tenancy-linked-only", tokenA)).toMatchObject({
      companyId: "co-a",
      eventCount: 0,
      files: [{ jobKey: "alfred:file:tenancy-first-file", status: "pending" }],
    });
    await expectMismatch(
      alfredEvent("job_start", { jobId: "tenancy-linked-only", companyId: "co-b", time: T0 + 1 }),
    );
    await sendAlfredStored(
      alfredEvent("job_start", { jobId: "tenancy-linked-only", companyId: "co-a", time: T0 + 2 }),
    );
    expect(await jobDetail("alfred:job:tenancy-linked-only", tokenA)).toMatchObject({
      companyId: "co-a",
      eventCount: 1,
      status: "processing",
    });
  });
});
