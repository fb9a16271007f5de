import { env } from "cloudflare:test";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { jobSummarySchema, rowToSummary, SUMMARY_COLUMNS, SUMMARY_FIELDS, summaryToRow } from "./summary";

describe("the summary's one description", () => {
  it("names exactly the columns D1's migrations give `jobs`, besides the change sequence", async () => {
    const { results } = await env.DB.prepare("SELECT name FROM pragma_table_info('jobs')").all<{
      name: string;
    }>();
    const migrated = results.map((row) => row.name).filter((name) => name !== "seq");
    expect([...SUMMARY_COLUMNS].sort()).toEqual(migrated.sort());
  });

  it("is the API schema's fields, in its order", () => {
    expect(Object.keys(jobSummarySchema.entries)).toEqual(Object.keys(SUMMARY_FIELDS));
  });

  it("goes to a D1 row and back unchanged, and the row is what the columns keep", () => {
    const summary = v.parse(jobSummarySchema, {
      jobKey: "alfred:job:42",
      source: "alfred",
      kind: "job",
      id: "42",
      status: "failed",
      vendorStatus: "failed",
      terminal: true,
      companyId: "c1",
      companyName: null,
      name: "invoice.pdf",
      stage: "extraction",
      retries: 3,
      failure: { reason: "timeout", messages: ["took too long"] },
      firstEventAt: "2026-01-02T03:04:05.006Z",
      lastEventAt: "2026-01-02T03:04:06.007Z",
      lastReceivedAt: "2026-01-02T03:04:07.008Z",
      eventCount: 4,
      deliveryCount: 5,
      version: 5,
    });
    const row = summaryToRow(summary);
    expect(row).toMatchObject({
      job_key: "alfred:job:42",
      terminal: 1,
      failure: '{"reason":"timeout","messages":["took too long"]}',
      first_event_at: Date.parse("2026-01-02T03:04:05.006Z"),
    });
    expect(rowToSummary(row)).toEqual(summary);
  });
});
