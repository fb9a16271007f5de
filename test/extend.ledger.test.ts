/**
 * The job ledger seen through the API (CONTRACT §3.3, §4, §5): dedup under concurrent deliveries,
 * ordering by occurredAt (a late older event never moves the status back), the D1 projection, raw
 * events byte for byte (also above the 2 MB row limit), and signed-URL payloads.
 */
import { createExecutionContext, env, SELF, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { EXTEND_FIXTURES, withUniqueJobId } from "./fixtures/extend/events";
import {
  allQuarantine,
  apiGet,
  apiStatus,
  bodyBytes,
  createToken,
  eventually,
  expectSameBytes,
  extendEvent,
  type JobDetailBody,
  jobDetail,
  listAll,
  nowSeconds,
  type StoredBody,
  sendExtend,
  signedExtendRequest,
} from "./helpers";

const encoder = new TextEncoder();

let token: string;
beforeAll(async () => {
  token = await createToken();
});

/** Asserts a 200 stored answer on `jobKey`; `duplicate` is checked unless it is "either". */
async function expectStored(
  response: Response,
  jobKey: string,
  duplicate: boolean | "either" = false,
): Promise<StoredBody> {
  const text = await response.text();
  expect(response.status, text).toBe(200);
  const body = JSON.parse(text) as StoredBody;
  expect(body).toEqual({
    ok: true,
    eventId: expect.any(String),
    jobKey,
    duplicate: duplicate === "either" ? expect.any(Boolean) : duplicate,
  });
  return body;
}

async function expectError(response: Response, status: number, code: string): Promise<void> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(JSON.parse(text)).toEqual({ error: { code, message: expect.any(String) } });
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

describe("dedup", () => {
  it("the same event delivered 20 times at once is stored once and counted 20 times", async () => {
    const fixture = withUniqueJobId(EXTEND_FIXTURES["extract_run.processed"], "exr_race_20");
    const event = extendEvent("extract_run.processed", fixture.payload, "evt_race_20");
    const timestamp = nowSeconds();
    const requests = await Promise.all(
      Array.from({ length: 20 }, () => signedExtendRequest(event, { timestamp })),
    );
    const responses = await Promise.all(requests.map((request) => SELF.fetch(request)));
    const bodies = await Promise.all(
      responses.map((response) => expectStored(response, fixture.jobKey, "either")),
    );
    expect(bodies.every((body) => body.eventId === "evt_race_20")).toBe(true);
    expect(bodies.filter((body) => body.duplicate === false)).toHaveLength(1);
    expect(bodies.filter((body) => body.duplicate === true)).toHaveLength(19);

    const job = await jobDetail(fixture.jobKey, token);
    expect(job).toMatchObject({ eventCount: 1, deliveryCount: 20, status: "succeeded" });
    expect(job.history).toHaveLength(1);
    expect(job.history[0]).toMatchObject({ eventId: "evt_race_20", deliveries: 20 });
  });

  it("a repeat delivery answers duplicate:true and leaves the history as it was", async () => {
    const fixture = withUniqueJobId(EXTEND_FIXTURES["split_run.failed"], "splr_repeat");
    const event = extendEvent("split_run.failed", fixture.payload, "evt_repeat");
    await expectStored(await sendExtend(event), fixture.jobKey, false);
    const before = await jobDetail(fixture.jobKey, token);
    // A retry is re-signed later and may differ in nothing else.
    await expectStored(await sendExtend(event, { timestamp: nowSeconds() + 1 }), fixture.jobKey, true);
    const after = await jobDetail(fixture.jobKey, token);
    expect(after.eventCount).toBe(1);
    expect(after.deliveryCount).toBe(2);
    const [entry] = after.history;
    expect(after.history).toEqual([{ ...before.history[0], deliveries: 2, receipts: entry?.receipts }]);
    // The repeat's receipt time joins the first's, newest last.
    expect(entry?.receipts).toHaveLength(2);
    expect(entry?.receipts[0]).toBe(before.history[0]?.receivedAt);
    expect(after.status).toBe(before.status);
  });
});

describe("dedup is per job key", () => {
  it("a repeat with a changed body is still the same event: duplicate, first body kept", async () => {
    const fixture = withUniqueJobId(EXTEND_FIXTURES["classify_run.processed"], "clr_changed_repeat");
    const first = JSON.stringify(
      extendEvent("classify_run.processed", fixture.payload, "evt_changed_repeat"),
    );
    const second = JSON.stringify(
      extendEvent("classify_run.processed", { ...fixture.payload, status: "CHANGED" }, "evt_changed_repeat"),
    );
    await expectStored(await sendExtend(first), fixture.jobKey, false);
    await expectStored(await sendExtend(second), fixture.jobKey, true);
    const job = await jobDetail(fixture.jobKey, token);
    expect(job).toMatchObject({ eventCount: 1, deliveryCount: 2, vendorStatus: "PROCESSED" });
    const raw = await apiGet(`/v1/jobs/${fixture.jobKey}/events/evt_changed_repeat`, token);
    expect(await raw.text()).toBe(first);
  });

  it("the same event id on two different jobs is two events", async () => {
    const a = withUniqueJobId(EXTEND_FIXTURES["parse_run.processed"], "pr_same_event_a");
    const b = withUniqueJobId(EXTEND_FIXTURES["parse_run.processed"], "pr_same_event_b");
    await expectStored(
      await sendExtend(extendEvent("parse_run.processed", a.payload, "evt_shared")),
      a.jobKey,
    );
    await expectStored(
      await sendExtend(extendEvent("parse_run.processed", b.payload, "evt_shared")),
      b.jobKey,
    );
    expect((await jobDetail(a.jobKey, token)).eventCount).toBe(1);
    expect((await jobDetail(b.jobKey, token)).eventCount).toBe(1);
  });

  it("ten different events of one job delivered at once are all stored", async () => {
    const runId = "workflow_run_burst_10";
    const step = withUniqueJobId(EXTEND_FIXTURES["workflow_run.step_run.processed"], runId);
    const start = nowSeconds() - 100;
    const requests = await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        signedExtendRequest(
          extendEvent(
            "workflow_run.step_run.processed",
            { ...step.payload, id: `workflow_step_run_burst_${index}` },
            `evt_burst_${index}`,
          ),
          { timestamp: start + index },
        ),
      ),
    );
    const responses = await Promise.all(requests.map((request) => SELF.fetch(request)));
    for (const response of responses) await expectStored(response, step.jobKey, false);
    const job = await jobDetail(step.jobKey, token);
    expect(job).toMatchObject({ eventCount: 10, deliveryCount: 10, status: "processing", terminal: false });
    expect(job.history.map((entry) => entry.eventId)).toEqual(
      Array.from({ length: 10 }, (_, index) => `evt_burst_${index}`),
    );
  });
});

describe("order: occurredAt decides, not arrival", () => {
  it("a late workflow_run.step_run.processed with an older signature does not undo workflow_run.completed", async () => {
    const runId = "workflow_run_late_step_1";
    const run = withUniqueJobId(EXTEND_FIXTURES["workflow_run.completed"], runId);
    const step = withUniqueJobId(EXTEND_FIXTURES["workflow_run.step_run.processed"], runId);
    const jobKey = `extend:workflow_run:${runId}`;
    expect(run.jobKey).toBe(jobKey);
    expect(step.jobKey).toBe(jobKey);
    // WorkflowRun and StepRun carry no updatedAt: occurredAt is the signature timestamp.
    expect(run.payload.updatedAt).toBeUndefined();
    expect(step.payload.updatedAt).toBeUndefined();
    const now = nowSeconds();

    await expectStored(
      await sendExtend(extendEvent("workflow_run.completed", run.payload, "evt_late_completed"), {
        timestamp: now - 10,
      }),
      jobKey,
    );
    await expectStored(
      await sendExtend(extendEvent("workflow_run.step_run.processed", step.payload, "evt_late_step"), {
        timestamp: now - 100,
      }),
      jobKey,
    );

    const job = await jobDetail(jobKey, token);
    expect(job).toMatchObject({
      status: "succeeded",
      vendorStatus: "PROCESSED",
      terminal: true,
      eventCount: 2,
      deliveryCount: 2,
      firstEventAt: iso(now - 100),
      lastEventAt: iso(now - 10),
    });
    expect(job.history.map((entry) => [entry.eventId, entry.status, entry.occurredAt])).toEqual([
      ["evt_late_step", "processing", iso(now - 100)],
      ["evt_late_completed", "succeeded", iso(now - 10)],
    ]);
  });

  it("on an occurredAt tie, workflow_run.completed still beats a step delivered after it", async () => {
    const runId = "workflow_run_tie_1";
    const run = withUniqueJobId(EXTEND_FIXTURES["workflow_run.completed"], runId);
    const step = withUniqueJobId(EXTEND_FIXTURES["workflow_run.step_run.processed"], runId);
    const timestamp = nowSeconds() - 30;
    await expectStored(
      await sendExtend(extendEvent("workflow_run.completed", run.payload, "evt_tie_completed"), {
        timestamp,
      }),
      run.jobKey,
    );
    await expectStored(
      await sendExtend(extendEvent("workflow_run.step_run.processed", step.payload, "evt_tie_step"), {
        timestamp,
      }),
      run.jobKey,
    );
    const job = await jobDetail(run.jobKey, token);
    expect(job).toMatchObject({ status: "succeeded", terminal: true });
    expect(job.history.map((entry) => entry.eventId)).toEqual(["evt_tie_step", "evt_tie_completed"]);
  });

  it("steps in order, then completion: processing, then succeeded", async () => {
    const runId = "workflow_run_in_order_1";
    const run = withUniqueJobId(EXTEND_FIXTURES["workflow_run.completed"], runId);
    const step = withUniqueJobId(EXTEND_FIXTURES["workflow_run.step_run.processed"], runId);
    const now = nowSeconds();
    await expectStored(
      await sendExtend(extendEvent("workflow_run.step_run.processed", step.payload, "evt_order_step"), {
        timestamp: now - 60,
      }),
      run.jobKey,
    );
    expect((await jobDetail(run.jobKey, token)).status).toBe("processing");
    await expectStored(
      await sendExtend(extendEvent("workflow_run.completed", run.payload, "evt_order_completed"), {
        timestamp: now - 5,
      }),
      run.jobKey,
    );
    const job = await jobDetail(run.jobKey, token);
    expect(job).toMatchObject({ status: "succeeded", terminal: true, eventCount: 2 });
  });

  it("extract_run.failed at T2 delivered first, then extract_run.processed at T1: stays failed", async () => {
    const failed = withUniqueJobId(EXTEND_FIXTURES["extract_run.failed"], "exr_late_processed");
    const processed = withUniqueJobId(EXTEND_FIXTURES["extract_run.processed"], "exr_late_processed");
    const t1 = "2026-02-10T10:00:00.000Z";
    const t2 = "2026-02-10T10:05:00.000Z";
    await expectStored(
      await sendExtend(
        extendEvent("extract_run.failed", { ...failed.payload, updatedAt: t2 }, "evt_t2_failed"),
      ),
      failed.jobKey,
    );
    await expectStored(
      await sendExtend(
        extendEvent("extract_run.processed", { ...processed.payload, updatedAt: t1 }, "evt_t1_processed"),
      ),
      failed.jobKey,
    );
    const job = await jobDetail(failed.jobKey, token);
    expect(job).toMatchObject({
      status: "failed",
      vendorStatus: "FAILED",
      terminal: true,
      failure: { reason: "SCHEMA_GENERATION_FAILED" },
      firstEventAt: t1,
      lastEventAt: t2,
      eventCount: 2,
    });
    expect(job.history.map((entry) => [entry.eventId, entry.occurredAt])).toEqual([
      ["evt_t1_processed", t1],
      ["evt_t2_failed", t2],
    ]);
  });

  it("a newer event does move the status: extract_run.failed at T1, then extract_run.processed at T2", async () => {
    const failed = withUniqueJobId(EXTEND_FIXTURES["extract_run.failed"], "exr_rerun");
    const processed = withUniqueJobId(EXTEND_FIXTURES["extract_run.processed"], "exr_rerun");
    await expectStored(
      await sendExtend(
        extendEvent(
          "extract_run.failed",
          { ...failed.payload, updatedAt: "2026-02-11T08:00:00Z" },
          "evt_rerun_1",
        ),
      ),
      failed.jobKey,
    );
    await expectStored(
      await sendExtend(
        extendEvent(
          "extract_run.processed",
          { ...processed.payload, updatedAt: "2026-02-11T08:10:00Z" },
          "evt_rerun_2",
        ),
      ),
      failed.jobKey,
    );
    const job = await jobDetail(failed.jobKey, token);
    expect(job).toMatchObject({ status: "succeeded", vendorStatus: "PROCESSED", failure: null });
  });

  it("an unparseable updatedAt falls back to the signature timestamp", async () => {
    const fixture = withUniqueJobId(EXTEND_FIXTURES["classify_run.processed"], "clr_dots_date");
    const timestamp = nowSeconds() - 42;
    await expectStored(
      await sendExtend(
        extendEvent(
          "classify_run.processed",
          { ...fixture.payload, createdAt: "...", updatedAt: "..." },
          "evt_dots",
        ),
        { timestamp },
      ),
      fixture.jobKey,
    );
    const job = await jobDetail(fixture.jobKey, token);
    expect(job.history[0]?.occurredAt).toBe(iso(timestamp));
  });
});

describe("GET /v1/jobs (the D1 projection)", () => {
  it("lists the job's summary, with eventCount and deliveryCount, within a few seconds", async () => {
    const fixture = withUniqueJobId(EXTEND_FIXTURES["batch_processor_run.failed"], "bpr_listed_1");
    const event = extendEvent("batch_processor_run.failed", fixture.payload, "evt_listed_1");
    await expectStored(await sendExtend(event), fixture.jobKey);
    await expectStored(await sendExtend(event), fixture.jobKey, true);
    const detail = await jobDetail(fixture.jobKey, token);
    const { history: _history, files: _files, job: _job, ...summary } = detail;

    await eventually(async () => {
      const page = await listAll<Omit<JobDetailBody, "history">>(
        "source=extend&kind=batch_processor_run",
        token,
      );
      const listed = page.find((job) => job.jobKey === fixture.jobKey);
      expect(listed).toEqual(summary);
    });
    expect(summary).toMatchObject({ status: "failed", eventCount: 1, deliveryCount: 2, source: "extend" });
  });

  it("follows the job as more events arrive", async () => {
    const runId = "workflow_run_listed_2";
    const step = withUniqueJobId(EXTEND_FIXTURES["workflow_run.step_run.processed"], runId);
    const run = withUniqueJobId(EXTEND_FIXTURES["workflow_run.failed"], runId);
    const now = nowSeconds();
    await expectStored(
      await sendExtend(extendEvent("workflow_run.step_run.processed", step.payload, "evt_listed_step"), {
        timestamp: now - 20,
      }),
      step.jobKey,
    );
    await expectStored(
      await sendExtend(extendEvent("workflow_run.failed", run.payload, "evt_listed_failed"), {
        timestamp: now - 2,
      }),
      run.jobKey,
    );
    await eventually(async () => {
      const page = await listAll<Omit<JobDetailBody, "history">>(
        "source=extend&kind=workflow_run&status=failed",
        token,
      );
      expect(page.find((job) => job.jobKey === run.jobKey)).toMatchObject({
        status: "failed",
        terminal: true,
        eventCount: 2,
        deliveryCount: 2,
        lastEventAt: iso(now - 2),
      });
    });
  });
});

describe("GET /v1/jobs/:jobKey/events/:eventId", () => {
  it("returns the exact bytes received: odd whitespace, key order, escapes, non-ASCII", async () => {
    const body =
      '{ "payload" : {"updatedAt":"2026-02-10T10:00:00Z",   "id":"clr_raw_bytes_1", "object":"classify_run",' +
      '"status":"PROCESSED", "metadata": {"note":"Grüße — 日本語 — 🚀", "escaped":"\\u00e9\\n\\"", "n": 1.50}},\n' +
      '\t"eventType":"classify_run.processed",  "eventId" : "evt_raw_bytes_1"  }\n';
    await expectStored(await sendExtend(body), "extend:classify_run:clr_raw_bytes_1");
    const response = await apiGet(
      "/v1/jobs/extend:classify_run:clr_raw_bytes_1/events/evt_raw_bytes_1",
      token,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expectSameBytes(await bodyBytes(response), encoder.encode(body));
  });

  it("serves an event whose id needs percent-encoding", async () => {
    const eventId = "evt:odd/id with space+plus&é";
    const fixture = withUniqueJobId(EXTEND_FIXTURES["parse_run.processed"], "pr_odd_event_id");
    const body = JSON.stringify(extendEvent("parse_run.processed", fixture.payload, eventId));
    await expectStored(await sendExtend(body), fixture.jobKey);
    const response = await apiGet(
      `/v1/jobs/${encodeURIComponent(fixture.jobKey)}/events/${encodeURIComponent(eventId)}`,
      token,
    );
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(body);
  });

  it.each([
    ["a slash", "clr_with/slash"],
    ["colons", "clr:with:colons"],
    ["a space and a percent sign", "clr with 100%"],
  ])("serves a job whose id contains %s (percent-encoded key)", async (_name, id) => {
    const fixture = withUniqueJobId(EXTEND_FIXTURES["classify_run.processed"], id);
    const body = JSON.stringify(extendEvent("classify_run.processed", fixture.payload, "evt_odd_job_id"));
    await expectStored(await sendExtend(body), `extend:classify_run:${id}`);
    const job = await jobDetail(fixture.jobKey, token);
    expect(job).toMatchObject({ jobKey: `extend:classify_run:${id}`, id, kind: "classify_run" });
    const raw = await apiGet(`/v1/jobs/${encodeURIComponent(fixture.jobKey)}/events/evt_odd_job_id`, token);
    expect(raw.status).toBe(200);
    expect(await raw.text()).toBe(body);
  });

  it("answers 404 not_found for an unknown event, or an event of another job", async () => {
    const fixture = withUniqueJobId(EXTEND_FIXTURES["edit_run.processed"], "edr_events_404");
    await expectStored(
      await sendExtend(extendEvent("edit_run.processed", fixture.payload, "evt_events_404")),
      fixture.jobKey,
    );
    await expectError(await apiGet(`/v1/jobs/${fixture.jobKey}/events/evt_nope`, token), 404, "not_found");
    await expectError(
      await apiGet("/v1/jobs/extend:edit_run:edr_someone_else/events/evt_events_404", token),
      404,
      "not_found",
    );
    expect(await apiStatus(`/v1/jobs/${fixture.jobKey}/events/evt_events_404`, token)).toBe(200);
  });

  it("stores and serves back, byte for byte, a body larger than a 2 MB row (3 MB metadata)", async () => {
    const note = "Ω-0123456789abcdef".repeat(Math.ceil(3_000_000 / 18)).slice(0, 3_000_000);
    const fixture = withUniqueJobId(EXTEND_FIXTURES["classify_run.processed"], "clr_big_3mb");
    const body = JSON.stringify(
      extendEvent("classify_run.processed", { ...fixture.payload, metadata: { note } }, "evt_big_3mb"),
    );
    const bytes = encoder.encode(body);
    expect(bytes.byteLength).toBeGreaterThan(3_000_000);
    expect(bytes.byteLength).toBeLessThan(5_242_880);
    await expectStored(await sendExtend(body), fixture.jobKey);

    const response = await apiGet(`/v1/jobs/${fixture.jobKey}/events/evt_big_3mb`, token);
    expect(response.status).toBe(200);
    expectSameBytes(await bodyBytes(response), bytes);
    expect((await jobDetail(fixture.jobKey, token)).status).toBe("succeeded");
    // A repeat of a big event is a duplicate like any other.
    await expectStored(await sendExtend(body), fixture.jobKey, true);
  });
});

describe("signed-URL payloads", () => {
  const SIGNED_URL = "https://storage.example.com/p?x=1";

  // The Worker's outbound fetch goes through createApp's `fetch` seam, not the runtime's global.
  interface OutboundCall {
    url: string;
    method: string;
  }
  let answer: () => Promise<Response> = async () => new Response("no answer set", { status: 500 });
  let outbound: OutboundCall[] = [];
  const app = createApp({
    fetch: async (input, init) => {
      const request = new Request(input, init);
      outbound.push({ url: request.url, method: request.method });
      return request.url === SIGNED_URL ? answer() : new Response("unexpected URL", { status: 599 });
    },
  });

  afterEach(() => {
    outbound = [];
  });

  /** Makes the signed URL answer with `next`; returns the record of the Worker's outbound calls. */
  function mockSignedUrl(next: () => Promise<Response>) {
    answer = next;
    outbound = [];
    return { calls: () => outbound };
  }

  /** Sends a signed delivery through the app built with the fetch seam. */
  async function sendSigned(body: string): Promise<Response> {
    const ctx = createExecutionContext();
    const response = await app.fetch(await signedExtendRequest(body), env, ctx);
    await waitOnExecutionContext(ctx);
    return response;
  }

  function wrapper(eventType: string, eventId: string): string {
    return JSON.stringify({
      eventId,
      eventType,
      payload: { object: "signed_data_url", data: SIGNED_URL, id: "wr_x" },
    });
  }

  function signedUrlCalls(mock: ReturnType<typeof mockSignedUrl>): OutboundCall[] {
    return mock.calls().filter((call) => call.url === SIGNED_URL);
  }

  it("fetches the payload, stores it on the fetched payload's job, and serves back the signed wrapper", async () => {
    const fetched = withUniqueJobId(EXTEND_FIXTURES["workflow_run.completed"], "workflow_run_fetched_1");
    const spy = mockSignedUrl(async () => Response.json(fetched.payload));
    const body = wrapper("workflow_run.completed", "evt_signed_url_1");

    await expectStored(await sendSigned(body), "extend:workflow_run:workflow_run_fetched_1");

    const calls = signedUrlCalls(spy);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.method).toBe("GET");

    const job = await jobDetail("extend:workflow_run:workflow_run_fetched_1", token);
    expect(job).toMatchObject({
      kind: "workflow_run",
      id: "workflow_run_fetched_1",
      status: "succeeded",
      vendorStatus: "PROCESSED",
      terminal: true,
      eventCount: 1,
    });
    expect(job.history[0]).toMatchObject({
      eventId: "evt_signed_url_1",
      eventType: "workflow_run.completed",
    });
    const raw = await apiGet(
      "/v1/jobs/extend:workflow_run:workflow_run_fetched_1/events/evt_signed_url_1",
      token,
    );
    expect(raw.status).toBe(200);
    expect(await raw.text()).toBe(body);
    expect(await apiStatus("/v1/jobs/extend:workflow_run:wr_x", token)).toBe(404);
  });

  it("takes the status from the event type, not from the fetched payload", async () => {
    const fetched = withUniqueJobId(EXTEND_FIXTURES["workflow_run.failed"], "workflow_run_fetched_2");
    mockSignedUrl(async () => Response.json({ ...fetched.payload, status: "PROCESSING" }));
    await expectStored(await sendSigned(wrapper("workflow_run.failed", "evt_signed_url_2")), fetched.jobKey);
    const job = await jobDetail(fetched.jobKey, token);
    expect(job).toMatchObject({
      status: "failed",
      vendorStatus: "PROCESSING",
      failure: { reason: "DOCUMENT_PROCESSOR_ERROR" },
    });
  });

  it.each([
    ["answers 500", async () => new Response("upstream broke", { status: 500 })],
    ["answers 404", async () => new Response("expired", { status: 404 })],
    [
      "throws",
      async (): Promise<Response> => {
        throw new TypeError("Network connection lost.");
      },
    ],
  ])(
    "a signed URL that %s → 503 payload_fetch_failed with Retry-After, nothing stored",
    async (_name, answer) => {
      const spy = mockSignedUrl(answer);
      const quarantined = (await allQuarantine(token)).length;
      const eventId = `evt_signed_fail_${_name.replaceAll(" ", "_")}`;
      const response = await sendSigned(wrapper("workflow_run.completed", eventId));
      expect(signedUrlCalls(spy)).toHaveLength(1);
      expect(response.headers.get("retry-after") ?? "").toMatch(/^\d+$/);
      expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
      await expectError(response, 503, "payload_fetch_failed");
      expect(await apiStatus("/v1/jobs/extend:workflow_run:wr_x", token)).toBe(404);
      expect((await allQuarantine(token)).length).toBe(quarantined);
    },
  );

  it("a fetched payload that fails its schema is quarantined with the delivered wrapper", async () => {
    mockSignedUrl(async () => Response.json({ object: "workflow_run", status: "PROCESSED" }));
    const body = wrapper("workflow_run.completed", "evt_signed_no_id");
    const response = await sendSigned(body);
    const text = await response.text();
    expect(response.status, text).toBe(202);
    const { quarantineId } = JSON.parse(text) as { quarantineId: string };
    const raw = await apiGet(`/v1/quarantine/${encodeURIComponent(quarantineId)}`, token);
    expect(await raw.text()).toBe(body);
  });

  it("Extend's retry after a failed fetch is stored as a first delivery", async () => {
    const fetched = withUniqueJobId(EXTEND_FIXTURES["workflow_run.completed"], "workflow_run_fetched_3");
    let calls = 0;
    mockSignedUrl(async () => {
      calls += 1;
      return calls === 1 ? new Response("busy", { status: 503 }) : Response.json(fetched.payload);
    });
    const body = wrapper("workflow_run.completed", "evt_signed_retry");
    await expectError(await sendSigned(body), 503, "payload_fetch_failed");
    expect(await apiStatus(`/v1/jobs/${fetched.jobKey}`, token)).toBe(404);
    await expectStored(await sendSigned(body), fetched.jobKey, false);
    const job = await jobDetail(fetched.jobKey, token);
    expect(job).toMatchObject({ eventCount: 1, deliveryCount: 1, status: "succeeded" });
  });

  it("a fetched payload over the cap is quarantined (retrying would not shrink it), not refused", async () => {
    const chunk = new Uint8Array(1024 * 1024).fill(0x20);
    let sent = 0;
    mockSignedUrl(
      async () =>
        new Response(
          new ReadableStream<Uint8Array>({
            pull(controller) {
              if (sent++ >= 21) controller.close();
              else controller.enqueue(chunk);
            },
          }),
        ),
    );
    const response = await sendSigned(wrapper("workflow_run.completed", "evt_signed_huge"));
    const text = await response.text();
    expect(response.status, text).toBe(202);
    expect(JSON.parse(text)).toMatchObject({ ok: true, quarantined: true });
    const entries = await allQuarantine(token);
    const entry = entries.find(
      (item) => item.id === (JSON.parse(text) as { quarantineId: string }).quarantineId,
    );
    expect(entry?.reason).toEqual([
      { path: "payload.data", message: expect.stringContaining("larger than") },
    ]);
  });
});
