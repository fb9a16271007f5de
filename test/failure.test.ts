/**
 * Failure injection through our own seams: a ledger that throws or hangs (createApp's `ledgers`),
 * and a D1 that is down at the edge. The projection path's faults are in projection.test.ts.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { durableObjectLedgers, type LedgerStub } from "../src/ingest/ledger-gateway";
import { createToken, errorCode, extendEvent, jobDetail, sendExtend, signedExtendRequest } from "./helpers";

async function sendThrough(app: ReturnType<typeof createApp>, request: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await app.fetch(request, env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

const unavailable: LedgerStub = {
  ingest: () => Promise.reject(new Error("Durable Object reset")),
  detail: () => Promise.reject(new Error("Durable Object reset")),
  rawEvent: () => Promise.reject(new Error("Durable Object reset")),
  fetch: () => Promise.reject(new Error("Durable Object reset")),
  verification: () => Promise.reject(new Error("Durable Object reset")),
};
const hanging: LedgerStub = {
  ingest: () => new Promise(() => undefined),
  detail: () => new Promise(() => undefined),
  rawEvent: () => new Promise(() => undefined),
  fetch: () => new Promise(() => undefined),
  verification: () => new Promise(() => undefined),
};

async function _summaryRow(jobKey: string) {
  return env.DB.prepare("SELECT event_count, delivery_count, status FROM jobs WHERE job_key = ?")
    .bind(jobKey)
    .first<{ event_count: number; delivery_count: number; status: string }>();
}

describe("ledger unavailable", () => {
  for (const [name, stub] of [
    ["throws", unavailable],
    ["does not answer in time", hanging],
  ] as const) {
    it(`answers 503 storage_unavailable with Retry-After when the ledger ${name}, and the retry stores once`, async () => {
      const id = `clr_down_${name.length}`;
      const event = extendEvent("classify_run.processed", { id, status: "PROCESSED" });
      const broken = createApp({
        ledgers: (e) => durableObjectLedgers(e, { timeoutMs: 50, ledgerOf: () => stub }),
      });
      const refused = await sendThrough(broken, await signedExtendRequest(event));
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).toBe("5");
      expect(await errorCode(refused)).toBe("storage_unavailable");

      // Extend retries; the real ledger takes it once.
      const retried = await sendExtend(event);
      expect(retried.status).toBe(200);
      expect(await retried.json()).toMatchObject({ duplicate: false });
      const job = await jobDetail(`extend:classify_run:${id}`, await createToken());
      expect(job).toMatchObject({ eventCount: 1, deliveryCount: 1, status: "succeeded" });
    });
  }
});

/** A D1 binding that is down: every statement fails, as during an outage. */
const d1Down = {
  prepare: () => {
    throw new Error("D1_ERROR: Network connection lost.");
  },
  batch: () => Promise.reject(new Error("D1_ERROR: Network connection lost.")),
  exec: () => Promise.reject(new Error("D1_ERROR: Network connection lost.")),
} as unknown as D1Database;

describe("D1 outage at the edge", () => {
  it("answers 503 when a quarantine cannot be written, so the vendor retries; the retry is quarantined", async () => {
    const app = createApp();
    const body = "this is not json";
    const ctx = createExecutionContext();
    const refused = await app.fetch(await signedExtendRequest(body), { ...env, DB: d1Down }, ctx);
    await waitOnExecutionContext(ctx);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("5");
    expect(await errorCode(refused)).toBe("storage_unavailable");

    const retried = await sendExtend(body);
    expect(retried.status).toBe(202);
    expect(await retried.json()).toMatchObject({ ok: true, quarantined: true });
  });

  it("still stores events: the ledger, not D1, is what a delivery waits for", async () => {
    const app = createApp();
    const event = extendEvent("parse_run.processed", { id: "pr_d1_down", status: "PROCESSED" });
    const ctx = createExecutionContext();
    const stored = await app.fetch(await signedExtendRequest(event), { ...env, DB: d1Down }, ctx);
    await waitOnExecutionContext(ctx);
    expect(stored.status).toBe(200);
    expect(await stored.json()).toMatchObject({ jobKey: "extend:parse_run:pr_d1_down", duplicate: false });
    // Read back once the edge's D1 is reachable again: the event is in its ledger.
    const job = await jobDetail("extend:parse_run:pr_d1_down", await createToken());
    expect(job).toMatchObject({ status: "succeeded", eventCount: 1, deliveryCount: 1 });
  });

  it("answers the read API 503 storage_unavailable when tokens cannot be checked", async () => {
    const app = createApp();
    const token = await createToken();
    const ctx = createExecutionContext();
    const response = await app.fetch(
      new Request("https://runledger.test/v1/jobs", { headers: { authorization: `Bearer ${token}` } }),
      { ...env, DB: d1Down },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(503);
    expect(await errorCode(response)).toBe("storage_unavailable");
  });
});
