/**
 * Reads create no state (CONTRACT §5): a key whose source is unknown or outside the token's scope
 * is 404 without touching a Durable Object, and a job never written is 404 without creating one —
 * counted as the job ledgers' databases (`listDurableObjectIds`) before and after 200 reads. A job
 * just stored is readable at once even while D1 lacks it, and a ledger registers its key before it
 * stores anything.
 */
import {
  createExecutionContext,
  env,
  listDurableObjectIds,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { jobIndex } from "../src/api/known-jobs";
import { createApp } from "../src/app";
import type { JobLedger } from "../src/ledger/job-ledger";
import { shardedRegistrar } from "../src/registry/key-registry";
import { alfredEvent } from "./fixtures/alfred/events";
import {
  apiStatus,
  BASE,
  createToken,
  errorCode,
  eventually,
  extendEvent,
  jobStatusCode,
  sendAlfred,
  sendAlfredStored,
  sendExtend,
} from "./helpers";

const T0 = 1_770_000_000;
const EXTEND_JOB = "extend:extract_run:exr_reads_1";
const ALFRED_JOB = "alfred:job:reads-co-a";

let admin: string;
let alfredOnly: string;
let companyA: string;
let companyB: string;

beforeAll(async () => {
  [admin, alfredOnly, companyA, companyB] = await Promise.all([
    createToken({ admin: true }),
    createToken({ source: "alfred" }),
    createToken({ company: "co-a" }),
    createToken({ company: "co-b" }),
  ]);
  expect((await sendExtend(extendEvent("extract_run.processed", { id: "exr_reads_1" }))).status).toBe(200);
  await sendAlfredStored(alfredEvent("job_start", { jobId: "reads-co-a", companyId: "co-a", time: T0 }));
  // Company B's reads of A's job are decided from D1's row: wait until it is there.
  await eventually(async () => {
    const row = await env.DB.prepare("SELECT company_id FROM jobs WHERE job_key = ?")
      .bind(ALFRED_JOB)
      .first();
    expect(row).toEqual({ company_id: "co-a" });
  });
});

async function jobLedgers(): Promise<number> {
  return (await listDurableObjectIds(env.JOBS)).length;
}

/** Every read route of a job key. */
function routes(jobKey: string, eventId = "evt_x"): string[] {
  const key = encodeURIComponent(jobKey);
  return [
    `/v1/jobs/${key}`,
    `/v1/jobs/${key}/events/${eventId}`,
    `/v1/jobs/${key}/events/${eventId}/verification`,
    `/v1/jobs/${key}/stream`,
  ];
}

describe("reads of keys that name no readable job", () => {
  it("200 reads of unknown, out-of-scope and never-written keys: all 404, no new job ledger", async () => {
    const before = await jobLedgers();
    const reads: [string, string][] = [];
    for (let i = 0; i < 10; i++) {
      for (const path of routes(`nope:job:reads-${i}`)) reads.push([path, admin]); // unknown source
      for (const path of routes(EXTEND_JOB)) reads.push([path, alfredOnly]); // another source
      for (const path of routes(EXTEND_JOB)) reads.push([path, companyA]); // a source without companies
      for (const path of routes(ALFRED_JOB)) reads.push([path, companyB]); // another company's job
      for (const path of routes(`alfred:job:reads-never-${i}`)) reads.push([path, admin]); // never written
    }
    expect(reads).toHaveLength(200);
    for (const [path, token] of reads) expect(await apiStatus(path, token), path).toBe(404);
    expect(await jobLedgers()).toBe(before);
  });

  it("a company token reads its own job and its events", async () => {
    for (const path of routes(ALFRED_JOB).slice(0, 1)) expect(await apiStatus(path, companyA)).toBe(200);
  });
});

describe("a job just stored, before D1 has it", () => {
  // D1 never has it here: the index's D1 lookup always misses, as in the ~2 s before a projection.
  const lagging = createApp({
    jobIndex: (e) => ({ ...jobIndex(e), scopeOf: async () => null }),
  });

  async function read(path: string, token: string): Promise<number> {
    const ctx = createExecutionContext();
    const response = await lagging.fetch(
      new Request(`${BASE}${path}`, { headers: { authorization: `Bearer ${token}` } }),
      env,
      ctx,
    );
    await response.body?.cancel();
    await waitOnExecutionContext(ctx);
    return response.status;
  }

  it("is readable at once, and a key never written is still 404 without a ledger", async () => {
    const event = alfredEvent("job_start", { jobId: "reads-fresh", companyId: "co-a", time: T0 });
    await sendAlfredStored(event);
    expect(await read("/v1/jobs/alfred:job:reads-fresh", companyA)).toBe(200);
    expect(await read(`/v1/jobs/alfred:job:reads-fresh/events/${event.event_id}`, companyA)).toBe(200);
    const before = await jobLedgers();
    expect(await read("/v1/jobs/alfred:job:reads-fresh-never", admin)).toBe(404);
    expect(await jobLedgers()).toBe(before);
  });

  it("a job known only from a link is readable at once", async () => {
    await sendAlfredStored(
      alfredEvent("file_add_to_job", { fileId: "reads-file", jobId: "reads-linked-only", companyId: "co-a" }),
    );
    expect(await read("/v1/jobs/alfred:job:reads-linked-only", companyA)).toBe(200);
  });
});

describe("a ledger registers its key before its first write", () => {
  it("if the registry fails, the delivery is 503 and nothing is stored; the vendor's retry stores it", async () => {
    const jobKey = "alfred:job:reads-unregistered";
    const stub: DurableObjectStub<JobLedger> = env.JOBS.get(env.JOBS.idFromName(jobKey));
    await runInDurableObject(stub, (instance) => {
      instance.registration.registrar = { register: () => Promise.reject(new Error("registry down")) };
    });
    const event = alfredEvent("job_start", { jobId: "reads-unregistered", companyId: "co-a", time: T0 });
    const refused = await sendAlfred(event);
    expect(refused.status).toBe(503);
    expect(await errorCode(refused)).toBe("storage_unavailable");
    expect(await stub.summary()).toBeNull();
    expect(await jobStatusCode(jobKey, admin)).toBe(404);

    await runInDurableObject(stub, (instance) => {
      instance.registration.registrar = shardedRegistrar(env);
    });
    await sendAlfredStored(event);
    expect(await jobStatusCode(jobKey, admin)).toBe(200);
  });
});
