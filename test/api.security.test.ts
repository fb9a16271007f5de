/**
 * Read-API access (CONTRACT §5): every `/v1/*` route wants `Authorization: Bearer <token>`;
 * `/healthz` needs none; unknown routes answer the error envelope; job keys work raw and
 * percent-encoded; a job outside a token's scope is 404, never 403.
 */
import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it, vi } from "vitest";
import {
  apiGet,
  BASE,
  createToken,
  errorCode,
  extendEvent,
  extendSignatureHeaders,
  jobDetail,
  rawExtendRequest,
  sendAlfred,
  sendExtend,
} from "./helpers";

// Ids of this run only: test files may share storage, so nothing here assumes it is alone in it.
const RUN = crypto.randomUUID().slice(0, 8);
const JOB_KEY = `extend:classify_run:clr_security_${RUN}`;
const EVENT_ID = `evt_security_${RUN}`;
const ALFRED_JOB_KEY = `alfred:job:security-alfred-${RUN}`;
const COMPANY = `company_${RUN}`;

let token: string;
let quarantineId: string;

async function expectError(response: Response, status: number, code: string): Promise<void> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  expect(JSON.parse(text)).toEqual({ error: { code, message: expect.any(String) } });
}

beforeAll(async () => {
  token = await createToken();
  const stored = await sendExtend(
    extendEvent(
      "classify_run.processed",
      {
        object: "classify_run",
        id: `clr_security_${RUN}`,
        status: "PROCESSED",
        updatedAt: "2026-02-10T10:00:00Z",
      },
      EVENT_ID,
    ),
  );
  expect(stored.status).toBe(200);
  const alfred = await sendAlfred({
    event_id: `security-alfred-evt-${RUN}`,
    event_type: "job_event_type",
    event_time: "1780000000",
    event: { event_name: "job_start_event", company_id: COMPANY, job_id: `security-alfred-${RUN}` },
  });
  expect(alfred.status, await alfred.clone().text()).toBe(200);
  const body = "not json, but authentic";
  const quarantined = await SELF.fetch(rawExtendRequest(body, await extendSignatureHeaders(body)));
  expect(quarantined.status).toBe(202);
  quarantineId = ((await quarantined.json()) as { quarantineId: string }).quarantineId;
});

describe("/v1/* without a valid bearer token → 401 unauthorized", () => {
  const routes = () => [
    "/v1/jobs",
    "/v1/jobs?source=extend",
    `/v1/jobs/${JOB_KEY}`,
    `/v1/jobs/${encodeURIComponent(JOB_KEY)}`,
    `/v1/jobs/${JOB_KEY}/events/${EVENT_ID}`,
    "/v1/jobs/extend:classify_run:clr_does_not_exist",
    "/v1/quarantine",
    `/v1/quarantine/${quarantineId}`,
  ];

  const variants: [string, () => Record<string, string>][] = [
    ["no Authorization header", () => ({})],
    ["a wrong token", () => ({ authorization: "Bearer rl_test_not_a_real_token" })],
    ["the right token without Bearer", () => ({ authorization: token })],
    ["the right token under another scheme", () => ({ authorization: `Token ${token}` })],
    ["Basic credentials", () => ({ authorization: `Basic ${btoa(`user:${token}`)}` })],
    ["Bearer with no token", () => ({ authorization: "Bearer " })],
    ["the right token in another header", () => ({ "x-api-key": token, "x-token": token })],
  ];

  it.each(variants)("%s", async (_name, headers) => {
    for (const route of routes()) {
      const response = await SELF.fetch(`${BASE}${route}`, { headers: headers() });
      await expectError(response, 401, "unauthorized");
    }
  });

  it("the right token in the query string is not accepted", async () => {
    await expectError(await SELF.fetch(`${BASE}/v1/jobs?token=${token}`), 401, "unauthorized");
    await expectError(
      await SELF.fetch(`${BASE}/v1/jobs?access_token=${encodeURIComponent(token)}`),
      401,
      "unauthorized",
    );
  });

  it("the same routes answer with a valid token", async () => {
    for (const route of routes()) {
      const response = await apiGet(route, token);
      await response.body?.cancel();
      expect(response.status, route).toBe(route.includes("clr_does_not_exist") ? 404 : 200);
    }
  });
});

describe("routes without a token", () => {
  it("GET /healthz needs no token", async () => {
    const response = await SELF.fetch(`${BASE}/healthz`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ ok: true });
  });

  it("GET /healthz ignores a bad Authorization header", async () => {
    const response = await SELF.fetch(`${BASE}/healthz`, { headers: { authorization: "Bearer nonsense" } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  });

  it.each([
    ["POST", "/"],
    ["GET", "/nope"],
    ["GET", "/webhooks"],
    ["POST", "/webhooks/unknown-vendor"],
    ["POST", "/webhooks/extend/extra"],
  ])("%s %s → 404 not_found envelope", async (method, path) => {
    await expectError(await SELF.fetch(`${BASE}${path}`, { method }), 404, "not_found");
  });

  it("an unknown /v1 route with a valid token → 404 not_found envelope", async () => {
    await expectError(await apiGet("/v1/nope", token), 404, "not_found");
  });
});

describe("job keys in the path", () => {
  it("raw and percent-encoded job keys give the same job", async () => {
    const raw = await apiGet(`/v1/jobs/${JOB_KEY}`, token);
    const encoded = await apiGet(`/v1/jobs/${encodeURIComponent(JOB_KEY)}`, token);
    const lowerHex = await apiGet(`/v1/jobs/${encodeURIComponent(JOB_KEY).replaceAll("%3A", "%3a")}`, token);
    expect(raw.status).toBe(200);
    expect(encoded.status).toBe(200);
    expect(lowerHex.status).toBe(200);
    const body = (await raw.json()) as { jobKey: string; status: string };
    expect(body).toMatchObject({ jobKey: JOB_KEY, status: "succeeded" });
    expect(await encoded.json()).toEqual(body);
    expect(await lowerHex.json()).toEqual(body);
  });

  it("raw and percent-encoded job keys give the same raw event", async () => {
    const raw = await apiGet(`/v1/jobs/${JOB_KEY}/events/${EVENT_ID}`, token);
    const encoded = await apiGet(`/v1/jobs/${encodeURIComponent(JOB_KEY)}/events/${EVENT_ID}`, token);
    expect(raw.status).toBe(200);
    expect(encoded.status).toBe(200);
    expect(await encoded.text()).toBe(await raw.text());
  });

  it("an unknown job is 404 not_found, raw or encoded", async () => {
    const unknown = "extend:classify_run:clr_nobody";
    await expectError(await apiGet(`/v1/jobs/${unknown}`, token), 404, "not_found");
    await expectError(await apiGet(`/v1/jobs/${encodeURIComponent(unknown)}`, token), 404, "not_found");
  });

  it("a malformed job key is 404 not_found", async () => {
    await expectError(await apiGet("/v1/jobs/not-a-job-key", token), 404, "not_found");
    await expectError(await apiGet("/v1/jobs/%E0%A4%A", token), 404, "not_found");
  });

  it("a key holding `/` as is is read from the raw path, whichever job route its shape matches", async () => {
    // Routes match without a trailing slash, so `…/stream/` reaches the stream route; the raw path
    // names the detail of a job whose id ends in `/stream/`, and that is what it answers.
    const id = `exr_${crypto.randomUUID()}/stream/`;
    const event = extendEvent("extract_run.processed", { id, status: "PROCESSED" });
    expect((await sendExtend(event)).status).toBe(200);
    for (const path of [`extend:extract_run:${id}`, encodeURIComponent(`extend:extract_run:${id}`)]) {
      const response = await apiGet(`/v1/jobs/${path}`, token);
      expect(response.status, path).toBe(200);
      expect(response.headers.get("content-type")).toContain("application/json");
      expect(await response.json()).toMatchObject({ jobKey: `extend:extract_run:${id}` });
    }
    const eventPath = `/v1/jobs/extend:extract_run:${id}/events/${event.eventId}`;
    expect(await apiGet(eventPath, token).then((r) => r.status)).toBe(200);
    const verification = await apiGet(`${eventPath}/verification`, token);
    expect(await verification.json()).toMatchObject({ verified: true });
  });
});

describe("token scopes", () => {
  interface ListBody {
    data: { jobKey: string; source: string; companyId: string | null }[];
    nextCursor: string | null;
  }

  /** Every job the token lists, page after page. */
  async function listKeys(as: string): Promise<ListBody["data"]> {
    const jobs: ListBody["data"] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`;
      const response = await apiGet(`/v1/jobs?limit=200${query}`, as);
      expect(response.status).toBe(200);
      const list = (await response.json()) as ListBody;
      jobs.push(...list.data);
      cursor = list.nextCursor;
    } while (cursor !== null);
    return jobs;
  }

  /** Both jobs are in D1 (the list is eventually consistent), so a scoped list's absences mean something. */
  async function waitBothListed(): Promise<void> {
    await vi.waitFor(
      async () => {
        const keys = (await listKeys(token)).map((job) => job.jobKey);
        expect(keys).toEqual(expect.arrayContaining([JOB_KEY, ALFRED_JOB_KEY]));
      },
      { timeout: 5_000, interval: 50 },
    );
  }

  it("a token for another source gets 404 (not 403) on an Extend job and its events, and does not list it", async () => {
    const alfredOnly = await createToken({ source: "alfred" });
    await expectError(await apiGet(`/v1/jobs/${JOB_KEY}`, alfredOnly), 404, "not_found");
    await expectError(await apiGet(`/v1/jobs/${JOB_KEY}/events/${EVENT_ID}`, alfredOnly), 404, "not_found");
    await waitBothListed();
    const listed = await listKeys(alfredOnly);
    expect(listed.map((job) => job.jobKey)).not.toContain(JOB_KEY);
    expect(listed.map((job) => job.jobKey)).toContain(ALFRED_JOB_KEY);
    expect(listed.filter((job) => job.source !== "alfred")).toEqual([]);
  });

  it("a company-scoped token gets 404 on an Extend job and lists only its company's Alfred jobs", async () => {
    const companyToken = await createToken({ company: COMPANY });
    await expectError(await apiGet(`/v1/jobs/${JOB_KEY}`, companyToken), 404, "not_found");
    expect((await jobDetail(ALFRED_JOB_KEY, companyToken)).jobKey).toBe(ALFRED_JOB_KEY);
    await waitBothListed();
    const listed = await listKeys(companyToken);
    expect(listed.map((job) => job.jobKey)).not.toContain(JOB_KEY);
    expect(listed.map((job) => job.jobKey)).toContain(ALFRED_JOB_KEY);
    expect(listed.filter((job) => job.source !== "alfred" || job.companyId !== COMPANY)).toEqual([]);
    const otherCompany = await createToken({ company: `company_other_${RUN}` });
    expect(await listKeys(otherCompany)).toEqual([]);
    await expectError(await apiGet(`/v1/jobs/${ALFRED_JOB_KEY}`, otherCompany), 404, "not_found");
  });

  it("an Extend-scoped token sees the Extend job, lists it, and not the Alfred one", async () => {
    const extendOnly = await createToken({ source: "extend" });
    expect((await jobDetail(JOB_KEY, extendOnly)).jobKey).toBe(JOB_KEY);
    await expectError(await apiGet(`/v1/jobs/${ALFRED_JOB_KEY}`, extendOnly), 404, "not_found");
    await waitBothListed();
    const listed = (await listKeys(extendOnly)).map((job) => job.jobKey);
    expect(listed).toContain(JOB_KEY);
    expect(listed).not.toContain(ALFRED_JOB_KEY);
  });
});

describe("webhook URL edges", () => {
  it("an empty Alfred token (trailing slash) is 401 unauthorized, not 404", async () => {
    const response = await SELF.fetch(`${BASE}/webhooks/alfred/`, { method: "POST", body: "{}" });
    expect(response.status).toBe(401);
    expect(await errorCode(response)).toBe("unauthorized");
  });

  it("405 names the allowed method", async () => {
    const response = await SELF.fetch(`${BASE}/webhooks/extend`, { method: "GET" });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST");
  });
});
