import { SELF } from "cloudflare:test";
import * as v from "valibot";
import { describe, expect, it, vi } from "vitest";
import { jobDetailSchema, jobListSchema } from "../src/api/schemas";
import { BASE, createToken, extendEvent, jobDetail, sendExtend } from "./helpers";

interface OpenApiDoc {
  openapi: string;
  paths: Record<string, { get: { parameters?: { name: string }[]; responses: Record<string, unknown> } }>;
}

describe("GET /openapi.json", () => {
  it("describes every read route, with the list filters as parameters", async () => {
    const response = await SELF.fetch(`${BASE}/openapi.json`);
    expect(response.status).toBe(200);
    const doc = (await response.json()) as OpenApiDoc;
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/v1/jobs",
        "/v1/jobs/{jobKey}",
        "/v1/jobs/{jobKey}/events/{eventId}",
        "/v1/quarantine",
        "/v1/quarantine/{id}",
      ]),
    );
    const listParameters = doc.paths["/v1/jobs"]?.get.parameters?.map((p) => p.name);
    expect(listParameters).toEqual([
      "source",
      "kind",
      "status",
      "company",
      "updatedAfter",
      "updatedBefore",
      "limit",
      "cursor",
    ]);
    expect(JSON.stringify(doc.paths["/v1/jobs/{jobKey}"]?.get.responses["200"])).toContain("history");
    // The detail's pages (README "Pages of a job's detail").
    expect(doc.paths["/v1/jobs/{jobKey}"]?.get.parameters?.map((p) => p.name)).toEqual([
      "jobKey",
      "historyCursor",
      "historyLimit",
      "filesCursor",
    ]);
    expect(JSON.stringify(doc.paths["/v1/jobs/{jobKey}"]?.get.responses["200"])).toContain(
      "historyNextCursor",
    );
  });

  it("matches what the routes answer: responses validate against the documented schemas", async () => {
    const event = extendEvent("extract_run.processed", { id: "exr_openapi", status: "PROCESSED" });
    expect((await sendExtend(event)).status).toBe(200);
    const token = await createToken();
    const detail = await jobDetail<unknown>("extend:extract_run:exr_openapi", token);
    expect(v.safeParse(jobDetailSchema, detail).issues).toBeUndefined();
    // The list is answered from D1, which the ledger reaches shortly after the 200: wait until the
    // stored job is listed, so the list validated below is not an empty one.
    const list = await vi.waitFor(
      async () => {
        const response = await SELF.fetch(`${BASE}/v1/jobs`, {
          headers: { authorization: `Bearer ${token}` },
        });
        expect(response.status).toBe(200);
        const body = (await response.json()) as { data?: { jobKey?: unknown }[] };
        expect(body.data?.map((job) => job.jobKey)).toContain("extend:extract_run:exr_openapi");
        return body;
      },
      { timeout: 5_000, interval: 50 },
    );
    expect(v.safeParse(jobListSchema, list).issues).toBeUndefined();
  });
});
