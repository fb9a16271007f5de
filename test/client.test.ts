/**
 * The typed-client example of docs/API.md ("Typed client": examples/client.ts, quoted there
 * verbatim) run against the Worker: `hc<App>()` with `SELF.fetch` as its fetch.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import apiDoc from "../docs/API.md?raw";
import { failedJobs } from "../examples/client";
import example from "../examples/client.ts?raw";
import { BASE, createToken, eventually, extendEvent, sendExtend } from "./helpers";

describe("the typed client example", () => {
  it("is quoted in docs/API.md verbatim, and is ten-odd lines", () => {
    expect(apiDoc).toContain(`\`\`\`ts\n${example}\`\`\``);
    expect(example.trim().split("\n").length).toBeLessThanOrEqual(13);
  });

  it("lists failed jobs and reads their histories from a live Worker", async () => {
    const id = `exr_client_${crypto.randomUUID()}`;
    const failed = extendEvent("extract_run.failed", { id, status: "FAILED" });
    expect((await sendExtend(failed)).status).toBe(200);
    const token = await createToken();
    // The list is answered from D1, which the job reaches shortly after the 200.
    const jobs = await eventually(async () => {
      const found = await failedJobs(BASE, token, (input, init) => SELF.fetch(input, init));
      expect(found.map((job) => job.jobKey)).toContain(`extend:extract_run:${id}`);
      return found;
    });
    expect(jobs).toContainEqual({ jobKey: `extend:extract_run:${id}`, events: ["extract_run.failed"] });
  });
});
