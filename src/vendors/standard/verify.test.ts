import { describe, expect, it } from "vitest";
import { signStandardBody } from "../../../scripts/standard-signature.mjs";
import { normalizeStandardEvent } from "./normalize";
import { verifyStandardSignature } from "./verify";

/** The spec's published test vector (standard-webhooks reference libraries). */
const VECTOR = {
  secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
  id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  timestamp: "1614265330",
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
  body: new TextEncoder().encode('{"test": 2432232314}'),
  nowSeconds: 1614265330,
  toleranceSeconds: 300,
};

describe("verifyStandardSignature", () => {
  it("verifies the spec's test vector, and the shared signer reproduces it", async () => {
    expect(await verifyStandardSignature(VECTOR)).toBe("ok");
    expect(await signStandardBody(VECTOR.secrets[0] ?? "", VECTOR.id, VECTOR.timestamp, VECTOR.body)).toBe(
      VECTOR.signature,
    );
  });

  it("takes the secret without its whsec_ prefix, as the reference libraries do", async () => {
    expect(await verifyStandardSignature({ ...VECTOR, secrets: ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"] })).toBe(
      "ok",
    );
  });

  it("passes when any v1 entry matches, skipping other versions and malformed entries", async () => {
    const signature = `v1a,abc v2,${VECTOR.signature.slice(3)} v1,not*base64 v1,bm9wZQ== ${VECTOR.signature}`;
    expect(await verifyStandardSignature({ ...VECTOR, signature })).toBe("ok");
  });

  it("fails with another id, timestamp, body or secret; a secret that is not base64 matches nothing", async () => {
    expect(await verifyStandardSignature({ ...VECTOR, id: "msg_other" })).toBe("invalid_signature");
    expect(
      await verifyStandardSignature({ ...VECTOR, timestamp: "1614265331", nowSeconds: 1614265331 }),
    ).toBe("invalid_signature");
    expect(
      await verifyStandardSignature({ ...VECTOR, body: new TextEncoder().encode('{"test":2432232314}') }),
    ).toBe("invalid_signature");
    expect(await verifyStandardSignature({ ...VECTOR, secrets: ["whsec_b3RoZXI=", "whsec_!!"] })).toBe(
      "invalid_signature",
    );
    expect(await verifyStandardSignature({ ...VECTOR, signature: "v1," })).toBe("invalid_signature");
    expect(await verifyStandardSignature({ ...VECTOR, timestamp: "16142653.30" })).toBe("invalid_signature");
  });

  it("checks freshness after the MAC: tolerance into the past, 60 s into the future", async () => {
    const at = (now: number) => verifyStandardSignature({ ...VECTOR, nowSeconds: now });
    expect(await at(1614265330 + 300)).toBe("ok");
    expect(await at(1614265330 + 301)).toBe("stale_timestamp");
    expect(await at(1614265330 - 60)).toBe("ok");
    expect(await at(1614265330 - 61)).toBe("stale_timestamp");
  });
});

describe("normalizeStandardEvent", () => {
  const context = { eventId: "msg_1", signedAt: 1_700_000_000, receivedAt: 1_700_000_001_000 };
  const statusOf = (type: string) => {
    const result = normalizeStandardEvent({ type, data: { id: "x" } }, context);
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    return [result.event.status, result.event.terminal];
  };

  it("maps the last word of the type to a status, and leaves it for an unknown word", () => {
    expect(statusOf("invoice.created")).toEqual(["pending", false]);
    expect(statusOf("export.queued")).toEqual(["pending", false]);
    expect(statusOf("export.started")).toEqual(["processing", false]);
    expect(statusOf("export.processing")).toEqual(["processing", false]);
    expect(statusOf("export.running")).toEqual(["processing", false]);
    expect(statusOf("export.updated")).toEqual(["processing", false]);
    expect(statusOf("export.completed")).toEqual(["succeeded", true]);
    expect(statusOf("export.step.Succeeded")).toEqual(["succeeded", true]);
    expect(statusOf("export.processed")).toEqual(["succeeded", true]);
    expect(statusOf("export.succeeded")).toEqual(["succeeded", true]);
    expect(statusOf("export.failed")).toEqual(["failed", true]);
    expect(statusOf("export.canceled")).toEqual(["cancelled", true]);
    expect(statusOf("export.cancelled")).toEqual(["cancelled", true]);
    expect(statusOf("export.deleted")).toEqual(["deleted", true]);
    expect(statusOf("invoice.paid")).toEqual([null, false]);
    expect(statusOf("ping")).toEqual([null, false]);
    expect(statusOf("export.constructor")).toEqual([null, false]);
  });

  it("keys the job on the type's first part and data.id; occurredAt is timestamp, else the header's", () => {
    const stated = normalizeStandardEvent(
      { type: "export.job.started", timestamp: "2026-03-01T10:00:00Z", data: { id: 42 } },
      context,
    );
    expect(stated).toMatchObject({
      ok: true,
      event: { jobKey: "standard:export:42", kind: "export", id: "42", eventId: "msg_1" },
    });
    expect(stated.ok && stated.event.occurredAt).toBe(Date.parse("2026-03-01T10:00:00Z"));
    const unstated = normalizeStandardEvent(
      { type: "export.started", timestamp: "soon", data: { id: "e" } },
      context,
    );
    expect(unstated.ok && unstated.event.occurredAt).toBe(1_700_000_000_000);
    // The payload's timestamp is an ISO 8601 string in the spec; any other value is not refused,
    // only not used: the event is stored, ordered by webhook-timestamp.
    for (const timestamp of [null, 1_700_000_500, { at: "2026-03-01T10:00:00Z" }, true]) {
      const other = normalizeStandardEvent({ type: "export.started", timestamp, data: { id: "e" } }, context);
      expect(other.ok && other.event.occurredAt, JSON.stringify(timestamp)).toBe(1_700_000_000_000);
    }
  });

  it("refuses a payload without the common shape, saying where", () => {
    const issues = (payload: unknown) => {
      const result = normalizeStandardEvent(payload, context);
      return result.ok ? [] : result.issues.map((issue) => issue.path);
    };
    expect(issues({ type: "export.started", data: {} })).toEqual(["data.id"]);
    expect(issues({ type: "export.started" })).toEqual(["data"]);
    expect(issues({ data: { id: "x" } })).toEqual(["type"]);
    expect(issues({ type: "a:b.started", data: { id: "x" } })).toEqual(["type"]);
    expect(issues({ type: ".started", data: { id: "x" } })).toEqual(["type"]);
    expect(issues({ type: "export.started", data: { id: 1.5 } })).toEqual(["data.id"]);
    expect(issues("a string")).toEqual([""]);
    expect(issues([])).toEqual(["type", "data"]);
  });
});
