/**
 * Standard Webhooks deliveries, happy path: stored on `standard:<kind>:<data.id>`, the event id
 * from `webhook-id`, the status from the type's last word; detail, list, dedup across retries,
 * raw bytes, re-verification and quarantine retry (CONTRACT §3.3, §5, §9).
 */
import { createExecutionContext, env, SELF, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { quarantineDelivery } from "../src/projection/quarantine";
import {
  apiGet,
  BASE,
  createToken,
  eventually,
  jobDetail,
  listAll,
  nowSeconds,
  STANDARD_OTHER_SECRET,
  type StoredBody,
  sendStandard,
  standardHeaders,
} from "./helpers";

let read: string;
beforeAll(async () => {
  read = await createToken();
});

async function stored(response: Response): Promise<StoredBody> {
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return JSON.parse(text) as StoredBody;
}

describe("POST /webhooks/standard", () => {
  it("stores an event, answers as the contract says, and serves its detail and raw bytes", async () => {
    const body = JSON.stringify({
      type: "export.created",
      timestamp: "2026-03-01T10:00:00.000Z",
      data: { id: "exp_happy", name: "March export" },
    });
    const answer = await stored(await sendStandard(body, { id: "msg_happy_1" }));
    expect(answer).toEqual({
      ok: true,
      eventId: "msg_happy_1",
      jobKey: "standard:export:exp_happy",
      duplicate: false,
    });
    await stored(
      await sendStandard(
        { type: "export.completed", timestamp: "2026-03-01T10:05:00.000Z", data: { id: "exp_happy" } },
        { id: "msg_happy_2" },
      ),
    );

    const job = await jobDetail("standard:export:exp_happy", read);
    expect(job).toMatchObject({
      jobKey: "standard:export:exp_happy",
      source: "standard",
      kind: "export",
      id: "exp_happy",
      status: "succeeded",
      vendorStatus: "export.completed",
      terminal: true,
      name: "March export",
      companyId: null,
      firstEventAt: "2026-03-01T10:00:00.000Z",
      lastEventAt: "2026-03-01T10:05:00.000Z",
      eventCount: 2,
      deliveryCount: 2,
    });
    expect(job.history.map((entry) => [entry.eventId, entry.eventType, entry.status])).toEqual([
      ["msg_happy_1", "export.created", "pending"],
      ["msg_happy_2", "export.completed", "succeeded"],
    ]);
    const raw = await apiGet("/v1/jobs/standard:export:exp_happy/events/msg_happy_1", read);
    expect(await raw.text()).toBe(body);
  });

  it("lists the job under source=standard", async () => {
    await stored(await sendStandard({ type: "report.started", data: { id: "rep_listed" } }));
    await eventually(async () => {
      const listed = await listAll<{ jobKey: string; source: string; status: string }>(
        "source=standard",
        read,
      );
      expect(listed).toContainEqual(
        expect.objectContaining({
          jobKey: "standard:report:rep_listed",
          source: "standard",
          status: "processing",
        }),
      );
      expect(listed.every((job) => job.source === "standard")).toBe(true);
    });
  });

  it("counts a retry of the same webhook-id (fresh timestamp and signature) as a repeat", async () => {
    const body = { type: "sync.queued", data: { id: "sync_dedup" } };
    const first = await stored(await sendStandard(body, { id: "msg_dedup", timestamp: nowSeconds() - 30 }));
    const again = await stored(await sendStandard(body, { id: "msg_dedup" }));
    expect(first.duplicate).toBe(false);
    expect(again).toEqual({ ...first, duplicate: true });
    const job = await jobDetail("standard:sync:sync_dedup", read);
    expect(job).toMatchObject({ status: "pending", eventCount: 1, deliveryCount: 2 });
    expect(job.history).toHaveLength(1);
    expect(job.history[0]?.deliveries).toBe(2);
  });

  it("keeps the status on an unknown type, as a history entry; occurredAt falls back to webhook-timestamp", async () => {
    const signedAt = nowSeconds() - 100;
    await stored(
      await sendStandard({ type: "invoice.created", data: { id: "inv_1" } }, { timestamp: signedAt }),
    );
    await stored(await sendStandard({ type: "invoice.paid", data: { id: "inv_1", status: "paid" } }));
    const job = await jobDetail("standard:invoice:inv_1", read);
    expect(job.status).toBe("pending");
    expect(job.history[0]).toMatchObject({
      eventType: "invoice.created",
      occurredAt: new Date(signedAt * 1000).toISOString(),
    });
    expect(job.history[1]).toMatchObject({ eventType: "invoice.paid", status: null, vendorStatus: "paid" });
  });

  it("a timestamp past year 9999 or before year 0 is unreadable: occurredAt falls back to webhook-timestamp", async () => {
    const signedAt = nowSeconds() - 50;
    for (const [id, timestamp] of [
      ["exp_year_20000", "+020000-01-01T00:00:00Z"],
      ["exp_year_minus_10", "-000010-01-01T00:00:00Z"],
    ]) {
      await stored(
        await sendStandard({ type: "export.completed", timestamp, data: { id } }, { timestamp: signedAt }),
      );
      const job = await jobDetail(`standard:export:${id}`, read);
      expect(job.lastEventAt).toBe(new Date(signedAt * 1000).toISOString());
      expect(job.history[0]?.occurredAt).toBe(new Date(signedAt * 1000).toISOString());
    }
  });

  it("a timestamp that is not a string is not used, not refused: stored, occurredAt from webhook-timestamp", async () => {
    const signedAt = nowSeconds() - 70;
    const answer = await stored(
      await sendStandard(
        { type: "export.completed", timestamp: 1_700_000_000, data: { id: "exp_numeric_time" } },
        { timestamp: signedAt },
      ),
    );
    const job = await jobDetail(answer.jobKey, read);
    expect(job).toMatchObject({ status: "succeeded", lastEventAt: new Date(signedAt * 1000).toISOString() });
  });

  it("accepts a delivery signed with any configured secret", async () => {
    const answer = await stored(
      await sendStandard(
        { type: "export.failed", data: { id: "exp_second" } },
        { secret: STANDARD_OTHER_SECRET },
      ),
    );
    expect(answer.jobKey).toBe("standard:export:exp_second");
    expect((await jobDetail(answer.jobKey, read)).status).toBe("failed");
  });
});

describe("operating a Standard Webhooks event (CONTRACT §9)", () => {
  it("re-verifies the stored bytes with the headers kept at receipt; a rotated secret no longer verifies", async () => {
    await stored(await sendStandard({ type: "audit.created", data: { id: "aud_1" } }, { id: "msg_audit" }));
    const path = "/v1/jobs/standard:audit:aud_1/events/msg_audit/verification";
    expect(await (await apiGet(path, read)).json()).toMatchObject({
      verified: true,
      scheme: "standard-webhooks-hmac-sha256",
    });
    const ctx = createExecutionContext();
    const rotated = await createApp().fetch(
      new Request(`${BASE}${path}`, { headers: { authorization: `Bearer ${read}` } }),
      { ...env, STANDARD_WEBHOOK_SECRETS: "whsec_cm90YXRlZC1zZWNyZXQ=" },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(await rotated.json()).toMatchObject({ verified: false, scheme: "standard-webhooks-hmac-sha256" });
  });

  it("a quarantine retry replays the kept headers: the event id is webhook-id, occurredAt its timestamp", async () => {
    const body = JSON.stringify({ type: "export.started", data: { id: "exp_retried" } });
    const signedAt = nowSeconds() - 3600;
    const headers = await standardHeaders(body, { id: "msg_retried", timestamp: signedAt });
    // An entry an older release quarantined: authentic, refused by its parser, accepted by today's.
    const id = await quarantineDelivery(env.DB, {
      source: "standard",
      receivedAt: (signedAt + 1) * 1000,
      issues: [{ path: "", message: "refused by an older parser" }],
      body: new TextEncoder().encode(body),
      auth: JSON.stringify({
        scheme: "standard-webhooks-hmac-sha256",
        values: {
          id: headers["webhook-id"],
          timestamp: headers["webhook-timestamp"],
          signature: headers["webhook-signature"],
        },
      }),
    });
    const admin = await createToken({ admin: true });
    const response = await SELF.fetch(`${BASE}/v1/quarantine/${id}/retry`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(await response.json()).toEqual({
      ok: true,
      outcome: "stored",
      jobKey: "standard:export:exp_retried",
      eventId: "msg_retried",
    });
    const job = await jobDetail("standard:export:exp_retried", read);
    expect(job.history[0]).toMatchObject({
      eventId: "msg_retried",
      occurredAt: new Date(signedAt * 1000).toISOString(),
    });
  });
});
