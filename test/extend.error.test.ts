/**
 * Every refusal of CONTRACT §3.3 for `POST /webhooks/extend`: 401 (missing / wrong / stale
 * signature), 405, 413, and the 202 quarantine of authentic deliveries that cannot be parsed; the
 * order of the checks; the one error envelope; and that nothing refused is stored.
 */
import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import {
  allQuarantine,
  apiGet,
  apiStatus,
  BASE,
  bodyBytes,
  createToken,
  EXTEND_SECRET,
  expectSameBytes,
  extendEvent,
  extendSignatureHeaders,
  jobDetail,
  lazyStream,
  nowSeconds,
  rawExtendRequest,
  sendExtend,
  sendToWorker,
  signedExtendRequest,
} from "./helpers";

const MAX_BODY_BYTES = 5_242_880;
const encoder = new TextEncoder();

let token: string;
beforeAll(async () => {
  token = await createToken();
});

/** Asserts the status and that the body is exactly `{"error":{"code","message"}}`. */
async function expectError(response: Response, status: number, code: string): Promise<void> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  const body = JSON.parse(text) as { error: { code: string; message: string } };
  expect(body).toEqual({ error: { code, message: expect.any(String) } });
  expect(Object.keys(body)).toEqual(["error"]);
  expect(Object.keys(body.error).sort()).toEqual(["code", "message"]);
  expect(body.error.message.length).toBeGreaterThan(0);
}

/** A valid classify_run.processed delivery body for job `clr_<tag>`. */
function validBody(tag: string): { text: string; jobKey: string } {
  const event = extendEvent(
    "classify_run.processed",
    { object: "classify_run", id: `clr_${tag}`, status: "PROCESSED", updatedAt: "2026-02-10T10:00:00Z" },
    `evt_${tag}`,
  );
  return { text: JSON.stringify(event), jobKey: `extend:classify_run:clr_${tag}` };
}

async function expectNoJob(jobKey: string): Promise<void> {
  expect(await apiStatus(`/v1/jobs/${encodeURIComponent(jobKey)}`, token)).toBe(404);
}

/** Flips one hex digit of a signature. */
function wrongSignature(signature: string): string {
  return (signature[0] === "0" ? "1" : "0") + signature.slice(1);
}

describe("401: signature headers missing, wrong or stale", () => {
  type Case = [name: string, build: (text: string) => Promise<Request>, code: string];
  const cases: Case[] = [
    [
      "missing timestamp header",
      async (text) => {
        const headers = await extendSignatureHeaders(text);
        return rawExtendRequest(text, {
          "x-extend-request-signature": headers["x-extend-request-signature"] ?? "",
        });
      },
      "missing_signature",
    ],
    [
      "missing signature header",
      async (text) => {
        const headers = await extendSignatureHeaders(text);
        return rawExtendRequest(text, {
          "x-extend-request-timestamp": headers["x-extend-request-timestamp"] ?? "",
        });
      },
      "missing_signature",
    ],
    [
      "no signature headers at all",
      async (text) => rawExtendRequest(text, { "content-type": "application/json" }),
      "missing_signature",
    ],
    [
      "a wrong signature (64 hex digits, one changed)",
      async (text) => {
        const headers = await extendSignatureHeaders(text);
        const signature = wrongSignature(headers["x-extend-request-signature"] ?? "");
        return rawExtendRequest(text, { ...headers, "x-extend-request-signature": signature });
      },
      "invalid_signature",
    ],
    [
      "a signature made with an unknown secret",
      async (text) => signedExtendRequest(text, { secret: "wss_not_a_configured_secret" }),
      "invalid_signature",
    ],
    [
      "a signature made with the secret without its wss_ prefix",
      async (text) => signedExtendRequest(text, { secret: EXTEND_SECRET.replace(/^wss_/, "") }),
      "invalid_signature",
    ],
    [
      "a signature of 63 hex digits",
      async (text) => {
        const headers = await extendSignatureHeaders(text);
        const signature = (headers["x-extend-request-signature"] ?? "").slice(0, 63);
        return rawExtendRequest(text, { ...headers, "x-extend-request-signature": signature });
      },
      "invalid_signature",
    ],
    [
      "a signature of 65 hex digits (the right one plus a digit)",
      async (text) => {
        const headers = await extendSignatureHeaders(text);
        const signature = `${headers["x-extend-request-signature"] ?? ""}0`;
        return rawExtendRequest(text, { ...headers, "x-extend-request-signature": signature });
      },
      "invalid_signature",
    ],
    [
      "a signature of 64 characters that are not hex",
      async (text) => {
        const headers = await extendSignatureHeaders(text);
        return rawExtendRequest(text, { ...headers, "x-extend-request-signature": "g".repeat(64) });
      },
      "invalid_signature",
    ],
    [
      'the right signature behind a "v0=" prefix',
      async (text) => {
        const headers = await extendSignatureHeaders(text);
        const signature = `v0=${headers["x-extend-request-signature"] ?? ""}`;
        return rawExtendRequest(text, { ...headers, "x-extend-request-signature": signature });
      },
      "invalid_signature",
    ],
    [
      "a non-integer timestamp, correctly signed (decimal seconds)",
      async (text) => signedExtendRequest(text, { timestamp: `${nowSeconds()}.5` }),
      "invalid_signature",
    ],
    [
      "a non-integer timestamp, correctly signed (an ISO date)",
      async (text) => signedExtendRequest(text, { timestamp: new Date().toISOString() }),
      "invalid_signature",
    ],
    [
      "a non-integer timestamp, correctly signed (letters)",
      async (text) => signedExtendRequest(text, { timestamp: "yesterday" }),
      "invalid_signature",
    ],
    [
      "the timestamp header changed after signing",
      async (text) => {
        const headers = await extendSignatureHeaders(text, { timestamp: nowSeconds() - 20 });
        return rawExtendRequest(text, {
          ...headers,
          "x-extend-request-timestamp": String(nowSeconds() - 19),
        });
      },
      "invalid_signature",
    ],
    [
      "a negative integer timestamp, correctly signed (an integer, so freshness decides)",
      async (text) => signedExtendRequest(text, { timestamp: "-100" }),
      "stale_timestamp",
    ],
    [
      "a timestamp older than 300 s, correctly signed",
      async (text) => signedExtendRequest(text, { timestamp: nowSeconds() - 330 }),
      "stale_timestamp",
    ],
    [
      "a timestamp a day old, correctly signed",
      async (text) => signedExtendRequest(text, { timestamp: nowSeconds() - 86_400 }),
      "stale_timestamp",
    ],
    [
      "a timestamp more than 60 s in the future, correctly signed",
      async (text) => signedExtendRequest(text, { timestamp: nowSeconds() + 90 }),
      "stale_timestamp",
    ],
    [
      "a timestamp in milliseconds, correctly signed (far in the future)",
      async (text) => signedExtendRequest(text, { timestamp: Date.now() }),
      "stale_timestamp",
    ],
    [
      "a stale timestamp with a wrong signature (HMAC before freshness)",
      async (text) => {
        const headers = await extendSignatureHeaders(text, { timestamp: nowSeconds() - 1000 });
        const signature = wrongSignature(headers["x-extend-request-signature"] ?? "");
        return rawExtendRequest(text, { ...headers, "x-extend-request-signature": signature });
      },
      "invalid_signature",
    ],
    [
      "a future timestamp signed with an unknown secret (HMAC before freshness)",
      async (text) => signedExtendRequest(text, { secret: "wss_unknown", timestamp: nowSeconds() + 600 }),
      "invalid_signature",
    ],
  ];

  it.each(cases.map((item, index) => [item[0], item, index] as const))(
    "%s → 401, nothing stored",
    async (_name, [, build, code], index) => {
      const before = (await allQuarantine(token)).length;
      const { text, jobKey } = validBody(`unauth_${index}`);
      await expectError(await SELF.fetch(await build(text)), 401, code);
      await expectNoJob(jobKey);
      expect((await allQuarantine(token)).length).toBe(before);
    },
  );

  it("a body changed by one byte after signing → invalid_signature, nothing stored", async () => {
    const { text, jobKey } = validBody("tampered");
    const headers = await extendSignatureHeaders(text);
    const tampered = text.replace('"PROCESSED"', '"PROCESSEE"');
    expect(tampered.length).toBe(text.length);
    await expectError(await SELF.fetch(rawExtendRequest(tampered, headers)), 401, "invalid_signature");
    await expectNoJob(jobKey);
  });

  it("a body with a trailing newline added after signing → invalid_signature", async () => {
    const { text, jobKey } = validBody("tampered_newline");
    const headers = await extendSignatureHeaders(text);
    await expectError(await SELF.fetch(rawExtendRequest(`${text}\n`, headers)), 401, "invalid_signature");
    await expectNoJob(jobKey);
  });

  it("an unauthenticated repeat of a stored event is not counted", async () => {
    const { text, jobKey } = validBody("unauth_repeat");
    expect((await sendExtend(text)).status).toBe(200);
    await expectError(
      await SELF.fetch(await signedExtendRequest(text, { secret: "wss_intruder" })),
      401,
      "invalid_signature",
    );
    await expectError(
      await SELF.fetch(await signedExtendRequest(text, { timestamp: nowSeconds() - 1000 })),
      401,
      "stale_timestamp",
    );
    expect(await jobDetail(jobKey, token)).toMatchObject({ eventCount: 1, deliveryCount: 1 });
  });

  it("an unauthenticated body that is not JSON is refused (401), not quarantined", async () => {
    const before = (await allQuarantine(token)).length;
    const headers = await extendSignatureHeaders("not json at all", { secret: "wss_intruder" });
    await expectError(
      await SELF.fetch(rawExtendRequest("not json at all", headers)),
      401,
      "invalid_signature",
    );
    expect((await allQuarantine(token)).length).toBe(before);
  });
});

describe("signatures that must verify", () => {
  async function expectAccepted(request: Request, jobKey: string): Promise<void> {
    const response = await SELF.fetch(request);
    const text = await response.text();
    expect(response.status, text).toBe(200);
    expect(JSON.parse(text)).toMatchObject({ ok: true, jobKey, duplicate: false });
    expect((await jobDetail(jobKey, token)).eventCount).toBe(1);
  }

  it("the signature upper-cased", async () => {
    const { text, jobKey } = validBody("upper");
    const headers = await extendSignatureHeaders(text);
    const signature = (headers["x-extend-request-signature"] ?? "").toUpperCase();
    expect(signature).toMatch(/[A-F]/);
    await expectAccepted(
      rawExtendRequest(text, { ...headers, "x-extend-request-signature": signature }),
      jobKey,
    );
  });

  it("header names in odd case", async () => {
    const { text, jobKey } = validBody("odd_case");
    const headers = await extendSignatureHeaders(text);
    await expectAccepted(
      rawExtendRequest(text, {
        "Content-Type": "application/json",
        "X-EXTEND-REQUEST-TIMESTAMP": headers["x-extend-request-timestamp"] ?? "",
        "X-Extend-Request-Signature": headers["x-extend-request-signature"] ?? "",
      }),
      jobKey,
    );
  });

  it("a signature made with the second configured secret", async () => {
    const { text, jobKey } = validBody("second_secret");
    await expectAccepted(await signedExtendRequest(text, { secret: "wss_second_secret" }), jobKey);
  });

  it("a timestamp 290 s old", async () => {
    const { text, jobKey } = validBody("old_but_fresh");
    await expectAccepted(await signedExtendRequest(text, { timestamp: nowSeconds() - 290 }), jobKey);
  });

  it("a timestamp 45 s in the future (clock skew)", async () => {
    const { text, jobKey } = validBody("skewed");
    await expectAccepted(await signedExtendRequest(text, { timestamp: nowSeconds() + 45 }), jobKey);
  });

  it("a delivery without a content-type header", async () => {
    const { text, jobKey } = validBody("no_content_type");
    await expectAccepted(rawExtendRequest(text, await extendSignatureHeaders(text)), jobKey);
  });
});

describe("405: methods other than POST", () => {
  it.each(["GET", "PUT", "DELETE", "PATCH", "OPTIONS"])(
    "%s /webhooks/extend → 405 method_not_allowed",
    async (method) => {
      const { text, jobKey } = validBody(`method_${method}`);
      const headers = await extendSignatureHeaders(text);
      const body = method === "GET" ? null : text;
      await expectError(await SELF.fetch(rawExtendRequest(body, headers, method)), 405, "method_not_allowed");
      await expectNoJob(jobKey);
    },
  );

  it("the method is checked first: GET with an over-limit content-length and no signature → 405", async () => {
    const response = await SELF.fetch(`${BASE}/webhooks/extend`, {
      method: "GET",
      headers: { "content-length": String(MAX_BODY_BYTES + 1) },
    });
    await expectError(response, 405, "method_not_allowed");
  });
});

describe("413: bodies over MAX_BODY_BYTES", () => {
  it("a declared content-length over the limit → 413 before the signature is looked at", async () => {
    const response = await SELF.fetch(`${BASE}/webhooks/extend`, {
      method: "POST",
      headers: { "content-length": String(MAX_BODY_BYTES + 1), "content-type": "application/json" },
      body: "{}",
    });
    await expectError(response, 413, "payload_too_large");
  });

  it("a declared content-length over the limit with signature headers → 413", async () => {
    const { text, jobKey } = validBody("declared_big");
    const headers = await extendSignatureHeaders(text);
    const response = await SELF.fetch(
      rawExtendRequest(text, { ...headers, "content-length": String(MAX_BODY_BYTES * 4) }),
    );
    await expectError(response, 413, "payload_too_large");
    await expectNoJob(jobKey);
  });

  it("a streamed body without content-length that passes the limit → 413; the rest is drained so the next request works", async () => {
    const total = 24 * 1024 * 1024;
    const { stream, state } = lazyStream(total);
    const headers = await extendSignatureHeaders("{}");
    const response = await SELF.fetch(`${BASE}/webhooks/extend`, {
      method: "POST",
      headers,
      body: stream,
      duplex: "half",
    } as RequestInit);
    await expectError(response, 413, "payload_too_large");
    // The rest of the body was read to its end (and thrown away), not cancelled half-way: a
    // cancelled request body wedges wrangler dev's proxy for the requests that follow.
    expect(state.pulled).toBe(total);
    expect((await SELF.fetch(`${BASE}/healthz`)).status).toBe(200);
  });

  it("a streamed over-limit body without signature headers → 401 missing_signature (checked before reading)", async () => {
    const { stream, state } = lazyStream(MAX_BODY_BYTES + 1024 * 1024);
    // Straight to the Worker rather than through SELF's pipe: the body is never read, and an
    // abandoned pipe only makes the test runner log a lost connection.
    const response = await sendToWorker(
      new Request(`${BASE}/webhooks/extend`, { method: "POST", body: stream, duplex: "half" } as RequestInit),
    );
    await expectError(response, 401, "missing_signature");
    // Answered from the headers alone: no more than the stream's first chunk was pulled.
    expect(state.pulled).toBeLessThanOrEqual(64 * 1024);
  });

  it("an authentic body of exactly MAX_BODY_BYTES is accepted; one byte more is 413", async () => {
    const head =
      '{"eventId":"evt_exact_limit","eventType":"batch_parse_run.processed","payload":{"object":"batch_run","id":"bpar_exact_limit","status":"PROCESSED","runCount":1,"metadata":{"pad":"';
    const tail = '"}}}';
    const pad = "x".repeat(MAX_BODY_BYTES - head.length - tail.length);
    const exact = `${head}${pad}${tail}`;
    expect(encoder.encode(exact).byteLength).toBe(MAX_BODY_BYTES);
    const response = await sendExtend(exact);
    expect(response.status, await response.clone().text()).toBe(200);
    expect(await response.json()).toMatchObject({ jobKey: "extend:batch_parse_run:bpar_exact_limit" });

    // Same length ids, one more byte of padding.
    const over = `${head}${pad}x${tail}`
      .replace("evt_exact_limit", "evt_over__limit")
      .replace("bpar_exact_limit", "bpar_over__limit");
    expect(encoder.encode(over).byteLength).toBe(MAX_BODY_BYTES + 1);
    await expectError(await sendExtend(over), 413, "payload_too_large");
    await expectNoJob("extend:batch_parse_run:bpar_over__limit");
  });
});

describe("202: authentic deliveries that cannot be parsed are quarantined", () => {
  interface QuarantinedAnswer {
    ok: true;
    quarantined: true;
    quarantineId: string;
  }

  /** Sends `body` signed; asserts the 202, the quarantine listing and the raw body served back. */
  async function expectQuarantined(body: string | Uint8Array, pathFragment?: string): Promise<string> {
    const bytes = typeof body === "string" ? encoder.encode(body) : body;
    const headers = await extendSignatureHeaders(bytes);
    const response = await SELF.fetch(
      rawExtendRequest(bytes, { ...headers, "content-type": "application/json" }),
    );
    const text = await response.text();
    expect(response.status, text).toBe(202);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const answer = JSON.parse(text) as QuarantinedAnswer;
    expect(answer).toEqual({ ok: true, quarantined: true, quarantineId: expect.any(String) });
    expect(answer.quarantineId.length).toBeGreaterThan(0);

    const entry = (await allQuarantine(token)).find((item) => item.id === answer.quarantineId);
    expect(entry, "listed by GET /v1/quarantine").toBeDefined();
    expect(entry).toEqual({
      id: answer.quarantineId,
      source: "extend",
      receivedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      reason: expect.any(Array),
      size: bytes.byteLength,
    });
    expect(entry?.reason.length).toBeGreaterThan(0);
    for (const issue of entry?.reason ?? []) {
      expect(Object.keys(issue).sort()).toEqual(["message", "path"]);
      expect(typeof issue.path).toBe("string");
      expect(typeof issue.message).toBe("string");
      expect(issue.message.length).toBeGreaterThan(0);
    }
    if (pathFragment !== undefined) {
      expect(entry?.reason.map((issue) => issue.path).join(" | ")).toContain(pathFragment);
    }

    const raw = await apiGet(`/v1/quarantine/${encodeURIComponent(answer.quarantineId)}`, token);
    expect(raw.status).toBe(200);
    expectSameBytes(await bodyBytes(raw), bytes);
    return answer.quarantineId;
  }

  it("a body that is not JSON", async () => {
    await expectQuarantined("this is not JSON, but it is signed");
  });

  it("a body that is not UTF-8", async () => {
    await expectQuarantined(new Uint8Array([0x7b, 0xff, 0xfe, 0x00, 0x80, 0x7d]));
  });

  it("truncated JSON", async () => {
    const { text, jobKey } = validBody("truncated");
    await expectQuarantined(text.slice(0, -3));
    await expectNoJob(jobKey);
  });

  it("JSON that is not an object (an array)", async () => {
    await expectQuarantined('[{"eventId":"evt_in_array","eventType":"classify_run.processed"}]');
  });

  it("JSON that is a bare string", async () => {
    await expectQuarantined('"classify_run.processed"');
  });

  it("an envelope without eventId", async () => {
    const payload = { object: "classify_run", id: "clr_no_event_id", status: "PROCESSED" };
    await expectQuarantined(JSON.stringify({ eventType: "classify_run.processed", payload }), "eventId");
    await expectNoJob("extend:classify_run:clr_no_event_id");
  });

  it("an envelope whose eventId is a number", async () => {
    const payload = { object: "classify_run", id: "clr_numeric_event_id", status: "PROCESSED" };
    await expectQuarantined(
      JSON.stringify({ eventId: 42, eventType: "classify_run.processed", payload }),
      "eventId",
    );
    await expectNoJob("extend:classify_run:clr_numeric_event_id");
  });

  it("an envelope without eventType", async () => {
    const payload = { object: "classify_run", id: "clr_no_event_type", status: "PROCESSED" };
    await expectQuarantined(JSON.stringify({ eventId: "evt_no_type", payload }), "eventType");
    await expectNoJob("extend:classify_run:clr_no_event_type");
  });

  it("an envelope without payload", async () => {
    await expectQuarantined(
      JSON.stringify({ eventId: "evt_no_payload", eventType: "classify_run.processed" }),
      "payload",
    );
  });

  it.each([
    ["a string", "clr_in_a_string"],
    ["null", null],
    ["an array", ["clr_in_an_array"]],
    ["a number", 7],
  ])("an envelope whose payload is %s", async (_name, payload) => {
    await expectQuarantined(
      JSON.stringify({ eventId: "evt_bad_payload", eventType: "classify_run.processed", payload }),
      "payload",
    );
  });

  it("classify_run.processed without payload.id", async () => {
    await expectQuarantined(
      JSON.stringify(extendEvent("classify_run.processed", { object: "classify_run", status: "PROCESSED" })),
      "id",
    );
  });

  it("classify_run.processed whose payload.id is a number", async () => {
    await expectQuarantined(
      JSON.stringify(
        extendEvent("classify_run.processed", { object: "classify_run", id: 12345, status: "PROCESSED" }),
      ),
      "id",
    );
    await expectNoJob("extend:classify_run:12345");
  });

  it("classify_run.processed whose payload.id is empty", async () => {
    await expectQuarantined(
      JSON.stringify(
        extendEvent("classify_run.processed", { object: "classify_run", id: "", status: "PROCESSED" }),
      ),
      "id",
    );
  });

  it("classify_run.processed whose updatedAt is not a string", async () => {
    const payload = {
      object: "classify_run",
      id: "clr_numeric_date",
      status: "PROCESSED",
      updatedAt: 1711039500,
    };
    await expectQuarantined(JSON.stringify(extendEvent("classify_run.processed", payload)), "updatedAt");
    await expectNoJob("extend:classify_run:clr_numeric_date");
  });

  it("classify_run.processed whose status is not a string", async () => {
    const payload = { object: "classify_run", id: "clr_numeric_status", status: 3 };
    await expectQuarantined(JSON.stringify(extendEvent("classify_run.processed", payload)), "status");
    await expectNoJob("extend:classify_run:clr_numeric_status");
  });

  it("classify_run.processed whose payload.object names another type", async () => {
    const payload = { object: "extract_run", id: "clr_wrong_object", status: "PROCESSED" };
    await expectQuarantined(JSON.stringify(extendEvent("classify_run.processed", payload)), "object");
    await expectNoJob("extend:classify_run:clr_wrong_object");
  });

  it("workflow_run.step_run.processed without workflowRunId", async () => {
    const payload = { object: "workflow_step_run", id: "workflow_step_run_orphan", status: "PROCESSED" };
    await expectQuarantined(
      JSON.stringify(extendEvent("workflow_run.step_run.processed", payload)),
      "workflowRunId",
    );
    await expectNoJob("extend:workflow_run:undefined");
  });

  it("classifier.version.published without classifierId", async () => {
    const payload = { object: "classifier_version", id: "clv_orphan", version: "1.0" };
    await expectQuarantined(
      JSON.stringify(extendEvent("classifier.version.published", payload)),
      "classifierId",
    );
    await expectNoJob("extend:classifier:clv_orphan");
  });

  it("a quarantined delivery for an existing job leaves the job as it was", async () => {
    const { text, jobKey } = validBody("quarantine_existing");
    expect((await sendExtend(text)).status).toBe(200);
    const before = await jobDetail(jobKey, token);
    const broken = JSON.stringify(
      extendEvent("classify_run.failed", {
        object: "classify_run",
        id: "clr_quarantine_existing",
        status: 500,
      }),
    );
    await expectQuarantined(broken, "status");
    expect(await jobDetail(jobKey, token)).toEqual(before);
  });

  it("a large (3 MB) authentic body that is not JSON is kept byte for byte", async () => {
    const big = new Uint8Array(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = 0x41 + (i % 26);
    await expectQuarantined(big);
  });

  it("GET /v1/quarantine/:id of an unknown id → 404 not_found", async () => {
    await expectError(await apiGet("/v1/quarantine/q_does_not_exist", token), 404, "not_found");
  });
});
