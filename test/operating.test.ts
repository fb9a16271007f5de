/**
 * Operating (CONTRACT §9): admin tokens, retrying a quarantined delivery through today's parser,
 * and re-verifying a stored event with the authentication material kept at receipt — happy,
 * error and security cases.
 */
import {
  createExecutionContext,
  env,
  runInDurableObject,
  SELF,
  waitOnExecutionContext,
} from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import type { JobLedger } from "../src/ledger/job-ledger";
import { quarantineDelivery } from "../src/projection/quarantine";
import {
  ALFRED_TOKEN,
  apiGet,
  BASE,
  createToken,
  errorCode,
  extendEvent,
  extendSignatureHeaders,
  jobDetail,
  nowSeconds,
  sendAlfred,
  sendExtend,
} from "./helpers";

let read: string;
let admin: string;
beforeAll(async () => {
  read = await createToken();
  admin = await createToken({ admin: true });
});

function retry(id: string, token: string | null): Promise<Response> {
  return SELF.fetch(`${BASE}/v1/quarantine/${encodeURIComponent(id)}/retry`, {
    method: "POST",
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });
}

/**
 * A quarantine entry as an older release wrote it: an authentic delivery its parser refused but
 * today's accepts (the situation a retry is for), with the material it was authenticated by.
 */
async function quarantinedByAnOlderRelease(body: string, auth: object, receivedAt: number): Promise<string> {
  return quarantineDelivery(env.DB, {
    source: "extend",
    receivedAt,
    issues: [{ path: "payload", message: "refused by an older parser" }],
    body: new TextEncoder().encode(body),
    auth: JSON.stringify(auth),
  });
}

describe("admin routes: 401, then 403, then 404", () => {
  it("no token → 401; a bad token → 401; a read token → 403 forbidden; an admin token on an unknown id → 404", async () => {
    expect(await errorCode(await retry("q_nothing", null))).toBe("unauthorized");
    expect((await retry("q_nothing", "rl_bogus")).status).toBe(401);
    const forbidden = await retry("q_nothing", read);
    expect(forbidden.status).toBe(403);
    expect(await errorCode(forbidden)).toBe("forbidden");
    const missing = await retry("q_nothing", admin);
    expect(missing.status).toBe(404);
    expect(await errorCode(missing)).toBe("not_found");
  });

  it("an admin token can do everything a read token can", async () => {
    expect((await apiGet("/v1/jobs", admin)).status).toBe(200);
    expect((await apiGet("/v1/quarantine", admin)).status).toBe(200);
  });
});

describe("POST /v1/quarantine/:id/retry", () => {
  it("stores a delivery today's parser accepts, as at receipt; the entry stays listed with where it went", async () => {
    const event = extendEvent(
      "extract_run.processed",
      { id: "exr_retried", status: "PROCESSED" },
      "evt_retried",
    );
    const body = JSON.stringify(event);
    const signedAt = nowSeconds() - 3600;
    const headers = await extendSignatureHeaders(body, { timestamp: signedAt });
    const receivedAt = (signedAt + 1) * 1000;
    const id = await quarantinedByAnOlderRelease(
      body,
      {
        scheme: "extend-hmac-sha256",
        values: {
          timestamp: headers["x-extend-request-timestamp"],
          signature: headers["x-extend-request-signature"],
        },
      },
      receivedAt,
    );

    const response = await retry(id, admin);
    expect(response.status, await response.clone().text()).toBe(200);
    expect(await response.json()).toEqual({
      ok: true,
      outcome: "stored",
      jobKey: "extend:extract_run:exr_retried",
      eventId: "evt_retried",
    });
    const job = await jobDetail("extend:extract_run:exr_retried", read);
    // As at receipt: no updatedAt, so occurredAt is the signature's time; receivedAt the receipt's.
    expect(job.history[0]).toMatchObject({
      eventId: "evt_retried",
      occurredAt: new Date(signedAt * 1000).toISOString(),
      receivedAt: new Date(receivedAt).toISOString(),
    });
    const raw = await apiGet("/v1/jobs/extend:extract_run:exr_retried/events/evt_retried", read);
    expect(await raw.text()).toBe(body);

    const listed = (await (await apiGet("/v1/quarantine?limit=200", read)).json()) as {
      data: { id: string; resolvedAt?: string; jobKey?: string; eventId?: string }[];
    };
    expect(listed.data.find((entry) => entry.id === id)).toMatchObject({
      resolvedAt: expect.any(String),
      jobKey: "extend:extract_run:exr_retried",
      eventId: "evt_retried",
    });

    // Again: the event is already stored, and a retry of a resolved entry is not another delivery.
    expect(await (await retry(id, admin)).json()).toMatchObject({ ok: true, outcome: "duplicate" });
    expect(await jobDetail("extend:extract_run:exr_retried", read)).toMatchObject({
      version: 1,
      deliveryCount: 1,
    });
    // An admin token scoped to another source, or to a company, cannot see it and so cannot retry it.
    expect((await retry(id, await createToken({ admin: true, source: "alfred" }))).status).toBe(404);
    expect((await retry(id, await createToken({ admin: true, company: "acme" }))).status).toBe(404);
    // And it verifies with the material the quarantine kept.
    const verification = await apiGet(
      "/v1/jobs/extend:extract_run:exr_retried/events/evt_retried/verification",
      read,
    );
    expect(await verification.json()).toEqual({
      verified: true,
      scheme: "extend-hmac-sha256",
      receivedAt: new Date(receivedAt).toISOString(),
    });
  });

  it("a body today's parser still refuses → 422 still_invalid with the issues; the entry stays unresolved", async () => {
    const quarantined = await sendExtend(
      '{"eventId":"evt_bad","eventType":"extract_run.processed","payload":[]}',
    );
    expect(quarantined.status).toBe(202);
    const { quarantineId } = (await quarantined.json()) as { quarantineId: string };
    const response = await retry(quarantineId, admin);
    expect(response.status).toBe(422);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("still_invalid");
    expect(body.error.message).toContain("payload");
    const listed = (await (await apiGet("/v1/quarantine?limit=200", read)).json()) as {
      data: { id: string; resolvedAt?: string }[];
    };
    const entry = listed.data.find((item) => item.id === quarantineId);
    expect(entry).toBeDefined();
    expect(entry?.resolvedAt).toBeUndefined();
  });
});

describe("GET /v1/jobs/:jobKey/events/:eventId/verification", () => {
  it("an Extend event verifies against today's secrets; with its secret removed it does not", async () => {
    const event = extendEvent("classify_run.processed", { id: "clr_verified" }, "evt_verified");
    expect((await sendExtend(event)).status).toBe(200);
    const path = "/v1/jobs/extend:classify_run:clr_verified/events/evt_verified/verification";
    const answer = (await (await apiGet(path, read)).json()) as {
      verified: boolean;
      scheme: string;
      receivedAt: string;
    };
    expect(answer).toMatchObject({ verified: true, scheme: "extend-hmac-sha256" });
    expect(Date.parse(answer.receivedAt)).toBeGreaterThan(Date.now() - 600_000);

    // The secret is rotated out: the same bytes no longer verify.
    const app = createApp();
    const ctx = createExecutionContext();
    const rotated = await app.fetch(
      new Request(`${BASE}${path}`, { headers: { authorization: `Bearer ${read}` } }),
      { ...env, EXTEND_SIGNING_SECRETS: "wss_some_other_secret" },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(await rotated.json()).toMatchObject({ verified: false, scheme: "extend-hmac-sha256" });
  });

  it("an Alfred event verifies by a hash of its URL token; the token itself is never kept", async () => {
    const body = {
      event_id: "alfred-verified",
      event_type: "job_event_type",
      event_time: 1653139800,
      event: { event_name: "job_start_event", job_id: "verified-job" },
    };
    expect((await sendAlfred(body)).status).toBe(200);
    const path = "/v1/jobs/alfred:job:verified-job/events/alfred-verified/verification";
    expect(await (await apiGet(path, read)).json()).toMatchObject({
      verified: true,
      scheme: "alfred-url-token",
    });
    const stub: DurableObjectStub<JobLedger> = env.JOBS.get(env.JOBS.idFromName("alfred:job:verified-job"));
    const kept = await runInDurableObject(stub, (_, state) =>
      state.storage.sql.exec<{ auth: string }>("SELECT auth FROM events").one(),
    );
    expect(kept.auth).not.toContain(ALFRED_TOKEN);
    expect(kept.auth).toMatch(/"tokenSha256":"[0-9a-f]{64}"/);

    const app = createApp();
    const ctx = createExecutionContext();
    const revoked = await app.fetch(
      new Request(`${BASE}${path}`, { headers: { authorization: `Bearer ${read}` } }),
      { ...env, ALFRED_WEBHOOK_TOKENS: "a-new-token" },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(await revoked.json()).toMatchObject({ verified: false });
  });

  it("same auth and scopes as the event route: 401 without a token, 404 outside the scope or for an unknown event", async () => {
    const path = "/v1/jobs/extend:classify_run:clr_verified/events/evt_verified/verification";
    expect((await SELF.fetch(`${BASE}${path}`)).status).toBe(401);
    const alfredOnly = await createToken({ source: "alfred" });
    expect((await apiGet(path, alfredOnly)).status).toBe(404);
    const unknown = await apiGet(
      "/v1/jobs/extend:classify_run:clr_verified/events/evt_nope/verification",
      read,
    );
    expect(unknown.status).toBe(404);
    expect(await errorCode(unknown)).toBe("not_found");
  });
});
