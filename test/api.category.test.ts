/**
 * `category=run|resource` on `GET /v1/jobs` and `GET /v1/changes`: runs apart from configuration
 * resources (Extend classifiers, extractors, splitters, workflows), which the console lists on their
 * own. Storage may be shared with other files: each test uses its own ids and its own year of
 * `occurredAt`, and asserts only on the jobs it created.
 */
import { describe, expect, it } from "vitest";
import { apiGet, createToken, eventually, extendEvent, sendExtend, sendStandard } from "./helpers";

interface Page {
  data: { jobKey: string }[];
  nextCursor: string | null;
}

describe("category: runs apart from configuration resources", () => {
  it("lists runs with category=run, resources with category=resource, both without it", async () => {
    const token = await createToken();
    const id = crypto.randomUUID().slice(0, 8);
    // A past year of its own (a future one would be capped by the horizon), so updatedAfter keeps
    // the list to this test's jobs.
    const year = 1971 + Math.floor(Math.random() * 28);
    const at = `${year}-03-01T10:00:00.000Z`;
    const run = `extend:extract_run:exr_cat_${id}`;
    const classifier = `extend:classifier:cl_cat_${id}`;
    const splitter = `extend:splitter:spl_cat_${id}`;
    // A Standard Webhooks job whose kind is spelt like an Extend resource's is still a run.
    const standardWorkflow = `standard:workflow:wf_cat_${id}`;
    for (const [type, payload] of [
      ["extract_run.processed", { object: "extract_run", id: `exr_cat_${id}`, updatedAt: at }],
      ["classifier.created", { object: "classifier", id: `cl_cat_${id}`, updatedAt: at }],
      ["splitter.deleted", { object: "splitter", id: `spl_cat_${id}`, updatedAt: at }],
    ] as const) {
      expect((await sendExtend(extendEvent(type, payload))).status).toBe(200);
    }
    const standard = await sendStandard({
      type: "workflow.completed",
      timestamp: at,
      data: { id: `wf_cat_${id}` },
    });
    expect(standard.status).toBe(200);
    const mine = [run, classifier, splitter, standardWorkflow];
    const keys = async (path: string) => {
      const response = await apiGet(path, token);
      expect(response.status).toBe(200);
      const page = (await response.json()) as Page;
      return page.data.map((job) => job.jobKey).filter((key) => mine.includes(key));
    };
    const since = `limit=200&updatedAfter=${year}-01-01T00:00:00Z&updatedBefore=${year}-12-31T00:00:00Z`;
    await eventually(async () => expect((await keys(`/v1/jobs?${since}`)).sort()).toEqual([...mine].sort()));
    expect((await keys(`/v1/jobs?${since}&category=run`)).sort()).toEqual([run, standardWorkflow].sort());
    expect((await keys(`/v1/jobs?${since}&category=resource`)).sort()).toEqual([classifier, splitter].sort());
    // With the other filters: extend's runs only.
    expect(await keys(`/v1/jobs?${since}&category=run&source=extend`)).toEqual([run]);

    // The change feed takes the same filter.
    const feed = async (category: string) => {
      const seen: string[] = [];
      let after = "";
      for (;;) {
        const response = await apiGet(`/v1/changes?limit=200&category=${category}${after}`, token);
        expect(response.status).toBe(200);
        const page = (await response.json()) as Page & { nextCursor: string; hasMore: boolean };
        seen.push(...page.data.map((job) => job.jobKey).filter((key) => mine.includes(key)));
        if (!page.hasMore) return seen.sort();
        after = `&after=${page.nextCursor}`;
      }
    };
    expect(await feed("resource")).toEqual([classifier, splitter].sort());
    expect(await feed("run")).toEqual([run, standardWorkflow].sort());
  });

  it("refuses any other category with 400 invalid_request", async () => {
    const token = await createToken();
    for (const path of ["/v1/jobs?category=runs", "/v1/changes?category="]) {
      const response = await apiGet(path, token);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { code: "invalid_request" } });
    }
  });
});
