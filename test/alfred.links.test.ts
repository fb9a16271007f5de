/**
 * `file_add_to_job` links a file to its job both ways (CONTRACT §4): the job's detail lists its
 * files with their current status, the file's detail names its job with the job's current status —
 * whichever side's events arrive first.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { alfredEvent } from "./fixtures/alfred/events";
import { createToken, jobDetail, sendAlfredStored } from "./helpers";

let token: string;
beforeAll(async () => {
  token = await createToken();
});

const T0 = 1710000000;

describe("file_add_to_job links a file and its job", () => {
  it("file events before the link: the job lists the file with its current status", async () => {
    const jobId = "link-a-job";
    const fileId = "link-a-file";
    await sendAlfredStored(alfredEvent("job_create", { jobId, time: T0 }));
    await sendAlfredStored(
      alfredEvent("file_status_update", { fileId, time: T0 + 1, fileStatus: "classifying" }),
    );
    await sendAlfredStored(alfredEvent("file_done", { fileId, time: T0 + 2 }));

    const link = alfredEvent("file_add_to_job", { fileId, jobId, time: T0 + 3 });
    expect(link.event.event_name).toBe("file_added_to_job_event");
    const stored = await sendAlfredStored(link);
    expect(stored.jobKey).toBe(`alfred:file:${fileId}`);

    const job = await jobDetail(`alfred:job:${jobId}`, token);
    expect(job.status).toBe("pending");
    expect(job.files).toEqual([{ jobKey: `alfred:file:${fileId}`, status: "succeeded" }]);

    const file = await jobDetail(`alfred:file:${fileId}`, token);
    expect(file).toMatchObject({ status: "succeeded", terminal: true, eventCount: 3 });
    expect(file.job).toEqual({ jobKey: `alfred:job:${jobId}`, status: "pending" });
    // The link is a history entry that leaves the file's status as it is.
    expect(file.history.at(-1)).toMatchObject({
      eventId: link.event_id,
      eventType: "file_add_to_job",
      status: null,
    });
  });

  it("job events after the link: both sides show each other's current status", async () => {
    const jobId = "link-b-job";
    const fileId = "link-b-file";
    await sendAlfredStored(alfredEvent("file_add_to_job", { fileId, jobId, time: T0, spelling: "sdk" }));

    let file = await jobDetail(`alfred:file:${fileId}`, token);
    expect(file).toMatchObject({ status: "pending", terminal: false });
    expect(file.job).toEqual({ jobKey: `alfred:job:${jobId}`, status: "pending" });

    await sendAlfredStored(alfredEvent("job_create", { jobId, time: T0 + 1, typed: "native" }));
    await sendAlfredStored(alfredEvent("job_start", { jobId, time: T0 + 2, typed: "native" }));

    let job = await jobDetail(`alfred:job:${jobId}`, token);
    expect(job.status).toBe("processing");
    expect(job.files).toEqual([{ jobKey: `alfred:file:${fileId}`, status: "pending" }]);
    file = await jobDetail(`alfred:file:${fileId}`, token);
    expect(file.job).toEqual({ jobKey: `alfred:job:${jobId}`, status: "processing" });

    // The file moves on: the job's `files` shows its current status, not a snapshot.
    await sendAlfredStored(alfredEvent("file_status_update", { fileId, time: T0 + 3, fileStatus: "ocr" }));
    job = await jobDetail(`alfred:job:${jobId}`, token);
    expect(job.files).toEqual([{ jobKey: `alfred:file:${fileId}`, status: "processing" }]);

    await sendAlfredStored(alfredEvent("file_failed", { fileId, time: T0 + 4 }));
    job = await jobDetail(`alfred:job:${jobId}`, token);
    expect(job.files).toEqual([{ jobKey: `alfred:file:${fileId}`, status: "failed" }]);

    // The job finishes: the file's `job` shows it.
    await sendAlfredStored(alfredEvent("job_finished", { jobId, time: T0 + 5 }));
    file = await jobDetail(`alfred:file:${fileId}`, token);
    expect(file.job).toEqual({ jobKey: `alfred:job:${jobId}`, status: "succeeded" });
    expect(file.status).toBe("failed");
  });

  it("a job lists every file added to it, once each", async () => {
    const jobId = "link-c-job";
    const files = ["link-c-file-1", "link-c-file-2", "link-c-file-3"];
    await sendAlfredStored(alfredEvent("job_create", { jobId, time: T0 }));
    for (const [i, fileId] of files.entries()) {
      const spelling = (["docs", "sdk", "bare"] as const)[i];
      await sendAlfredStored(alfredEvent("file_add_to_job", { fileId, jobId, time: T0 + 1 + i, spelling }));
    }
    await sendAlfredStored(alfredEvent("file_done", { fileId: "link-c-file-2", time: T0 + 10 }));
    await sendAlfredStored(
      alfredEvent("file_move_to_recycle_bin", { fileId: "link-c-file-3", time: T0 + 10 }),
    );
    // A repeat of a link delivery does not list the file twice.
    const again = alfredEvent("file_add_to_job", { fileId: "link-c-file-1", jobId, time: T0 + 20 });
    await sendAlfredStored(again);
    expect((await sendAlfredStored(again)).duplicate).toBe(true);

    const job = await jobDetail(`alfred:job:${jobId}`, token);
    const listed = [...(job.files ?? [])].sort((a, b) => a.jobKey.localeCompare(b.jobKey));
    expect(listed).toEqual([
      { jobKey: "alfred:file:link-c-file-1", status: "pending" },
      { jobKey: "alfred:file:link-c-file-2", status: "succeeded" },
      { jobKey: "alfred:file:link-c-file-3", status: "deleted" },
    ]);
    for (const fileId of files) {
      const file = await jobDetail(`alfred:file:${fileId}`, token);
      expect(file.job).toEqual({ jobKey: `alfred:job:${jobId}`, status: "pending" });
    }
  });

  it("a job with no files has files: [], an unlinked file has job: null", async () => {
    await sendAlfredStored(alfredEvent("job_create", { jobId: "link-d-job", time: T0 }));
    await sendAlfredStored(alfredEvent("file_done", { fileId: "link-d-file", time: T0 }));
    const job = await jobDetail("alfred:job:link-d-job", token);
    expect(job.files).toEqual([]);
    expect(job).not.toHaveProperty("job");
    const file = await jobDetail("alfred:file:link-d-file", token);
    expect(file.job).toBeNull();
    expect(file).not.toHaveProperty("files");
  });

  it("a job known only from a link is pending with its files, not 404; its first event then counts from itself", async () => {
    await sendAlfredStored(
      alfredEvent("file_add_to_job", { fileId: "link-f-file", jobId: "link-f-job", time: T0 + 5 }),
    );
    const linkedOnly = await jobDetail("alfred:job:link-f-job", token);
    expect(linkedOnly).toMatchObject({
      jobKey: "alfred:job:link-f-job",
      source: "alfred",
      kind: "job",
      id: "link-f-job",
      status: "pending",
      terminal: false,
      eventCount: 0,
      deliveryCount: 0,
      history: [],
      files: [{ jobKey: "alfred:file:link-f-file", status: "pending" }],
    });
    await sendAlfredStored(alfredEvent("job_start", { jobId: "link-f-job", time: T0 + 60 }));
    const started = await jobDetail("alfred:job:link-f-job", token);
    expect(started).toMatchObject({ status: "processing", eventCount: 1, deliveryCount: 1, version: 1 });
    expect(started.firstEventAt).toBe(new Date((T0 + 60) * 1000).toISOString());
    expect(started.files).toEqual([{ jobKey: "alfred:file:link-f-file", status: "pending" }]);
  });

  it("linking one file does not touch another job's files", async () => {
    await sendAlfredStored(alfredEvent("job_create", { jobId: "link-e-job-1", time: T0 }));
    await sendAlfredStored(alfredEvent("job_create", { jobId: "link-e-job-2", time: T0 }));
    await sendAlfredStored(
      alfredEvent("file_add_to_job", { fileId: "link-e-file", jobId: "link-e-job-1", time: T0 }),
    );
    expect((await jobDetail("alfred:job:link-e-job-1", token)).files).toEqual([
      { jobKey: "alfred:file:link-e-file", status: "pending" },
    ]);
    expect((await jobDetail("alfred:job:link-e-job-2", token)).files).toEqual([]);
  });
});
