/**
 * The change feed (CONTRACT §6): every change in the order D1 accepted it, resumable from an opaque
 * cursor, never skipping one; `after=latest`; long polls woken by the projection; filters and token
 * scopes; 400 for bad parameters and for cursors of another route.
 */
import { createExecutionContext, env, SELF, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { HUB_NAME } from "../src/changes/hub";
import {
  apiGet,
  BASE,
  createToken,
  errorCode,
  eventually,
  extendEvent,
  revokeToken,
  sendAlfred,
  sendExtend,
  withinWaitLimit,
} from "./helpers";

interface ChangesPage {
  data: { jobKey: string; version: number; status: string; source: string; companyId: string | null }[];
  nextCursor: string;
  hasMore: boolean;
}

let token: string;
beforeAll(async () => {
  token = await createToken();
});

async function changes(query: string, as = token): Promise<ChangesPage> {
  const response = await apiGet(`/v1/changes${query}`, as);
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return JSON.parse(text) as ChangesPage;
}

/** Follows the feed from `cursor` until it has nothing more; every job's latest version seen. */
async function drain(
  cursor: string | null,
  as = token,
  limit = 3,
): Promise<{ seen: Map<string, number>; cursor: string }> {
  const seen = new Map<string, number>();
  let next = cursor;
  for (;;) {
    const after = next === null ? "" : `after=${encodeURIComponent(next)}&`;
    const page = await changes(`?${after}limit=${limit}`, as);
    const keys = page.data.map((job) => job.jobKey);
    expect(new Set(keys).size, "a job twice in one page").toBe(keys.length);
    for (const job of page.data) seen.set(job.jobKey, Math.max(seen.get(job.jobKey) ?? 0, job.version));
    next = page.nextCursor;
    if (page.data.length === 0) return { seen, cursor: next };
  }
}

async function stored(response: Response): Promise<void> {
  expect(response.status, await response.clone().text()).toBe(200);
}

const run = (id: string, type = "extract_run.processed") => extendEvent(type, { id, status: "PROCESSED" });

describe("GET /v1/changes", () => {
  it("after=latest is an empty page at the current end; later changes follow it, each job once, at its newest", async () => {
    const start = await changes("?after=latest");
    expect(start).toMatchObject({ data: [], hasMore: false });
    const event = run("exr_feed_a");
    await stored(await sendExtend(event));
    await stored(await sendExtend(event));
    await stored(await sendExtend(run("exr_feed_b")));
    const keys = ["extend:extract_run:exr_feed_a", "extend:extract_run:exr_feed_b"];
    await eventually(async () => {
      const { seen } = await drain(start.nextCursor);
      expect(Object.fromEntries(seen)).toEqual({ [keys[0] as string]: 2, [keys[1] as string]: 1 });
    });
    // The same empty page's cursor can be used again; a drained cursor stays where it is.
    const again = await changes(`?after=${start.nextCursor}&limit=1`);
    expect(again.data).toHaveLength(1);
    expect(again.hasMore).toBe(true);
  });

  it("without after, starts at the beginning; a job that changes during the walk comes back later, newer", async () => {
    await stored(await sendExtend(run("exr_walk_1")));
    await stored(await sendExtend(run("exr_walk_2")));
    await eventually(async () => {
      const { seen } = await drain(null, token, 200);
      expect(seen.has("extend:extract_run:exr_walk_2")).toBe(true);
    });
    const first = await changes("?limit=1");
    expect(first.data).toHaveLength(1);
    const moved = first.data[0] as ChangesPage["data"][number];
    // The first job changes: the walk from this page's cursor must see it again, at a newer version.
    const [, kind, id] = moved.jobKey.split(":") as [string, string, string];
    if (moved.source === "extend") await stored(await sendExtend(extendEvent(`${kind}.processed`, { id })));
    await eventually(async () => {
      const { seen } = await drain(first.nextCursor, token, 50);
      expect(seen.get(moved.jobKey)).toBeGreaterThan(moved.version);
    });
  });

  it("long poll: woken by the next projection write, before its wait runs out", async () => {
    const { nextCursor } = await changes("?after=latest");
    const hub = env.CHANGES.get(env.CHANGES.idFromName(HUB_NAME));
    const waiting = apiGet(`/v1/changes?after=${nextCursor}&wait=25`, token);
    await eventually(async () => expect(await hub.waiting()).toBeGreaterThan(0));
    await stored(await sendExtend(run("exr_long_poll")));
    const outOfTime = new Promise<"out of time">((resolve) =>
      setTimeout(() => resolve("out of time"), 22_000),
    );
    const answered = await Promise.race([waiting, outOfTime]);
    expect(answered).not.toBe("out of time");
    const page = (await (answered as Response).json()) as ChangesPage;
    expect(page.data.map((job) => job.jobKey)).toContain("extend:extract_run:exr_long_poll");
  });

  it("long poll: an empty page after the wait when nothing happens", async () => {
    const { nextCursor } = await changes("?after=latest&source=alfred&company=nobody-co");
    const page = await changes(`?after=${nextCursor}&wait=1&source=alfred&company=nobody-co`);
    expect(page).toEqual({ data: [], nextCursor: expect.any(String), hasMore: false });
  });

  it("long poll: a token revoked while it waits is answered 401, long before its wait runs out (CONTRACT §5)", async () => {
    const revocable = await createToken();
    // Filters nothing matches: only the revocation can end this wait early.
    const filters = "source=alfred&company=nobody-revoked";
    const { nextCursor } = await changes(`?after=latest&${filters}`, revocable);
    const hub = env.CHANGES.get(env.CHANGES.idFromName(HUB_NAME));
    // The contract's 60 s, shortened: the token is asked again every 50 ms instead of every 15 s.
    const app = createApp({ tokenRecheckMs: 50 });
    const ctx = createExecutionContext();
    const waiting = app.fetch(
      new Request(`${BASE}/v1/changes?after=${nextCursor}&wait=25&${filters}`, {
        headers: { authorization: `Bearer ${revocable}` },
      }),
      env,
      ctx,
    );
    // It passed its token check and waits in the hub.
    await eventually(async () => expect(await hub.waiting()).toBeGreaterThan(0));
    await revokeToken(revocable);
    const answer = await withinWaitLimit(waiting, "the long poll's answer");
    expect(answer.status).toBe(401);
    expect(await errorCode(answer)).toBe("unauthorized");
    await waitOnExecutionContext(ctx);
  });

  it("token scopes and filters apply: a company token sees only that company's jobs", async () => {
    const scoped = await createToken({ company: "feed-co" });
    const start = (await changes("?after=latest", scoped)).nextCursor;
    const alfred = (job: string, company: string) => ({
      event_id: `feed-${job}`,
      event_type: "job_event_type",
      event_time: 1653139800,
      event: { event_name: "job_start_event", job_id: job, company_id: company },
    });
    expect((await sendAlfred(alfred("feed-mine", "feed-co"))).status).toBe(200);
    expect((await sendAlfred(alfred("feed-other", "other-co"))).status).toBe(200);
    await stored(await sendExtend(run("exr_feed_scoped")));
    await eventually(async () => {
      const all = await drain(start);
      expect(all.seen.has("alfred:job:feed-other")).toBe(true);
      expect(all.seen.has("extend:extract_run:exr_feed_scoped")).toBe(true);
    });
    const mine = await drain(start, scoped);
    expect([...mine.seen.keys()]).toEqual(["alfred:job:feed-mine"]);
    const filtered = await drain(start, token);
    expect(filtered.seen.size).toBeGreaterThanOrEqual(3);
    const failedOnly = await changes(`?after=${start}&status=failed`);
    expect(failedOnly.data).toEqual([]);
  });

  it.each([
    ["a malformed cursor", "?after=not-a-cursor"],
    ["a cursor of /v1/jobs", null],
    ["limit 0", "?limit=0"],
    ["limit 201", "?limit=201"],
    ["wait 26", "?wait=26"],
    ["wait -1", "?wait=-1"],
    ["wait 1.5", "?wait=1.5"],
    ["an unknown parameter", "?since=1"],
  ])("%s → 400 invalid_request", async (_, query) => {
    let path = query;
    if (path === null) {
      await stored(await sendExtend(run("exr_cursor_1")));
      await stored(await sendExtend(run("exr_cursor_2")));
      const list = await eventually(async () => {
        const page = (await (await apiGet("/v1/jobs?limit=1", token)).json()) as {
          nextCursor: string | null;
        };
        expect(page.nextCursor).not.toBeNull();
        return page;
      });
      path = `?after=${list.nextCursor}`;
    }
    const response = await apiGet(`/v1/changes${path}`, token);
    expect(response.status).toBe(400);
    expect(await errorCode(response)).toBe("invalid_request");
  });

  it("needs a token", async () => {
    const response = await SELF.fetch("https://runledger.test/v1/changes");
    expect(response.status).toBe(401);
  });
});
