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
import { durableObjectLedgers, type LedgerGateway } from "../src/ingest/ledger-gateway";
import type { JobLedger } from "../src/ledger/job-ledger";
import { quarantineDelivery, resolveQuarantined } from "../src/projection/quarantine";
import {
  ALFRED_TOKEN,
  apiGet,
  BASE,
  createToken,
  errorCode,
  extendEvent,
  extendSignatureHeaders,
  jobDetail,
  jobStatusCode,
  nowSeconds,
  quarantineEntries,
  sendAlfred,
  sendExtend,
  withinWaitLimit,
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

    const listed = await quarantineEntries(read);
    expect(listed.find((entry) => entry.id === id)).toMatchObject({
      resolvedAt: expect.any(String),
      jobKey: "extend:extract_run:exr_retried",
      eventId: "evt_retried",
    });

    // Again: a retry of a resolved entry answers its outcome again and is not another delivery.
    expect(await (await retry(id, admin)).json()).toEqual({
      ok: true,
      outcome: "stored",
      jobKey: "extend:extract_run:exr_retried",
      eventId: "evt_retried",
    });
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
    const entry = (await quarantineEntries(read)).find((item) => item.id === quarantineId);
    expect(entry).toBeDefined();
    expect(entry?.resolvedAt).toBeUndefined();
  });
});

/** A quarantined Extend delivery (as `quarantinedByAnOlderRelease`), signed an hour ago, for event `eventId` of run `runId`. */
async function quarantinedRun(runId: string, eventId: string): Promise<string> {
  const body = JSON.stringify(
    extendEvent("extract_run.processed", { id: runId, status: "PROCESSED" }, eventId),
  );
  const signedAt = nowSeconds() - 3600;
  const headers = await extendSignatureHeaders(body, { timestamp: signedAt });
  return quarantinedByAnOlderRelease(
    body,
    {
      scheme: "extend-hmac-sha256",
      values: {
        timestamp: headers["x-extend-request-timestamp"],
        signature: headers["x-extend-request-signature"],
      },
    },
    (signedAt + 1) * 1000,
  );
}

/** `POST /v1/quarantine/:id/retry` through an app built with `seams`. */
async function retryThrough(app: ReturnType<typeof createApp>, id: string): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await app.fetch(
    new Request(`${BASE}/v1/quarantine/${encodeURIComponent(id)}/retry`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}` },
    }),
    env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return response;
}

/**
 * The job ledgers, but the first store is held until `release()`: `arrived` resolves when it is
 * held, so a test can act while a retry is between its claim and its answer.
 */
function holdFirstStore() {
  let arrive: () => void = () => undefined;
  let release: () => void = () => undefined;
  const arrived = new Promise<void>((resolve) => (arrive = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  let held = false;
  const ledgers = (env: Env): LedgerGateway => {
    const real = durableObjectLedgers(env);
    return {
      ...real,
      async ingest(event, raw, auth) {
        if (!held) {
          held = true;
          arrive();
          await released;
        }
        return real.ingest(event, raw, auth);
      },
    };
  };
  return { ledgers, arrived, release };
}

describe("a retry is not another delivery (issue 22, crack 5)", () => {
  it("two concurrent retries of one entry give one delivery; the second is told the first is in progress", async () => {
    const id = await quarantinedRun("exr_retry_race", "evt_retry_race");
    const jobKey = "extend:extract_run:exr_retry_race";
    const hold = holdFirstStore();
    const app = createApp({ ledgers: hold.ledgers });
    const first = retryThrough(app, id);
    await withinWaitLimit(hold.arrived, "the first retry's store");
    const second = await retryThrough(app, id);
    hold.release();
    const firstAnswer = await first;

    expect(await jobDetail(jobKey, read)).toMatchObject({ version: 1, deliveryCount: 1, eventCount: 1 });
    expect(firstAnswer.status).toBe(200);
    const stored = { ok: true, outcome: "stored", jobKey, eventId: "evt_retry_race" };
    expect(await firstAnswer.json()).toEqual(stored);
    expect(second.status).toBe(409);
    expect(await errorCode(second)).toBe("retry_in_progress");
    expect(Number(second.headers.get("retry-after"))).toBeGreaterThan(0);
    // Once the first is done, a retry answers its outcome again and changes nothing.
    const third = await retry(id, admin);
    expect(third.status).toBe(200);
    expect(await third.json()).toEqual(stored);
    expect(await jobDetail(jobKey, read)).toMatchObject({ version: 1, deliveryCount: 1 });
  });

  it("retries sent all at once store one delivery; each answers stored or 409", async () => {
    const id = await quarantinedRun("exr_retry_burst", "evt_retry_burst");
    const answers = await Promise.all([1, 2, 3, 4].map(() => retry(id, admin)));
    const codes = await Promise.all(
      answers.map(async (answer) =>
        answer.status === 200
          ? ((await answer.json()) as { outcome: string }).outcome
          : `${answer.status} ${await errorCode(answer)}`,
      ),
    );
    expect(codes).toContain("stored");
    for (const code of codes) expect(["stored", "409 retry_in_progress"]).toContain(code);
    expect(await jobDetail("extend:extract_run:exr_retry_burst", read)).toMatchObject({
      version: 1,
      deliveryCount: 1,
    });
  });

  it("a claim left by a retry that went away holds the entry (409) until it is 60 s old, then is taken over", async () => {
    const id = await quarantinedRun("exr_retry_gone", "evt_retry_gone");
    const leave = (claimedAt: number) =>
      env.DB.prepare(
        "UPDATE quarantine SET retry_claim = 'gone', retry_claimed_at = ?, retry_job_key = ?, retry_event_id = ? WHERE id = ?",
      )
        .bind(claimedAt, "extend:extract_run:exr_retry_gone", "evt_retry_gone", id)
        .run();
    await leave(Date.now());
    const held = await retry(id, admin);
    expect(held.status).toBe(409);
    expect(await errorCode(held)).toBe("retry_in_progress");
    expect(Number(held.headers.get("retry-after"))).toBeGreaterThan(50);
    expect(await jobStatusCode("extend:extract_run:exr_retry_gone", read)).toBe(404);

    // The retry that claimed it went away before it stored: the event is not in its ledger.
    await leave(Date.now() - 61_000);
    const taken = await retry(id, admin);
    expect(taken.status).toBe(200);
    expect(await taken.json()).toMatchObject({ outcome: "stored", eventId: "evt_retry_gone" });
    expect(await jobDetail("extend:extract_run:exr_retry_gone", read)).toMatchObject({
      version: 1,
      deliveryCount: 1,
    });
  });

  it("a store whose resolution D1 lost (503), then a retry: it answers the stored outcome without storing again", async () => {
    const id = await quarantinedRun("exr_retry_lost", "evt_retry_lost");
    const jobKey = "extend:extract_run:exr_retry_lost";
    let failures = 1;
    const app = createApp({
      quarantineWrites: {
        resolve: async (...args) => {
          if (failures-- > 0) throw new Error("injected: D1 lost the write");
          return resolveQuarantined(...args);
        },
      },
    });
    const failed = await retryThrough(app, id);
    expect(failed.status).toBe(503);
    expect(await errorCode(failed)).toBe("storage_unavailable");
    expect(await jobDetail(jobKey, read)).toMatchObject({ version: 1, deliveryCount: 1 });

    const again = await retryThrough(app, id);
    expect(await jobDetail(jobKey, read)).toMatchObject({ version: 1, deliveryCount: 1 });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ ok: true, outcome: "stored", jobKey, eventId: "evt_retry_lost" });
    const listed = await quarantineEntries(read);
    expect(listed.find((entry) => entry.id === id)).toMatchObject({
      resolvedAt: expect.any(String),
      jobKey,
    });
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
