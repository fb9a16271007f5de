/**
 * Standard Webhooks jobs and read-token scopes (CONTRACT §5): a `--source standard` token sees
 * standard jobs only; a token scoped to another source, or to a company (Standard Webhooks jobs
 * carry none), gets 404 for them, never 403, and finds none in the list or the feed.
 */
import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import {
  allQuarantine,
  apiGet,
  apiStatus,
  createToken,
  eventually,
  extendEvent,
  sendExtend,
  sendStandard,
  signedStandardRequest,
} from "./helpers";

// Ids of this run only: test files may share storage (vitest.config.ts, ALONE).
const RUN = crypto.randomUUID().slice(0, 8);
const JOB_KEY = `standard:export:exp_security_${RUN}`;
const EVENT_ID = `msg_security_${RUN}`;
const EXTEND_KEY = `extend:classify_run:clr_standard_security_${RUN}`;

/**
 * Every job key a list (`/v1/jobs?…`) or the change feed (`/v1/changes?…`) gives the token, page
 * after page: storage may hold other files' jobs, so nothing here reads only a first page.
 */
async function jobKeys(path: string, token: string): Promise<string[]> {
  const feed = path.startsWith("/v1/changes");
  const keys: string[] = [];
  let cursor: string | null = null;
  for (;;) {
    const next: string =
      cursor === null
        ? ""
        : `${path.includes("?") ? "&" : "?"}${feed ? "after" : "cursor"}=${encodeURIComponent(cursor)}`;
    const response = await apiGet(`${path}${next}`, token);
    expect(response.status).toBe(200);
    const page = (await response.json()) as { data: { jobKey: string }[]; nextCursor: string | null };
    keys.push(...page.data.map((job) => job.jobKey));
    // A list's last page has no cursor; the feed always has one, and its end is an empty page.
    if (page.nextCursor === null || (feed && page.data.length === 0)) return keys;
    cursor = page.nextCursor;
  }
}

let quarantineId: string;
beforeAll(async () => {
  expect(
    (await sendStandard({ type: "export.started", data: { id: `exp_security_${RUN}` } }, { id: EVENT_ID }))
      .status,
  ).toBe(200);
  expect(
    (await sendExtend(extendEvent("classify_run.processed", { id: `clr_standard_security_${RUN}` }))).status,
  ).toBe(200);
  const quarantined = await SELF.fetch(await signedStandardRequest("not json"));
  expect(quarantined.status).toBe(202);
  quarantineId = ((await quarantined.json()) as { quarantineId: string }).quarantineId;
  // Both jobs are in the list before any scope is checked against it.
  const all = await createToken();
  await eventually(async () => {
    const keys = await jobKeys("/v1/jobs?limit=200", all);
    expect(keys).toContain(JOB_KEY);
    expect(keys).toContain(EXTEND_KEY);
  });
});

describe("a token scoped to source standard", () => {
  it("reads standard jobs, their events and their verification; other sources' jobs are 404", async () => {
    const token = await createToken({ source: "standard" });
    expect(await apiStatus(`/v1/jobs/${JOB_KEY}`, token)).toBe(200);
    expect(await apiStatus(`/v1/jobs/${JOB_KEY}/events/${EVENT_ID}`, token)).toBe(200);
    expect(await apiStatus(`/v1/jobs/${JOB_KEY}/events/${EVENT_ID}/verification`, token)).toBe(200);
    expect(await apiStatus(`/v1/jobs/${EXTEND_KEY}`, token)).toBe(404);
  });

  it("lists and feeds only standard jobs, and sees only standard quarantine entries", async () => {
    const token = await createToken({ source: "standard" });
    const listed = await jobKeys("/v1/jobs?limit=200", token);
    expect(listed).toContain(JOB_KEY);
    expect(listed.every((key) => key.startsWith("standard:"))).toBe(true);
    expect(await jobKeys("/v1/jobs?source=extend", token)).toEqual([]);
    const fed = await jobKeys("/v1/changes?limit=200", token);
    expect(fed).toContain(JOB_KEY);
    expect(fed.every((key) => key.startsWith("standard:"))).toBe(true);
    const quarantine = await allQuarantine(token);
    expect(quarantine.map((entry) => entry.id)).toContain(quarantineId);
    expect(quarantine.every((entry) => entry.source === "standard")).toBe(true);
  });
});

describe("tokens scoped elsewhere get 404 for standard jobs", () => {
  it.each([
    ["source extend", { source: "extend" }],
    ["source alfred", { source: "alfred" }],
    ["a company (standard jobs carry none)", { company: "company_1" }],
  ])("%s", async (_, scope) => {
    const token = await createToken(scope);
    expect(await apiStatus(`/v1/jobs/${JOB_KEY}`, token)).toBe(404);
    expect(await apiStatus(`/v1/jobs/${encodeURIComponent(JOB_KEY)}`, token)).toBe(404);
    expect(await apiStatus(`/v1/jobs/${JOB_KEY}/events/${EVENT_ID}`, token)).toBe(404);
    expect(await apiStatus(`/v1/jobs/${JOB_KEY}/events/${EVENT_ID}/verification`, token)).toBe(404);
    expect(await apiStatus(`/v1/jobs/${JOB_KEY}/stream`, token)).toBe(404);
    expect(await apiStatus(`/v1/quarantine/${quarantineId}`, token)).toBe(404);
    expect(await jobKeys("/v1/jobs?source=standard", token)).toEqual([]);
    expect(await jobKeys("/v1/changes?source=standard", token)).toEqual([]);
    expect(await jobKeys("/v1/jobs?limit=200", token)).not.toContain(JOB_KEY);
  });
});
