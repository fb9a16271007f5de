import { describe, expect, it } from "vitest";
import { createToken, jobDetail, sendAlfred } from "./helpers";

// Ids of this run only (test files may share storage): the docs' example itself is stored by
// alfred.events.test.ts, with its own ids.
const RUN = crypto.randomUUID().slice(0, 8);
const JOB_ID = `45678901-5678-5678-5678-${RUN}`;

describe("Alfred smoke", () => {
  it("stores the docs' job failed example and links a file", async () => {
    const response = await sendAlfred({
      event_id: `f3g4h5i6-j7k8-l9m0-n1o2-${RUN}`,
      event_type: "job_event_type",
      event_time: "1653139800.00",
      event: {
        event_name: "job_failed_event",
        event_type: "job_event_type",
        company_id: "34567890-4567-4567-4567-4567890123ef",
        company_name: "Innovative Solutions",
        job_id: JOB_ID,
        retries: "3",
        exceeded_retries: "false",
        error_messages: ["Network connectivity issues", "Database timeout error"],
        creation_date: "2023-05-21T15:20:00Z",
        update_date: "2023-05-21T16:40:00Z",
      },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      jobKey: `alfred:job:${JOB_ID}`,
    });
    const link = await sendAlfred({
      event_id: `link-${RUN}`,
      event_type: "file_event",
      event_time: 1653139801,
      event: {
        event_name: "alfred_event_file_add_to_job",
        file_id: `file-${RUN}`,
        job_id: JOB_ID,
      },
    });
    expect(link.status).toBe(200);
    const token = await createToken();
    const job = await jobDetail(`alfred:job:${JOB_ID}`, token);
    expect(job).toMatchObject({
      status: "failed",
      terminal: false,
      retries: 3,
      firstEventAt: "2022-05-21T13:30:00.000Z",
      failure: { messages: ["Network connectivity issues", "Database timeout error"] },
      files: [{ jobKey: `alfred:file:file-${RUN}`, status: "pending" }],
    });
    const file = await jobDetail(`alfred:file:file-${RUN}`, token);
    expect(file.job).toEqual({ jobKey: `alfred:job:${JOB_ID}`, status: "failed" });
  });
});
