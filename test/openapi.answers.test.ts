/**
 * `/openapi.json` against what the routes really answer (issue 24, part 4). Every operation is driven
 * through each answer it gives — its 200s and 202s, 400s (a bad cursor, an unknown parameter, a bad
 * body), 401s, 403s, 404s, 405s, 413s, 422s and 503s (through the seams: a ledger that fails, a D1
 * that is down, a tighter allow-list) — and each answer must be one its operation documents: the
 * status, the documented headers, the media type, a body that validates against the documented
 * schema, an error code of that status that the answer's description names (test/openapi-doc.ts).
 * The last test holds the document to no more and no less: every answer it lists was met here.
 */
import { createExecutionContext, env, SELF, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { type AppSeams, createApp } from "../src/app";
import { durableObjectLedgers, type LedgerStub } from "../src/ingest/ledger-gateway";
import { quarantineDelivery } from "../src/projection/quarantine";
import { alfredEvent } from "./fixtures/alfred/events";
import {
  ALFRED_TOKEN,
  BASE,
  createToken,
  extendEvent,
  extendSignatureHeaders,
  nowSeconds,
  signedExtendRequest,
  signedStandardRequest,
} from "./helpers";
import { expectDocumented, met, openApiDoc } from "./openapi-doc";

/** Sends a request somewhere and checks the answer is documented; returns its status and body. */
type Via = (request: Request) => Promise<Response>;

const viaSelf: Via = (request) => SELF.fetch(request);

/** Through an app of its own: with seams, and an environment with some bindings replaced. */
function viaApp(seams: AppSeams = {}, bindings: Partial<Env> = {}): Via {
  const app = createApp(seams);
  return async (request) => {
    const ctx = createExecutionContext();
    const response = await app.fetch(request, { ...env, ...bindings }, ctx);
    await waitOnExecutionContext(ctx);
    return response;
  };
}

const down = () => Promise.reject(new Error("Durable Object reset"));
const ledgerDown: LedgerStub = {
  ingest: down,
  detail: down,
  rawEvent: down,
  fetch: down,
  verification: down,
};
/** Every job ledger fails: the routes that reach one answer 503. */
const viaLedgerDown = viaApp({
  ledgers: (e) => durableObjectLedgers(e, { timeoutMs: 50, ledgerOf: () => ledgerDown }),
});

/** A D1 that is down: the token store cannot be read, so every `/v1` route answers 503. */
const d1Down = {
  prepare: () => {
    throw new Error("D1_ERROR: Network connection lost.");
  },
  batch: () => Promise.reject(new Error("D1_ERROR: Network connection lost.")),
  exec: () => Promise.reject(new Error("D1_ERROR: Network connection lost.")),
} as unknown as D1Database;
const viaD1Down = viaApp({}, { DB: d1Down });

async function answer(request: Request, via: Via = viaSelf): Promise<{ status: number; body: unknown }> {
  const { method, url } = request;
  const response = await via(request);
  return { status: response.status, body: await expectDocumented(method, url, response) };
}

function get(path: string, token?: string, init: RequestInit = {}): Request {
  const headers = new Headers(init.headers);
  if (token !== undefined) headers.set("authorization", `Bearer ${token}`);
  return new Request(`${BASE}${path}`, { ...init, headers });
}

function post(path: string, token?: string, body?: string): Request {
  return get(path, token, { method: "POST", ...(body === undefined ? {} : { body }) });
}

let read: string;
let admin: string;
const suffix = crypto.randomUUID().slice(0, 8);
const extendId = `exr_answers_${suffix}`;
const extendKey = encodeURIComponent(`extend:extract_run:${extendId}`);
let extendEventId: string;
let quarantineId: string;

beforeAll(async () => {
  read = await createToken();
  admin = await createToken({ admin: true });
});

describe("the webhook endpoints answer only what /openapi.json lists for them", () => {
  it("POST /webhooks/extend: 200, 202, 401, 405, 413, 503", async () => {
    const event = extendEvent("extract_run.processed", { id: extendId, status: "PROCESSED" });
    extendEventId = event.eventId;
    expect((await answer(await signedExtendRequest(event))).status).toBe(200);
    expect((await answer(await signedExtendRequest(event))).body).toMatchObject({ duplicate: true });
    const quarantined = await answer(await signedExtendRequest("not json"));
    expect(quarantined.status).toBe(202);
    quarantineId = (quarantined.body as { quarantineId: string }).quarantineId;
    expect((await answer(await signedExtendRequest(event, { secret: "wss_wrong" }))).status).toBe(401);
    expect(
      (await answer(new Request(`${BASE}/webhooks/extend`, { method: "POST", body: "{}" }))).status,
    ).toBe(401);
    expect((await answer(new Request(`${BASE}/webhooks/extend`, { method: "PUT", body: "{}" }))).status).toBe(
      405,
    );
    expect((await answer(new Request(`${BASE}/webhooks/extend`))).status).toBe(405);
    const tooLarge = new Request(`${BASE}/webhooks/extend`, {
      method: "POST",
      headers: { "content-length": String(64 * 1024 * 1024) },
      body: "{}",
    });
    expect((await answer(tooLarge)).status).toBe(413);
    const other = extendEvent("extract_run.processed", { id: `${extendId}_down`, status: "PROCESSED" });
    expect((await answer(await signedExtendRequest(other), viaLedgerDown)).status).toBe(503);
  });

  it("POST /webhooks/alfred/{token}: 200, 202, 401, 403, 405, 413, 503", async () => {
    const url = `${BASE}/webhooks/alfred/${ALFRED_TOKEN}`;
    const send = (body: string, init: RequestInit = {}) =>
      new Request(url, { method: "POST", body, ...init });
    const event = JSON.stringify(alfredEvent("job_create", { jobId: `answers-${suffix}` }));
    expect((await answer(send(event))).status).toBe(200);
    const handshake = JSON.stringify({ type: "url_verification", challenge: "c", token: "t" });
    expect((await answer(send(handshake))).body).toEqual({ challenge: "c" });
    expect((await answer(send("{"))).status).toBe(202);
    expect(
      (await answer(new Request(`${BASE}/webhooks/alfred/wrong`, { method: "POST", body: event }))).status,
    ).toBe(401);
    const otherCompany = JSON.stringify(
      alfredEvent("job_create", { jobId: `answers-denied-${suffix}`, companyId: "intruder-co" }),
    );
    expect((await answer(send(otherCompany), viaApp({}, { ALFRED_COMPANY_IDS: "allowed-co" }))).status).toBe(
      403,
    );
    expect((await answer(new Request(url, { method: "DELETE" }))).status).toBe(405);
    const tooLarge = send("{}", { headers: { "content-length": String(64 * 1024 * 1024) } });
    expect((await answer(tooLarge)).status).toBe(413);
    const other = JSON.stringify(alfredEvent("job_create", { jobId: `answers-down-${suffix}` }));
    expect((await answer(send(other), viaLedgerDown)).status).toBe(503);
  });

  it("POST /webhooks/standard: 200, 202, 401, 405, 413, 503", async () => {
    const event = { type: "export.created", data: { id: `exp_answers_${suffix}` } };
    expect((await answer(await signedStandardRequest(event))).status).toBe(200);
    expect((await answer(await signedStandardRequest("{"))).status).toBe(202);
    const forged = await signedStandardRequest(event, { headers: { "webhook-signature": "v1,AAAA" } });
    expect((await answer(forged)).status).toBe(401);
    expect(
      (await answer(new Request(`${BASE}/webhooks/standard`, { method: "PATCH", body: "{}" }))).status,
    ).toBe(405);
    const tooLarge = await signedStandardRequest(event, {
      headers: { "content-length": String(64 * 1024 * 1024) },
    });
    expect((await answer(tooLarge)).status).toBe(413);
    const other = { type: "export.created", data: { id: `exp_answers_down_${suffix}` } };
    expect((await answer(await signedStandardRequest(other), viaLedgerDown)).status).toBe(503);
  });
});

describe("the read API answers only what /openapi.json lists for it", () => {
  it("GET /healthz and GET /openapi.json: 200", async () => {
    expect((await answer(get("/healthz"))).status).toBe(200);
    expect((await answer(get("/openapi.json"))).status).toBe(200);
  });

  it("GET /v1/me: 200, 401, 503", async () => {
    expect(await answer(get("/v1/me", admin))).toMatchObject({ status: 200, body: { admin: true } });
    expect((await answer(get("/v1/me"))).status).toBe(401);
    expect((await answer(get("/v1/me", read), viaD1Down)).status).toBe(503);
  });

  it("GET /v1/jobs and /v1/changes: 200, 400 (bad cursor, unknown or repeated parameter), 401, 503", async () => {
    for (const path of ["/v1/jobs", "/v1/changes"]) {
      expect((await answer(get(`${path}?status=failed,succeeded&source=extend`, read))).status).toBe(200);
      expect((await answer(get(`${path}?limit=0`, read))).status).toBe(400);
      expect(
        (await answer(get(`${path}?${path === "/v1/jobs" ? "cursor" : "after"}=nope`, read))).status,
      ).toBe(400);
      expect((await answer(get(`${path}?stauts=failed`, read))).status).toBe(400);
      expect((await answer(get(`${path}?status=faild`, read))).status).toBe(400);
      expect((await answer(get(`${path}?category=runs`, read))).status).toBe(400);
      expect((await answer(get(`${path}?limit=1&limit=2`, read))).status).toBe(400);
      expect((await answer(get(path))).status).toBe(401);
      expect((await answer(get(path, "rl_not_a_token"))).status).toBe(401);
      expect((await answer(get(path, read), viaD1Down)).status).toBe(503);
    }
  });

  it("GET /v1/stats: 200, 400 (bad window, unknown parameter), 401, 503", async () => {
    for (const token of [read, await createToken({ company: `co-answers-${suffix}` })]) {
      for (const window of ["1h", "24h", "7d"]) {
        expect((await answer(get(`/v1/stats?window=${window}`, token))).status).toBe(200);
      }
    }
    expect((await answer(get("/v1/stats?window=2h", read))).status).toBe(400);
    expect((await answer(get("/v1/stats?windw=1h", read))).status).toBe(400);
    expect((await answer(get("/v1/stats"))).status).toBe(401);
    expect((await answer(get("/v1/stats", read), viaD1Down)).status).toBe(503);
  });

  it("GET /v1/jobs/{jobKey}: 200, 400 (bad page cursor, unknown parameter), 401, 404, 503", async () => {
    const detail = await answer(get(`/v1/jobs/${extendKey}`, read));
    expect(detail).toMatchObject({ status: 200, body: { status: "succeeded", source: "extend" } });
    expect((await answer(get(`/v1/jobs/${extendKey}?historyCursor=nope`, read))).status).toBe(400);
    expect((await answer(get(`/v1/jobs/${extendKey}?filesCursor=nope`, read))).status).toBe(400);
    expect((await answer(get(`/v1/jobs/${extendKey}?historyLimit=0`, read))).status).toBe(400);
    expect((await answer(get(`/v1/jobs/${extendKey}?page=2`, read))).status).toBe(400);
    expect((await answer(get(`/v1/jobs/${extendKey}`))).status).toBe(401);
    expect((await answer(get(`/v1/jobs/${extendKey}x`, read))).status).toBe(404);
    expect((await answer(get("/v1/jobs/not-a-key", read))).status).toBe(404);
    expect((await answer(get(`/v1/jobs/${extendKey}`, read), viaLedgerDown)).status).toBe(503);
    expect((await answer(get(`/v1/jobs/${extendKey}`, read), viaD1Down)).status).toBe(503);
  });

  it("the job's stream, raw event and verification: 200, 401, 404, 503", async () => {
    const event = `/v1/jobs/${extendKey}/events/${extendEventId}`;
    const stream = await answer(get(`/v1/jobs/${extendKey}/stream`, read));
    expect(stream).toMatchObject({ status: 200, body: expect.stringMatching(/^event: snapshot\n/) });
    for (const path of [`/v1/jobs/${extendKey}/stream`, event, `${event}/verification`]) {
      if (!path.endsWith("/stream")) expect((await answer(get(path, read))).status).toBe(200);
      expect((await answer(get(path))).status).toBe(401);
      expect((await answer(get(path.replace(extendKey, `${extendKey}x`), read))).status).toBe(404);
      expect((await answer(get(path, read), viaLedgerDown)).status).toBe(503);
      expect((await answer(get(path, read), viaD1Down)).status).toBe(503);
    }
    expect((await answer(get(`/v1/jobs/${extendKey}/events/evt_nope`, read))).status).toBe(404);
    expect((await answer(get(`/v1/jobs/${extendKey}/events/evt_nope/verification`, read))).status).toBe(404);
    // A source-scoped token does not see the job: 404, never 403.
    expect((await answer(get(event, await createToken({ source: "alfred" })))).status).toBe(404);
  });

  it("a job stream and a waiting long poll past MAX_STREAMS_PER_TOKEN: 429", async () => {
    const viaOneStream = viaApp({}, { MAX_STREAMS_PER_TOKEN: "1" });
    const token = await createToken();
    const held = await viaOneStream(get(`/v1/jobs/${extendKey}/stream`, token));
    expect(held.status).toBe(200);
    try {
      const more = await answer(get(`/v1/jobs/${extendKey}/stream`, token), viaOneStream);
      expect(more.status).toBe(429);
      expect((await answer(get("/v1/changes?after=latest&wait=2", token), viaOneStream)).status).toBe(429);
    } finally {
      await held.body?.cancel();
    }
  });

  it("GET /v1/quarantine and /v1/quarantine/{id}: 200, 400, 401, 404, 503", async () => {
    expect((await answer(get("/v1/quarantine?source=extend", read))).status).toBe(200);
    expect((await answer(get("/v1/quarantine?cursor=nope", read))).status).toBe(400);
    expect((await answer(get("/v1/quarantine?source=extnd", read))).status).toBe(400);
    expect((await answer(get("/v1/quarantine"))).status).toBe(401);
    expect((await answer(get("/v1/quarantine", read), viaD1Down)).status).toBe(503);
    const entry = `/v1/quarantine/${quarantineId}`;
    expect(await answer(get(entry, read))).toEqual({ status: 200, body: "not json" });
    expect((await answer(get(entry))).status).toBe(401);
    expect((await answer(get("/v1/quarantine/q_nope", read))).status).toBe(404);
    expect((await answer(get(entry, read), viaD1Down)).status).toBe(503);
  });
});

describe("the operating routes answer only what /openapi.json lists for them", () => {
  it("POST /v1/quarantine/{id}/retry: 200, 401, 403, 404, 409, 422, 503", async () => {
    // An entry an older release quarantined and today's parser takes (test/operating.test.ts).
    const older = await olderEntry(`exr_retry_${suffix}`);
    expect(await answer(post(`/v1/quarantine/${older}/retry`, admin))).toMatchObject({
      status: 200,
      body: { outcome: "stored" },
    });
    // Another retry holds the entry: 409 retry_in_progress.
    const held = await olderEntry(`exr_retry_held_${suffix}`);
    const viaClaimed = viaApp({ quarantineWrites: { claim: async () => false } });
    expect((await answer(post(`/v1/quarantine/${held}/retry`, admin), viaClaimed)).status).toBe(409);
    const retry = `/v1/quarantine/${quarantineId}/retry`;
    expect((await answer(post(retry))).status).toBe(401);
    expect((await answer(post(retry, read))).status).toBe(403);
    expect((await answer(post("/v1/quarantine/q_nope/retry", admin))).status).toBe(404);
    expect((await answer(post(retry, admin))).status).toBe(422);
    expect((await answer(post(retry, admin), viaD1Down)).status).toBe(503);
  });

  /** An entry an older release quarantined and today's parser takes. */
  async function olderEntry(id: string): Promise<string> {
    const event = extendEvent("extract_run.processed", { id, status: "PROCESSED" });
    const body = JSON.stringify(event);
    const headers = await extendSignatureHeaders(body);
    const older = await quarantineDelivery(env.DB, {
      source: "extend",
      receivedAt: nowSeconds() * 1000,
      issues: [{ path: "payload", message: "refused by an older parser" }],
      body: new TextEncoder().encode(body),
      auth: JSON.stringify({
        scheme: "extend-hmac-sha256",
        values: {
          timestamp: headers["x-extend-request-timestamp"],
          signature: headers["x-extend-request-signature"],
        },
      }),
    });
    return older;
  }

  it("POST /v1/admin/reproject and /v1/admin/registry/seed: 200, 400, 401, 403, 503", async () => {
    for (const path of ["/v1/admin/reproject", "/v1/admin/registry/seed"]) {
      expect((await answer(post(path, admin, JSON.stringify({ limit: 200 })))).status).toBe(200);
      expect((await answer(post(path, admin, "[]"))).status).toBe(400);
      expect((await answer(post(path, admin, JSON.stringify({ cursor: "nope" })))).status).toBe(400);
      expect((await answer(post(path))).status).toBe(401);
      expect((await answer(post(path, read))).status).toBe(403);
      expect((await answer(post(path, await createToken({ admin: true, source: "extend" })))).status).toBe(
        403,
      );
      expect((await answer(post(path, admin), viaD1Down)).status).toBe(503);
    }
  });
});

describe("/openapi.json", () => {
  it("lists no answer an operation does not give: each was met above", async () => {
    const doc = await openApiDoc();
    const documented = Object.values(doc.paths).flatMap((methods) =>
      Object.values(methods).map(
        (operation) => [operation.operationId, Object.keys(operation.responses)] as const,
      ),
    );
    expect(documented.length).toBeGreaterThan(12);
    for (const [operationId, statuses] of documented) {
      expect([...(met.get(operationId) ?? [])].sort(), operationId).toEqual([...statuses].sort());
    }
  });
});
