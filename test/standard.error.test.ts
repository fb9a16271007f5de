/**
 * Standard Webhooks deliveries that are refused or quarantined, with Extend's codes and order of
 * checks (CONTRACT §3.3): method → declared length → the three headers (`missing_signature`) →
 * body → HMAC (`invalid_signature`), then freshness (`stale_timestamp`) → JSON and shape (202
 * quarantine). Nothing refused is stored.
 */
import { createExecutionContext, env, SELF, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import {
  allQuarantine,
  apiGet,
  BASE,
  createToken,
  errorCode,
  jobStatusCode,
  lazyStream,
  nowSeconds,
  type QuarantinedBody,
  sendStandard,
  sendToWorker,
  signedStandardRequest,
  signStandard,
  standardHeaders,
} from "./helpers";

const MAX_BODY_BYTES = 5_242_880;
let read: string;
beforeAll(async () => {
  read = await createToken();
});

function event(id: string, verb = "started") {
  return JSON.stringify({ type: `export.${verb}`, data: { id } });
}

/** A POST to /webhooks/standard with exactly these headers. */
function raw(body: string | null, headers: Record<string, string>, method = "POST"): Request {
  return new Request(`${BASE}/webhooks/standard`, { method, headers, body });
}

async function expectRefused(response: Response, status: number, code: string, jobId?: string) {
  expect(response.status).toBe(status);
  expect(await errorCode(response)).toBe(code);
  if (jobId !== undefined) expect(await jobStatusCode(`standard:export:${jobId}`, read)).toBe(404);
}

describe("401 missing_signature: any of the three headers absent", () => {
  it.each(["webhook-id", "webhook-timestamp", "webhook-signature"])("without %s", async (header) => {
    const body = event(`missing_${header}`);
    const headers = await standardHeaders(body);
    delete headers[header];
    await expectRefused(await SELF.fetch(raw(body, headers)), 401, "missing_signature", `missing_${header}`);
  });
});

describe("401 invalid_signature and stale_timestamp", () => {
  it("a forged signature, a body changed after signing, or another webhook-id → invalid_signature", async () => {
    const body = event("forged");
    const headers = await standardHeaders(body);
    const forged = { ...headers, "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" };
    await expectRefused(await SELF.fetch(raw(body, forged)), 401, "invalid_signature", "forged");
    await expectRefused(
      await SELF.fetch(raw(body.replace("forged", "forgex"), headers)),
      401,
      "invalid_signature",
    );
    await expectRefused(
      await SELF.fetch(raw(body, { ...headers, "webhook-id": "msg_other" })),
      401,
      "invalid_signature",
      "forged",
    );
  });

  it("a secret that is not configured → invalid_signature", async () => {
    const response = await sendStandard(event("wrong_secret"), { secret: "whsec_bm90LWNvbmZpZ3VyZWQ=" });
    await expectRefused(response, 401, "invalid_signature", "wrong_secret");
  });

  it("a timestamp that is not integer seconds → invalid_signature", async () => {
    const body = event("ms_timestamp");
    const response = await sendStandard(body, { timestamp: `${Date.now()}.5` });
    await expectRefused(response, 401, "invalid_signature", "ms_timestamp");
  });

  it("older than the tolerance or over 60 s ahead → stale_timestamp; unsigned and stale → invalid_signature", async () => {
    await expectRefused(
      await sendStandard(event("stale"), { timestamp: nowSeconds() - 400 }),
      401,
      "stale_timestamp",
      "stale",
    );
    await expectRefused(
      await sendStandard(event("ahead"), { timestamp: nowSeconds() + 120 }),
      401,
      "stale_timestamp",
      "ahead",
    );
    await expectRefused(
      await sendStandard(event("stale_forged"), {
        timestamp: nowSeconds() - 400,
        secret: "whsec_bm90LWNvbmZpZ3VyZWQ=",
      }),
      401,
      "invalid_signature",
    );
  });

  it("several signatures: one that matches is enough; none that match is invalid_signature", async () => {
    const body = event("several");
    const headers = await standardHeaders(body, { id: "msg_several" });
    const other = await signStandard(
      "whsec_bm90LWNvbmZpZ3VyZWQ=",
      "msg_several",
      headers["webhook-timestamp"] ?? "",
      body,
    );
    const several = {
      ...headers,
      "webhook-signature": `v1a,c2lnbmVk ${other} ${headers["webhook-signature"]}`,
    };
    const response = await SELF.fetch(raw(body, several));
    expect(response.status, await response.clone().text()).toBe(200);
    expect(await response.json()).toMatchObject({
      jobKey: "standard:export:several",
      eventId: "msg_several",
    });

    const none = { ...headers, "webhook-signature": `${other} v1,bm9wZQ==` };
    await expectRefused(
      await SELF.fetch(raw(event("several_none"), none)),
      401,
      "invalid_signature",
      "several_none",
    );
  });
});

describe("CONTRACT §3.4, line by line (issue 22, crack 9)", () => {
  it("entries of other versions only (v1a, v2) match nothing → invalid_signature, never another error", async () => {
    const body = event("other_versions");
    const headers = await standardHeaders(body);
    const mac = (headers["webhook-signature"] ?? "").slice("v1,".length);
    const others = { ...headers, "webhook-signature": `v1a,${mac} v2,${mac} v1b,${mac}` };
    await expectRefused(await SELF.fetch(raw(body, others)), 401, "invalid_signature", "other_versions");
    // The same entries beside a matching v1 one are ignored: the delivery passes.
    const beside = { ...headers, "webhook-signature": `${headers["webhook-signature"]} v1a,${mac} v2,x` };
    expect((await SELF.fetch(raw(body, beside))).status).toBe(200);
  });

  it.each([
    ["letters", "yesterday"],
    ["an exponent", "1.7e9"],
    ["hexadecimal", "0x6553f100"],
    ["a plus sign", `+${nowSeconds()}`],
    ["an ISO time", new Date().toISOString()],
    ["too many digits", "1".repeat(19)],
  ])("a malformed webhook-timestamp (%s), even signed as sent → invalid_signature", async (_, timestamp) => {
    const body = event("malformed_time");
    const response = await sendStandard(body, { timestamp });
    await expectRefused(response, 401, "invalid_signature", "malformed_time");
  });

  it("up to 60 s ahead is accepted; ahead and forged is invalid_signature (the HMAC first)", async () => {
    const ahead = await sendStandard(event("ahead_ok"), { timestamp: nowSeconds() + 30 });
    expect(ahead.status, await ahead.clone().text()).toBe(200);
    await expectRefused(
      await sendStandard(event("ahead_forged"), {
        timestamp: nowSeconds() + 120,
        secret: "whsec_bm90LWNvbmZpZ3VyZWQ=",
      }),
      401,
      "invalid_signature",
      "ahead_forged",
    );
  });

  it("SIGNATURE_TOLERANCE_SECONDS sets how old a timestamp may be; the 60 s ahead stays", async () => {
    const app = createApp();
    const strict = { ...env, SIGNATURE_TOLERANCE_SECONDS: "30" };
    const send = async (id: string, timestamp: number) => {
      const ctx = createExecutionContext();
      const response = await app.fetch(await signedStandardRequest(event(id), { timestamp }), strict, ctx);
      await waitOnExecutionContext(ctx);
      return response;
    };
    await expectRefused(
      await send("tolerance_old", nowSeconds() - 100),
      401,
      "stale_timestamp",
      "tolerance_old",
    );
    expect((await send("tolerance_recent", nowSeconds() - 10)).status).toBe(200);
    expect((await send("tolerance_ahead", nowSeconds() + 45)).status).toBe(200);
  });

  it("a streamed body without content-length that passes the limit → 413 payload_too_large", async () => {
    const { stream } = lazyStream(MAX_BODY_BYTES + 1024 * 1024);
    const response = await sendToWorker(
      new Request(`${BASE}/webhooks/standard`, {
        method: "POST",
        headers: await standardHeaders("{}"),
        body: stream,
        duplex: "half",
      } as RequestInit),
    );
    await expectRefused(response, 413, "payload_too_large");
  });

  it("an over-limit streamed body without the headers → missing_signature, answered before reading it", async () => {
    const { stream, state } = lazyStream(MAX_BODY_BYTES + 1024 * 1024);
    const response = await sendToWorker(
      new Request(`${BASE}/webhooks/standard`, {
        method: "POST",
        body: stream,
        duplex: "half",
      } as RequestInit),
    );
    await expectRefused(response, 401, "missing_signature");
    expect(state.pulled).toBeLessThanOrEqual(64 * 1024);
  });
});

describe("the order of checks", () => {
  it("the method comes first (405), then a declared length over the limit (413), then the headers", async () => {
    await expectRefused(await SELF.fetch(raw(null, {}, "GET")), 405, "method_not_allowed");
    const big = await SELF.fetch(raw("{}", { "content-length": String(MAX_BODY_BYTES + 1) }));
    await expectRefused(big, 413, "payload_too_large");
    await expectRefused(await SELF.fetch(raw("{}", {})), 401, "missing_signature");
  });
});

describe("202 quarantine: authentic, but not the common shape", () => {
  it.each([
    ["not JSON", "{not json"],
    ["no data.id", JSON.stringify({ type: "export.started", data: {} })],
    ["no type", JSON.stringify({ data: { id: "no_type" } })],
  ])("%s → 202, kept byte for byte under source standard", async (_, body) => {
    const response = await SELF.fetch(await signedStandardRequest(body));
    expect(response.status).toBe(202);
    const { quarantineId } = (await response.json()) as QuarantinedBody;
    const entry = (await allQuarantine(read)).find((item) => item.id === quarantineId);
    expect(entry).toMatchObject({ source: "standard", size: new TextEncoder().encode(body).byteLength });
    expect(await (await apiGet(`/v1/quarantine/${quarantineId}`, read)).text()).toBe(body);
  });

  it("an unsigned body that is not JSON is refused, never quarantined", async () => {
    const before = (await allQuarantine(read)).length;
    await expectRefused(
      await SELF.fetch(
        raw("{not json", { "webhook-id": "m", "webhook-timestamp": "1", "webhook-signature": "v1,x" }),
      ),
      401,
      "invalid_signature",
    );
    expect((await allQuarantine(read)).length).toBe(before);
  });
});
