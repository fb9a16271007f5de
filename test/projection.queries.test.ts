/**
 * `GET /v1/jobs` stays cheap as D1 grows: every page seeks into an index that serves its filter and
 * the token's scope, in the list's own order, instead of scanning the table or sorting it
 * (`EXPLAIN QUERY PLAN` on the statements the route runs).
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type JobQuery, listJobsStatement } from "../src/projection/jobs";

const ALL: JobQuery = {
  sources: null,
  kinds: null,
  statuses: null,
  companies: null,
  updatedAfter: null,
  updatedBefore: null,
  limit: 51,
  after: null,
};
const CURSOR = { lastEventAt: Date.UTC(2026, 0, 1), jobKey: "extend:classify_run:clr_x" };

async function plan(query: JobQuery): Promise<string> {
  const { sql, params } = listJobsStatement(query);
  const rows = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
    .bind(...params)
    .all<{ detail: string }>();
  return rows.results.map((row) => row.detail).join(" | ");
}

describe("list query plans", () => {
  it.each([
    ["a later page of the whole list", { ...ALL, after: CURSOR }, "jobs_by_last_event"],
    ["a company scope", { ...ALL, companies: ["co-1"], after: CURSOR }, "jobs_by_company"],
    ["a source scope", { ...ALL, sources: ["alfred" as const], after: CURSOR }, "jobs_by_source"],
    ["source and kind", { ...ALL, sources: ["extend" as const], kinds: ["classify_run"] }, "jobs_by_source"],
    ["one status", { ...ALL, statuses: ["failed" as const], after: CURSOR }, "jobs_by_status"],
    ["a time window", { ...ALL, updatedAfter: 1, updatedBefore: 2 }, "jobs_by_last_event"],
  ])("%s seeks with an index, never a table scan or a sort", async (_, query, index) => {
    const detail = await plan(query);
    expect(detail).toContain(`SEARCH jobs USING INDEX ${index}`);
    expect(detail).not.toMatch(/SCAN jobs(?! USING)/);
    expect(detail).not.toContain("TEMP B-TREE");
  });

  it("the first page of the whole list reads the index in order and stops at the limit", async () => {
    const detail = await plan(ALL);
    expect(detail).toMatch(/(SCAN|SEARCH) jobs USING (COVERING )?INDEX jobs_by_last_event/);
    expect(detail).not.toContain("TEMP B-TREE");
  });
});
