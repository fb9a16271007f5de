/**
 * Deliveries that must be stored even when they stretch the ledger: oversized derived fields,
 * over-long ids, unknown event types, and a linked job's ledger that is slow or down.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { JobLedger } from "../src/ledger/job-ledger";
import {
  createToken,
  eventually,
  extendEvent,
  jobDetail,
  listAll,
  nowSeconds,
  type QuarantinedBody,
  sendAlfred,
  sendExtend,
} from "./helpers";

let token: string;
beforeAll(async () => {
  token = await createToken();
});

describe("oversized derived fields are cut, and the delivery is stored", () => {
  it("an Extend failureMessage of 1.2 MB", async () => {
    const message = "m".repeat(1_200_000);
    const event = extendEvent("classify_run.failed", {
      id: "clr_bigmsg",
      status: "FAILED",
      failureReason: "X",
      failureMessage: message,
    });
    const response = await sendExtend(event);
    expect(response.status).toBe(200);
    const job = await jobDetail("extend:classify_run:clr_bigmsg", token);
    expect(job.status).toBe("failed");
    const kept = job.failure?.messages[0] ?? "";
    expect(kept.length).toBeLessThan(5000);
    expect(kept.endsWith("…")).toBe(true);
    // The raw event is kept whole.
    const raw = await (
      await fetchRaw(`/v1/jobs/extend:classify_run:clr_bigmsg/events/${encodeURIComponent(event.eventId)}`)
    ).text();
    expect(raw).toBe(JSON.stringify(event));
  });

  it("20 failure messages of 2048 CJK characters each still reach the list (bytes, not characters, are bounded)", async () => {
    const messages = Array.from({ length: 20 }, (_, n) => `${n}:${"失".repeat(3000)}`);
    const response = await sendAlfred({
      event_id: "cjk-failure",
      event_type: "job_event_type",
      event_time: "1653139800.00",
      event: {
        event_name: "job_failed_event",
        job_id: "cjk-job",
        exceeded_retries: "true",
        error_messages: messages,
      },
    });
    expect(response.status).toBe(200);
    const job = await jobDetail("alfred:job:cjk-job", token);
    const kept = job.failure?.messages ?? [];
    expect(kept.length).toBeGreaterThan(0);
    expect(new TextEncoder().encode(JSON.stringify(kept)).byteLength).toBeLessThanOrEqual(26 * 1024);
    await eventually(async () => {
      const listed = await listAll<{ jobKey: string; failure: { messages: string[] } | null }>(
        "kind=job&status=failed",
        token,
      );
      expect(listed.find((row) => row.jobKey === "alfred:job:cjk-job")?.failure?.messages).toEqual(kept);
    });
  });

  it("Alfred error_messages of 1.2 MB and a huge company name", async () => {
    const response = await sendAlfred({
      event_id: "big-alfred",
      event_type: "job_event_type",
      event_time: "1653139800.00",
      event: {
        event_name: "job_failed_event",
        job_id: "big-job",
        company_name: "c".repeat(100_000),
        retries: "3",
        exceeded_retries: "true",
        error_messages: ["e".repeat(1_200_000), "short"],
      },
    });
    expect(response.status).toBe(200);
    const job = await jobDetail("alfred:job:big-job", token);
    expect(job).toMatchObject({ status: "failed", terminal: true, retries: 3 });
    expect(job.failure?.messages[1]).toBe("short");
    expect((job.companyName ?? "").length).toBeLessThan(2000);
  });
});

describe("over-long ids are not a vendor's: quarantined", () => {
  it("an Extend payload id of 5000 characters", async () => {
    const response = await sendExtend(extendEvent("extract_run.processed", { id: "x".repeat(5000) }));
    expect(response.status).toBe(202);
    expect(((await response.json()) as QuarantinedBody).quarantined).toBe(true);
  });

  it("an Alfred job_id of 5000 characters", async () => {
    const response = await sendAlfred({
      event_id: "long-id",
      event_type: "job_event_type",
      event_time: 1653139800,
      event: { event_name: "job_start_event", job_id: "j".repeat(5000) },
    });
    expect(response.status).toBe(202);
  });
});

describe("unknown Extend event types", () => {
  it("use payload.updatedAt for occurredAt", async () => {
    const response = await sendExtend(
      extendEvent("extract_run.requeued", { id: "exr_requeued", updatedAt: "2026-01-01T00:00:00Z" }),
    );
    expect(response.status).toBe(200);
    const job = await jobDetail("extend:extract_run:exr_requeued", token);
    expect(job.history[0]?.occurredAt).toBe("2026-01-01T00:00:00.000Z");
  });

  it.each([
    ["a numeric updatedAt", { id: "ir_1", updatedAt: 1732400000 }],
    ["an empty workflowRunId", { id: "ir_2", workflowRunId: "" }],
    ["a numeric workflowRunId", { id: "ir_3", workflowRunId: 12345 }],
  ])("with %s are still stored on payload.id", async (_, payload) => {
    const response = await sendExtend(extendEvent("invoice_run.started", payload));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ jobKey: `extend:invoice_run:${payload.id}` });
  });

  it("a new kind of step event goes to its workflow run and leaves it processing", async () => {
    const response = await sendExtend(
      extendEvent("workflow_run.step_run.failed", {
        id: "wsr_new_1",
        workflowRunId: "workflow_run_parent_1",
      }),
      { timestamp: nowSeconds() - 5 },
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ jobKey: "extend:workflow_run:workflow_run_parent_1" });
    const run = await jobDetail("extend:workflow_run:workflow_run_parent_1", token);
    expect(run).toMatchObject({ status: "processing", terminal: false });
    expect(run.history[0]).toMatchObject({
      eventType: "workflow_run.step_run.failed",
      summary: { stepRunId: "wsr_new_1" },
    });
  });
});

describe("linking a file into a job whose ledger is slow or down", () => {
  const fileKey = "alfred:file:slow-link-file";
  const jobKey = "alfred:job:slow-link-job";

  it("answers the delivery anyway, then links by alarm once the job's ledger answers", async () => {
    let failLink: (error: Error) => void = () => undefined;
    const overloaded = new Promise<void>((_, reject) => {
      failLink = reject;
    });
    overloaded.catch(() => undefined);
    const stub: DurableObjectStub<JobLedger> = env.JOBS.get(env.JOBS.idFromName(fileKey));
    await runInDurableObject(stub, (instance) => {
      const real = instance.linkedLedger;
      // It does not answer until the test lets it fail: the delivery must not wait for it, and the
      // outbox must carry the link.
      instance.linkedLedger = (key) => ({
        admitFile: (...args) => real(key).admitFile(...args),
        linkFile: () => overloaded,
        brief: (k) => real(key).brief(k),
      });
    });
    const response = await sendAlfred({
      event_id: "slow-link",
      event_type: "file_event_type",
      event_time: 1653139800,
      event: { event_name: "file_added_to_job_event", file_id: "slow-link-file", job_id: "slow-link-job" },
    });
    // Answered while the link is still unanswered.
    expect(response.status).toBe(200);
    expect((await stub.projectionState()).pendingLinks).toBeGreaterThan(0);

    // The job's ledger fails the call it was holding, then is back: the outbox's retry links.
    await runInDurableObject(stub, (instance) => {
      instance.linkedLedger = (key) => env.JOBS.get(env.JOBS.idFromName(key));
    });
    failLink(new Error("ledger overloaded"));
    await eventually(async () => expect((await stub.projectionState()).pendingLinks).toBe(0));
    const file = await jobDetail(fileKey, token);
    expect(file.job).toEqual({ jobKey, status: "pending" });
    await sendAlfred({
      event_id: "slow-link-job-start",
      event_type: "job_event_type",
      event_time: 1653139801,
      event: { event_name: "job_start_event", job_id: "slow-link-job" },
    });
    const job = await jobDetail(jobKey, token);
    expect(job.files).toEqual([{ jobKey: fileKey, status: "pending" }]);
  });
  it("a job's detail still answers when a file's ledger does not: it shows the file's last known status", async () => {
    await sendAlfred({
      event_id: "slow-link-done",
      event_type: "file_event_type",
      event_time: 1653139900,
      event: { event_name: "file_done_event", file_id: "slow-link-file", file_status: "completed" },
    });
    expect((await jobDetail(jobKey, token)).files).toEqual([{ jobKey: fileKey, status: "succeeded" }]);

    const jobStub: DurableObjectStub<JobLedger> = env.JOBS.get(env.JOBS.idFromName(jobKey));
    await runInDurableObject(jobStub, (instance) => {
      instance.linkedLedger = () => ({
        admitFile: () => Promise.resolve(null),
        linkFile: () => Promise.resolve(),
        brief: () => new Promise(() => undefined),
      });
    });
    const job = await jobDetail(jobKey, token);
    expect(job.status).toBe("processing");
    expect(job.files).toEqual([{ jobKey: fileKey, status: "succeeded" }]);
  });
});

function fetchRaw(path: string): Promise<Response> {
  return import("./helpers").then(({ apiGet }) => apiGet(path, token));
}
