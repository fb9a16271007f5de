/**
 * What Alfred deliveries are refused, quarantined or counted as repeats (CONTRACT §3.2, §3.3): the
 * URL token, the company allow-list, the url_verification handshake, the method, malformed bodies,
 * unknown events and duplicate event ids.
 */
import { createExecutionContext, env, SELF, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../src/index";
import { type AlfredEnvelope, alfredEvent } from "./fixtures/alfred/events";
import {
  ALFRED_OTHER_TOKEN,
  ALFRED_TOKEN,
  alfredRequest,
  apiGet,
  createToken,
  type ErrorBody,
  EXTEND_SECRET,
  jobDetail,
  jobStatusCode,
  quarantineEntries,
  sendAlfred,
  sendAlfredStored,
} from "./helpers";

let token: string;
beforeAll(async () => {
  token = await createToken();
});

const HANDSHAKE = {
  token: "Jhj5dZrVaK7ZwHHjRyZWjbDl",
  challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
  type: "url_verification",
};

/** Runs the Worker itself with an Alfred company allow-list, against the same DO and D1. */
async function sendWithAllowList(body: string | object, allow = "allowed-co", urlToken = ALFRED_TOKEN) {
  const ctx = createExecutionContext();
  const request = alfredRequest(
    "POST",
    urlToken,
    typeof body === "string" ? body : JSON.stringify(body),
  ) as Request<unknown, IncomingRequestCfProperties>;
  const response = await worker.fetch(request, { ...env, ALFRED_COMPANY_IDS: allow }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

async function expectError(response: Response, status: number, code: string): Promise<void> {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toContain("application/json");
  const body = (await response.json()) as ErrorBody;
  expect(body).toEqual({ error: { code, message: expect.any(String) } });
}

describe("URL token", () => {
  it.each([
    ["a wrong token", "not-the-token"],
    ["a token differing in case", "ALFRED-TEST-TOKEN"],
    ["a token with a suffix", "alfred-test-token-x"],
    ["a prefix of a token", "alfred-test"],
    ["both tokens joined", "alfred-test-token,alfred-other-token"],
    ["the Extend secret", EXTEND_SECRET],
  ])("%s → 401 unauthorized, nothing stored", async (label, urlToken) => {
    const jobId = `unauth-${label.replaceAll(" ", "-")}`;
    const response = await sendAlfred(alfredEvent("job_create", { jobId }), urlToken);
    await expectError(response, 401, "unauthorized");
    expect(await jobStatusCode(`alfred:job:${jobId}`, token)).toBe(404);
  });

  it("no token at all (POST /webhooks/alfred) → 401", async () => {
    const body = JSON.stringify(alfredEvent("job_create", { jobId: "unauth-none" }));
    await expectError(await SELF.fetch(alfredRequest("POST", null, body)), 401, "unauthorized");
    expect(await jobStatusCode("alfred:job:unauth-none", token)).toBe(404);
  });

  it("a wrong token with a malformed body → 401, not quarantined", async () => {
    const before = (await quarantineEntries(token)).length;
    await expectError(await sendAlfred("{not json", "not-the-token"), 401, "unauthorized");
    expect((await quarantineEntries(token)).length).toBe(before);
  });

  it("the second configured token is accepted", async () => {
    const stored = await sendAlfredStored(
      alfredEvent("job_create", { jobId: "other-token" }),
      ALFRED_OTHER_TOKEN,
    );
    expect(stored.jobKey).toBe("alfred:job:other-token");
    expect((await jobDetail(stored.jobKey, token)).status).toBe("pending");
  });
});

describe("method", () => {
  it.each(["GET", "PUT", "DELETE", "PATCH"])("%s → 405 method_not_allowed", async (method) => {
    const body =
      method === "GET" ? undefined : JSON.stringify(alfredEvent("job_create", { jobId: `m-${method}` }));
    await expectError(await SELF.fetch(alfredRequest(method, ALFRED_TOKEN, body)), 405, "method_not_allowed");
    expect(await jobStatusCode(`alfred:job:m-${method}`, token)).toBe(404);
  });

  it("the method is checked before the token", async () => {
    await expectError(await SELF.fetch(alfredRequest("GET", "not-the-token")), 405, "method_not_allowed");
  });
});

describe("url_verification handshake", () => {
  it("echoes the challenge as JSON and stores nothing", async () => {
    const before = (await quarantineEntries(token)).length;
    const response = await sendAlfred(HANDSHAKE);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/json");
    expect(await response.json()).toEqual({ challenge: HANDSHAKE.challenge });
    expect((await quarantineEntries(token)).length).toBe(before);
  });

  it("echoes whatever challenge it is given, byte for byte in value", async () => {
    const challenge = `chal-${crypto.randomUUID()}-ü/+=`;
    const response = await sendAlfred({ type: "url_verification", challenge, token: "T" });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ challenge });
  });

  it("a wrong URL token → 401, no challenge", async () => {
    const response = await sendAlfred(HANDSHAKE, "not-the-token");
    expect(response.status).toBe(401);
    const text = await response.text();
    expect(text).not.toContain(HANDSHAKE.challenge);
    expect((JSON.parse(text) as ErrorBody).error.code).toBe("unauthorized");
  });

  it("works with the second token and with a company allow-list in force", async () => {
    const other = await sendAlfred(HANDSHAKE, ALFRED_OTHER_TOKEN);
    expect(other.status).toBe(200);
    expect(await other.json()).toEqual({ challenge: HANDSHAKE.challenge });
    const listed = await sendWithAllowList(HANDSHAKE);
    expect(listed.status).toBe(200);
    expect(await listed.json()).toEqual({ challenge: HANDSHAKE.challenge });
  });
});

describe("company allow-list (ALFRED_COMPANY_IDS)", () => {
  it("an allowed company is stored", async () => {
    const body = alfredEvent("job_create", { jobId: "co-allowed", companyId: "allowed-co" });
    const response = await sendWithAllowList(body);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      ok: true,
      eventId: body.event_id,
      jobKey: "alfred:job:co-allowed",
      duplicate: false,
    });
    expect((await jobDetail("alfred:job:co-allowed", token)).companyId).toBe("allowed-co");
  });

  it("any company of a comma-separated list is allowed", async () => {
    const body = alfredEvent("job_start", { jobId: "co-list", companyId: "allowed-co", typed: "native" });
    expect((await sendWithAllowList(body, "first-co, allowed-co,third-co")).status).toBe(200);
    expect(await jobStatusCode("alfred:job:co-list", token)).toBe(200);
  });

  it("a job event of another company → 403 forbidden_company, nothing stored", async () => {
    const body = alfredEvent("job_create", { jobId: "co-denied", companyId: "intruder-co" });
    await expectError(await sendWithAllowList(body), 403, "forbidden_company");
    expect(await jobStatusCode("alfred:job:co-denied", token)).toBe(404);
  });

  it("a file event of another company → 403, nothing stored", async () => {
    const body = alfredEvent("file_done", { fileId: "co-denied-file", companyId: "intruder-co" });
    await expectError(await sendWithAllowList(body), 403, "forbidden_company");
    expect(await jobStatusCode("alfred:file:co-denied-file", token)).toBe(404);
  });

  it("an event without company_id → 403 when a list is set", async () => {
    const body = alfredEvent("job_create", { jobId: "co-missing", fields: { company_id: undefined } });
    expect(body.event).not.toHaveProperty("company_id");
    await expectError(await sendWithAllowList(body), 403, "forbidden_company");
    expect(await jobStatusCode("alfred:job:co-missing", token)).toBe(404);
  });

  it("the allow-list is checked after the URL token", async () => {
    const body = alfredEvent("job_create", { jobId: "co-token-first", companyId: "intruder-co" });
    await expectError(await sendWithAllowList(body, "allowed-co", "not-the-token"), 401, "unauthorized");
  });

  it("the allow-list is checked before the event schema (a bad event of another company is 403)", async () => {
    const body = alfredEvent("job_failed", {
      jobId: "co-bad-schema",
      companyId: "intruder-co",
      fields: { retries: "three" },
    });
    await expectError(await sendWithAllowList(body), 403, "forbidden_company");
  });

  it("a body that is not JSON is quarantined before the allow-list is consulted", async () => {
    const response = await sendWithAllowList("{not json at all");
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ ok: true, quarantined: true });
  });

  it("with no list configured (the test default) any company is stored", async () => {
    const stored = await sendAlfredStored(
      alfredEvent("job_create", { jobId: "co-any", companyId: "whoever" }),
    );
    expect(stored.jobKey).toBe("alfred:job:co-any");
  });
});

function withEvent(base: AlfredEnvelope, changes: Record<string, unknown>): AlfredEnvelope {
  return { ...base, event: { ...base.event, ...changes } };
}

interface QuarantineCase {
  label: string;
  body: string;
  /** A job key that must not exist afterwards. */
  key?: string;
  /** A fragment of the path of at least one quarantine reason. */
  path?: string;
}

const created = alfredEvent("job_create", { jobId: "q-base" });
const QUARANTINE_CASES: QuarantineCase[] = [
  { label: "not JSON", body: '{"event_id": "x", "event_type": ' },
  { label: "a JSON array", body: "[]" },
  { label: "JSON null", body: "null" },
  {
    label: "no event object",
    body: JSON.stringify({
      event_id: "q-no-event",
      event_type: "job_event_type",
      event_time: "1653139800.00",
    }),
  },
  {
    label: "event is a string",
    body: JSON.stringify({ ...created, event: "job_create_event" }),
  },
  {
    label: "event_name empty",
    body: JSON.stringify(withEvent(alfredEvent("job_create", { jobId: "q-name-empty" }), { event_name: "" })),
    key: "alfred:job:q-name-empty",
    path: "event_name",
  },
  {
    label: "event_name not a string",
    body: JSON.stringify(
      withEvent(alfredEvent("job_create", { jobId: "q-name-number" }), { event_name: 42 }),
    ),
    key: "alfred:job:q-name-number",
    path: "event_name",
  },
  {
    label: 'retries: "three"',
    body: JSON.stringify(alfredEvent("job_failed", { jobId: "q-retries", fields: { retries: "three" } })),
    key: "alfred:job:q-retries",
    path: "retries",
  },
  {
    label: 'exceeded_retries: "maybe"',
    body: JSON.stringify(
      alfredEvent("job_failed", { jobId: "q-exceeded", fields: { exceeded_retries: "maybe" } }),
    ),
    key: "alfred:job:q-exceeded",
    path: "exceeded_retries",
  },
  {
    label: 'event_time: "yesterday"',
    body: JSON.stringify({ ...alfredEvent("job_start", { jobId: "q-time" }), event_time: "yesterday" }),
    key: "alfred:job:q-time",
    path: "event_time",
  },
  {
    label: "no event_id",
    body: JSON.stringify({ ...alfredEvent("job_start", { jobId: "q-no-id" }), event_id: undefined }),
    key: "alfred:job:q-no-id",
  },
  {
    label: "a job event without job_id",
    body: JSON.stringify(alfredEvent("job_finished", { jobId: "q-unused", fields: { job_id: undefined } })),
    key: "alfred:job:q-unused",
  },
  {
    label: "a file event with neither file_id nor file_log_id",
    body: JSON.stringify(alfredEvent("file_done", { fileId: "q-file", fields: { file_id: undefined } })),
    key: "alfred:file:q-file",
  },
  {
    label: "an unknown event without any id",
    body: JSON.stringify({
      event_id: "q-unknown-no-id",
      event_type: "job_event_type",
      event_time: "1653139800.00",
      event: { event_name: "job_teleported_event", company_id: "co" },
    }),
  },
];

describe("quarantine", () => {
  it.each(QUARANTINE_CASES)("$label → 202 quarantined, listed with reasons, raw kept", async (c) => {
    const response = await sendAlfred(c.body);
    expect(response.status).toBe(202);
    const answer = (await response.json()) as { quarantineId: string };
    expect(answer).toEqual({ ok: true, quarantined: true, quarantineId: expect.any(String) });

    const entries = await quarantineEntries(token);
    const entry = entries.find((item) => item.id === answer.quarantineId);
    expect(entry, "the quarantine entry is listed").toBeDefined();
    expect(entry).toMatchObject({
      id: answer.quarantineId,
      source: "alfred",
      size: new TextEncoder().encode(c.body).length,
    });
    expect(entry?.receivedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(entry?.reason.length).toBeGreaterThan(0);
    for (const issue of entry?.reason ?? []) {
      expect(typeof issue.path).toBe("string");
      expect(typeof issue.message).toBe("string");
      expect(issue.message.length).toBeGreaterThan(0);
    }
    if (c.path !== undefined) {
      const paths = (entry?.reason ?? []).map((issue) => issue.path);
      expect(
        paths.some((path) => path.includes(c.path as string)),
        `paths ${JSON.stringify(paths)}`,
      ).toBe(true);
    }

    const raw = await apiGet(`/v1/quarantine/${encodeURIComponent(answer.quarantineId)}`, token);
    expect(raw.status).toBe(200);
    expect(await raw.text()).toBe(c.body);

    if (c.key !== undefined) expect(await jobStatusCode(c.key, token)).toBe(404);
  });

  it("lists quarantine newest first", async () => {
    const first = (await (await sendAlfred("not json 1")).json()) as { quarantineId: string };
    const second = (await (await sendAlfred("not json 2")).json()) as { quarantineId: string };
    const ids = (await quarantineEntries(token)).map((entry) => entry.id);
    expect(ids.indexOf(second.quarantineId)).toBeLessThan(ids.indexOf(first.quarantineId));
  });

  it("the quarantine list needs a bearer token", async () => {
    const response = await SELF.fetch("https://runledger.test/v1/quarantine");
    await expectError(response, 401, "unauthorized");
  });
});

describe("unknown events", () => {
  it("an unknown job event with a job_id is stored; the job stays pending", async () => {
    const body = {
      event_id: "unknown-job-evt",
      event_type: "job_event_type",
      event_time: "1653139800.00",
      event: {
        event_name: "job_paused_event",
        event_type: "job_event_type",
        job_id: "unknown-job",
        company_id: "co-unknown",
      },
    };
    const stored = await sendAlfredStored(body);
    expect(stored).toEqual({
      ok: true,
      eventId: "unknown-job-evt",
      jobKey: "alfred:job:unknown-job",
      duplicate: false,
    });
    const job = await jobDetail(stored.jobKey, token);
    expect(job).toMatchObject({ status: "pending", terminal: false, eventCount: 1, companyId: "co-unknown" });
    expect(job.history[0]).toMatchObject({
      eventId: "unknown-job-evt",
      eventType: "job_paused",
      status: null,
    });
  });

  it("an unknown event does not change a job's status", async () => {
    await sendAlfredStored(alfredEvent("job_start", { jobId: "unknown-after", time: 1653139800 }));
    await sendAlfredStored({
      event_id: "unknown-after-evt",
      event_type: "job_event",
      event_time: 1653139900,
      event: { event_name: "alfred_event_job_paused", job_id: "unknown-after" },
    });
    const job = await jobDetail("alfred:job:unknown-after", token);
    expect(job).toMatchObject({ status: "processing", eventCount: 2 });
  });

  it("an unknown file event with a file_id is stored on the file", async () => {
    const stored = await sendAlfredStored({
      event_id: "unknown-file-evt",
      event_type: "file_event_type",
      event_time: "1653139800.00",
      event: { event_name: "file_teleported_event", file_id: "unknown-file" },
    });
    expect(stored.jobKey).toBe("alfred:file:unknown-file");
    const file = await jobDetail(stored.jobKey, token);
    expect(file).toMatchObject({ status: "pending" });
    expect(file.history[0]).toMatchObject({ eventType: "file_teleported", status: null });
  });
});

describe("duplicates", () => {
  it("a repeat is 200 duplicate:true, history unchanged, deliveries counted", async () => {
    const body = alfredEvent("job_stage_update", { jobId: "dup-a", stage: "downloading" });
    const first = await sendAlfredStored(body);
    expect(first.duplicate).toBe(false);
    const before = await jobDetail("alfred:job:dup-a", token);

    const second = await sendAlfred(body);
    expect(second.status).toBe(200);
    expect(await second.json()).toEqual({
      ok: true,
      eventId: body.event_id,
      jobKey: "alfred:job:dup-a",
      duplicate: true,
    });
    const third = await sendAlfredStored(body);
    expect(third.duplicate).toBe(true);

    const after = await jobDetail("alfred:job:dup-a", token);
    expect(after).toMatchObject({ status: "processing", eventCount: 1, deliveryCount: 3 });
    expect(after.history).toHaveLength(1);
    expect(after.history[0]).toMatchObject({ eventId: body.event_id, deliveries: 3 });
    // Only the delivery count and the receipt times (one per delivery, newest last) move.
    expect(after.history[0]?.receipts).toHaveLength(3);
    const strip = (entries: typeof after.history) =>
      entries.map(({ deliveries: _, receipts: __, ...rest }) => rest);
    expect(strip(after.history)).toEqual(strip(before.history));
  });

  it("a repeat with a different body (other spelling, other event) keeps the first one", async () => {
    const body = alfredEvent("job_start", { jobId: "dup-b", typed: "strings", spelling: "docs" });
    await sendAlfredStored(body);
    const respelt = alfredEvent("job_finished", {
      jobId: "dup-b",
      eventId: body.event_id,
      typed: "native",
      spelling: "sdk",
      time: 1653139900,
    });
    const again = await sendAlfredStored(respelt);
    expect(again.duplicate).toBe(true);

    const job = await jobDetail("alfred:job:dup-b", token);
    expect(job).toMatchObject({ status: "processing", terminal: false, eventCount: 1, deliveryCount: 2 });
    expect(job.history[0]).toMatchObject({ eventType: "job_start", deliveries: 2 });
    const raw = await apiGet(`/v1/jobs/alfred:job:dup-b/events/${encodeURIComponent(body.event_id)}`, token);
    expect(await raw.text()).toBe(JSON.stringify(body));
  });

  it("concurrent repeats store the event once", async () => {
    const body = alfredEvent("file_done", { fileId: "dup-c" });
    const answers = await Promise.all(Array.from({ length: 6 }, () => sendAlfredStored(body)));
    expect(answers.filter((answer) => !answer.duplicate)).toHaveLength(1);
    const file = await jobDetail("alfred:file:dup-c", token);
    expect(file).toMatchObject({ eventCount: 1, deliveryCount: 6 });
    expect(file.history[0]?.deliveries).toBe(6);
  });

  it("the same event_id on two different keys is two events", async () => {
    const a = alfredEvent("job_create", { jobId: "dup-d-1", eventId: "shared-event-id" });
    const b = alfredEvent("job_create", { jobId: "dup-d-2", eventId: "shared-event-id" });
    expect((await sendAlfredStored(a)).duplicate).toBe(false);
    expect((await sendAlfredStored(b)).duplicate).toBe(false);
    expect((await jobDetail("alfred:job:dup-d-2", token)).eventCount).toBe(1);
  });
});

describe("body size (MAX_BODY_BYTES)", () => {
  const LIMIT = "400";
  async function sendWithLimit(request: Request) {
    const ctx = createExecutionContext();
    const response = await worker.fetch(
      request as Request<unknown, IncomingRequestCfProperties>,
      { ...env, MAX_BODY_BYTES: LIMIT },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    return response;
  }
  function big(jobId: string): string {
    return JSON.stringify(alfredEvent("job_create", { jobId, fields: { metadata: "x".repeat(1000) } }));
  }
  function streamed(text: string): ReadableStream<Uint8Array> {
    const bytes = new TextEncoder().encode(text);
    return new ReadableStream({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 100) controller.enqueue(bytes.slice(i, i + 100));
        controller.close();
      },
    });
  }

  it("a declared content-length over the limit → 413, even before the token is checked", async () => {
    const body = big("size-declared");
    const declared = (urlToken: string) => {
      const request = alfredRequest("POST", urlToken, body);
      request.headers.set("content-length", String(new TextEncoder().encode(body).length));
      return request;
    };
    await expectError(await sendWithLimit(declared(ALFRED_TOKEN)), 413, "payload_too_large");
    await expectError(await sendWithLimit(declared("not-the-token")), 413, "payload_too_large");
    expect(await jobStatusCode("alfred:job:size-declared", token)).toBe(404);
  });

  it("a streamed body without content-length that passes the limit → 413, nothing stored", async () => {
    const request = new Request(`https://runledger.test/webhooks/alfred/${ALFRED_TOKEN}`, {
      method: "POST",
      body: streamed(big("size-streamed")),
    });
    expect(request.headers.get("content-length")).toBeNull();
    await expectError(await sendWithLimit(request), 413, "payload_too_large");
    expect(await jobStatusCode("alfred:job:size-streamed", token)).toBe(404);
  });

  it("a small event under the same limit is stored", async () => {
    const body = JSON.stringify({
      event_id: "size-ok",
      event_type: "job_event",
      event_time: 1653139800,
      event: { event_name: "job_start", job_id: "size-ok" },
    });
    expect(body.length).toBeLessThan(Number(LIMIT));
    const response = await sendWithLimit(alfredRequest("POST", ALFRED_TOKEN, body));
    expect(response.status).toBe(200);
  });
});

describe("read API scoped to an Alfred company", () => {
  it("a company token sees its company's jobs and files, 404 for another company's", async () => {
    await sendAlfredStored(alfredEvent("job_create", { jobId: "scope-mine", companyId: "scope-co" }));
    await sendAlfredStored(alfredEvent("file_done", { fileId: "scope-mine-file", companyId: "scope-co" }));
    await sendAlfredStored(alfredEvent("job_create", { jobId: "scope-theirs", companyId: "scope-other" }));
    const scoped = await createToken({ company: "scope-co" });
    expect(await jobStatusCode("alfred:job:scope-mine", scoped)).toBe(200);
    expect(await jobStatusCode("alfred:file:scope-mine-file", scoped)).toBe(200);
    await expectError(
      await apiGet(`/v1/jobs/${encodeURIComponent("alfred:job:scope-theirs")}`, scoped),
      404,
      "not_found",
    );
  });
});
