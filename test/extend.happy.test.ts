import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { verifyExtendSignature } from "../src/vendors/extend/verify";
import { BASE, createToken, extendEvent, jobDetail, sendExtend, signExtend } from "./helpers";

describe("Extend deliveries, happy path", () => {
  it("answers /healthz", async () => {
    const response = await SELF.fetch(`${BASE}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  });

  describe("the vendor's test vector (vendors/extend.md §2.7)", () => {
    const body = new TextEncoder().encode(
      '{"eventId":"evt_test_1","eventType":"classify_run.failed","payload":{"object":"classify_run","id":"clr_test","status":"FAILED","failureReason":"PARSING_ERROR"}}',
    );
    const vector = {
      secrets: ["wss_other_secret", "wss_test_secret_do_not_use"],
      timestamp: "1700000000",
      signature: "f9ffdbf4a37df4da5bb794160c4f7fb20788e9200f814bdd393dfc567cb7aa48",
      body,
      nowSeconds: 1_700_000_010,
      toleranceSeconds: 300,
    };

    it("verifies, in lower or upper case, with the secret anywhere in the list", async () => {
      expect(await verifyExtendSignature(vector)).toBe("ok");
      expect(await verifyExtendSignature({ ...vector, signature: vector.signature.toUpperCase() })).toBe(
        "ok",
      );
    });

    it("fails with one hex digit changed, another secret, or another body", async () => {
      const changed = `${vector.signature.slice(0, -1)}9`;
      expect(await verifyExtendSignature({ ...vector, signature: changed })).toBe("invalid_signature");
      expect(await verifyExtendSignature({ ...vector, secrets: ["wss_other_secret"] })).toBe(
        "invalid_signature",
      );
      const other = new TextEncoder().encode(new TextDecoder().decode(body).replace("clr_test", "clr_tesu"));
      expect(await verifyExtendSignature({ ...vector, body: other })).toBe("invalid_signature");
    });

    it("is what the tests' own signer produces", async () => {
      expect(await signExtend("wss_test_secret_do_not_use", "1700000000", body)).toBe(vector.signature);
    });
  });

  it("stores a signed classify_run.failed and serves its history", async () => {
    const event = extendEvent(
      "classify_run.failed",
      {
        object: "classify_run",
        id: "clr_happy_1",
        status: "FAILED",
        failureReason: "PARSING_ERROR",
        failureMessage: "could not parse",
        updatedAt: "2026-01-02T03:04:05Z",
      },
      "evt_happy_1",
    );
    const response = await sendExtend(event);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      ok: true,
      eventId: "evt_happy_1",
      jobKey: "extend:classify_run:clr_happy_1",
      duplicate: false,
    });

    const token = await createToken();
    const job = await jobDetail("extend:classify_run:clr_happy_1", token);
    expect(job).toMatchObject({
      jobKey: "extend:classify_run:clr_happy_1",
      source: "extend",
      kind: "classify_run",
      id: "clr_happy_1",
      status: "failed",
      vendorStatus: "FAILED",
      terminal: true,
      failure: { reason: "PARSING_ERROR", messages: ["could not parse"] },
      firstEventAt: "2026-01-02T03:04:05.000Z",
      lastEventAt: "2026-01-02T03:04:05.000Z",
      eventCount: 1,
      deliveryCount: 1,
    });
    expect(job.history).toHaveLength(1);
    expect(job.history[0]).toMatchObject({ eventId: "evt_happy_1", status: "failed", deliveries: 1 });
  });

  it("gives every non-file job a files list, empty when none", async () => {
    expect((await sendExtend(extendEvent("split_run.processed", { id: "splr_files" }))).status).toBe(200);
    const job = await jobDetail("extend:split_run:splr_files", await createToken());
    expect(job.files).toEqual([]);
    expect(job).not.toHaveProperty("job");
  });

  it("takes an untagged payload for a signed URL only when data is an http(s) URL", async () => {
    const event = extendEvent("thing.updated", { id: "thing_1", data: "not a url" });
    const response = await sendExtend(event);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ jobKey: "extend:thing:thing_1", duplicate: false });
  });
});
