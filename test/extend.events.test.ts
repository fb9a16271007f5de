/**
 * All 38 Extend event types of API version 2026-02-09, each delivered signed through the Worker
 * (CONTRACT §3.1, §3.3) and read back through the API (§5): the job key and the normalized status
 * are those of CONTRACT §4; the event type decides the status, not `payload.status`; open enums;
 * unknown event types.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  EXTEND_EVENT_TYPES,
  EXTEND_FIXTURE_LIST,
  EXTEND_FIXTURES,
  type ExtendFixture,
  TERMINAL,
  withUniqueJobId,
} from "./fixtures/extend/events";
import {
  allQuarantine,
  apiGet,
  apiStatus,
  bodyBytes,
  createToken,
  extendEvent,
  type JobDetailBody,
  jobDetail,
  nowSeconds,
  type StoredBody,
  sendExtend,
} from "./helpers";

let token: string;
beforeAll(async () => {
  token = await createToken();
});

/** Sends `event` signed; asserts the contract's 200 answer for a first delivery. */
async function expectStored(event: object, jobKey: string, timestamp?: number): Promise<void> {
  const response = await sendExtend(event, timestamp === undefined ? {} : { timestamp });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  expect(JSON.parse(text)).toEqual({
    ok: true,
    eventId: (event as { eventId: string }).eventId,
    jobKey,
    duplicate: false,
  } satisfies StoredBody);
}

function uniqueFixture(fixture: ExtendFixture, tag: string): ExtendFixture {
  return withUniqueJobId(fixture, `${String(fixture.payload[fixture.jobIdField])}_${tag}`);
}

describe("the fixture table", () => {
  it("covers the 38 event types of API version 2026-02-09, each once", () => {
    expect(EXTEND_EVENT_TYPES).toHaveLength(38);
    expect(new Set(EXTEND_EVENT_TYPES).size).toBe(38);
    expect(EXTEND_FIXTURE_LIST.map((fixture) => fixture.eventType)).toEqual([...EXTEND_EVENT_TYPES]);
  });

  it("keys every fixture as CONTRACT §4 says", () => {
    for (const fixture of EXTEND_FIXTURE_LIST) {
      const [family] = fixture.eventType.split(".");
      const id = fixture.payload[fixture.jobIdField];
      expect(typeof id, fixture.eventType).toBe("string");
      expect(fixture.kind, fixture.eventType).toBe(family);
      expect(fixture.jobKey, fixture.eventType).toBe(`extend:${family}:${String(id)}`);
    }
    expect(EXTEND_FIXTURES["workflow_run.step_run.processed"].jobIdField).toBe("workflowRunId");
    expect(EXTEND_FIXTURES["classifier.version.published"].jobIdField).toBe("classifierId");
    expect(EXTEND_FIXTURES["extractor.version.published"].jobIdField).toBe("extractorId");
    expect(EXTEND_FIXTURES["splitter.version.published"].jobIdField).toBe("splitterId");
  });
});

describe("each of the 38 event types, delivered signed", () => {
  it.each(EXTEND_FIXTURE_LIST.map((fixture) => [fixture.eventType, fixture] as const))(
    "%s: stored on its job key, with its status and history entry",
    async (eventType, base) => {
      const fixture = uniqueFixture(base, `each_${eventType.replaceAll(".", "_")}`);
      const eventId = `evt_each_${eventType}`;
      const signedAt = nowSeconds() - 5;
      await expectStored(extendEvent(eventType, fixture.payload, eventId), fixture.jobKey, signedAt);

      const job = await jobDetail(fixture.jobKey, token);
      const jobId = String(fixture.payload[fixture.jobIdField]);
      expect(job).toMatchObject({
        jobKey: fixture.jobKey,
        source: "extend",
        kind: fixture.kind,
        id: jobId,
        status: fixture.status,
        terminal: TERMINAL[fixture.status],
        eventCount: 1,
        deliveryCount: 1,
      });
      // The vendor's own status is kept beside the normalized one (CONTRACT §4).
      if (typeof fixture.payload.status === "string") expect(job.vendorStatus).toBe(fixture.payload.status);
      if (fixture.status === "failed" && typeof fixture.payload.failureReason === "string") {
        expect(job.failure?.reason).toBe(fixture.payload.failureReason);
      }
      if (fixture.status === "failed" && typeof fixture.payload.failureMessage === "string") {
        expect(job.failure?.messages).toContain(fixture.payload.failureMessage);
      }

      // occurredAt: payload.updatedAt, else the signature timestamp (CONTRACT §4).
      const updatedAt = fixture.payload.updatedAt;
      const occurredAt =
        typeof updatedAt === "string"
          ? new Date(updatedAt).toISOString()
          : new Date(signedAt * 1000).toISOString();
      expect(job.history).toEqual([
        expect.objectContaining({
          eventId,
          eventType,
          status: fixture.status,
          occurredAt,
          deliveries: 1,
        }),
      ]);
      expect(job.firstEventAt).toBe(occurredAt);
      expect(job.lastEventAt).toBe(occurredAt);
      expect(job.lastReceivedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    },
  );

  it("puts a resource's lifecycle and its published versions on one job", async () => {
    const classifierId = "cl_lifecycle_1";
    const steps = [
      ["classifier.created", "active"],
      ["classifier.draft.updated", "active"],
      ["classifier.version.published", "active"],
      ["classifier.deleted", "deleted"],
    ] as const;
    const start = nowSeconds() - 200;
    for (const [index, [eventType]] of steps.entries()) {
      const fixture = withUniqueJobId(EXTEND_FIXTURES[eventType], classifierId);
      // Resources carry updatedAt; a published version has none and is ordered by its signature time.
      const signedAt = start + index * 50;
      const payload =
        eventType === "classifier.version.published"
          ? fixture.payload
          : { ...fixture.payload, updatedAt: new Date(signedAt * 1000).toISOString() };
      await expectStored(
        extendEvent(eventType, payload, `evt_lifecycle_${index}`),
        `extend:classifier:${classifierId}`,
        signedAt,
      );
    }
    const job = await jobDetail(`extend:classifier:${classifierId}`, token);
    expect(job.eventCount).toBe(4);
    expect(job.status).toBe("deleted");
    expect(job.terminal).toBe(true);
    expect(job.history.map((entry) => [entry.eventType, entry.status])).toEqual(steps);
  });
});

describe("the event type decides the status, not payload.status", () => {
  it("stores the docs' parse_run.failed example (status PROCESSING) as failed, byte for byte", async () => {
    // Verbatim from the docs API reference (vendors/extend.md §2.10), only the id made unique.
    const body = `{
  "eventId": "string",
  "payload": {
    "object": "parse_run_status",
    "id": "pr_docs_failed_1",
    "status": "PROCESSING",
    "failureReason": "FILE_TYPE_NOT_SUPPORTED"
  },
  "eventType": "parse_run.failed"
}`;
    const response = await sendExtend(body);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      ok: true,
      eventId: "string",
      jobKey: "extend:parse_run:pr_docs_failed_1",
      duplicate: false,
    });
    const job = await jobDetail("extend:parse_run:pr_docs_failed_1", token);
    expect(job).toMatchObject({
      status: "failed",
      vendorStatus: "PROCESSING",
      terminal: true,
      failure: { reason: "FILE_TYPE_NOT_SUPPORTED" },
    });
    expect(job.history[0]).toMatchObject({ eventId: "string", status: "failed", vendorStatus: "PROCESSING" });

    const raw = await bodyBytes(
      await apiGet("/v1/jobs/extend:parse_run:pr_docs_failed_1/events/string", token),
    );
    expect(new TextDecoder().decode(raw)).toBe(body);
  });

  it("stores the short classify_run.failed docs example as published (placeholders and all)", async () => {
    // vendors/extend.md §2.10, verbatim: empty sub-objects, "..." for times and ids.
    const body =
      '{"eventId":"string","payload":{"object":"classify_run","id":"clr_...","status":"PROCESSING","output":{},"classifier":{},"classifierVersion":{},"failureReason":"PARSING_ERROR","failureMessage":"...","file":{},"parseRunId":"pr_...","usage":{"credits":9},"createdAt":"...","updatedAt":"..."},"eventType":"classify_run.failed"}';
    const signedAt = nowSeconds() - 3;
    const response = await sendExtend(body, { timestamp: signedAt });
    expect(response.status, await response.clone().text()).toBe(200);
    expect(await response.json()).toEqual({
      ok: true,
      eventId: "string",
      jobKey: "extend:classify_run:clr_...",
      duplicate: false,
    });
    const job = await jobDetail("extend:classify_run:clr_...", token);
    expect(job).toMatchObject({
      status: "failed",
      vendorStatus: "PROCESSING",
      failure: { reason: "PARSING_ERROR", messages: ["..."] },
    });
    // An updatedAt that is no date cannot order the event: the signature timestamp does.
    expect(job.history[0]?.occurredAt).toBe(new Date(signedAt * 1000).toISOString());
  });

  it("stores the docs' classify_run.failed example (status PROCESSING) as failed", async () => {
    const fixture = uniqueFixture(EXTEND_FIXTURES["classify_run.failed"], "docs");
    expect(fixture.payload.status).toBe("PROCESSING");
    await expectStored(extendEvent("classify_run.failed", fixture.payload, "evt_docs_clr"), fixture.jobKey);
    const job = await jobDetail(fixture.jobKey, token);
    expect(job).toMatchObject({ status: "failed", vendorStatus: "PROCESSING", terminal: true });
    expect(job.failure).toEqual({ reason: "PARSING_ERROR", messages: ["The file could not be parsed."] });
  });

  it("stores a *.processed event whose payload says FAILED as succeeded", async () => {
    const fixture = uniqueFixture(EXTEND_FIXTURES["split_run.processed"], "says_failed");
    const payload = { ...fixture.payload, status: "FAILED" };
    await expectStored(
      extendEvent("split_run.processed", payload, "evt_processed_says_failed"),
      fixture.jobKey,
    );
    const job = await jobDetail(fixture.jobKey, token);
    expect(job).toMatchObject({ status: "succeeded", vendorStatus: "FAILED", terminal: true });
  });

  it("stores workflow_run.needs_review with a PROCESSED payload as needs_review, not terminal", async () => {
    const fixture = uniqueFixture(EXTEND_FIXTURES["workflow_run.needs_review"], "says_processed");
    const payload = { ...fixture.payload, status: "PROCESSED" };
    await expectStored(
      extendEvent("workflow_run.needs_review", payload, "evt_review_processed"),
      fixture.jobKey,
    );
    const job = await jobDetail(fixture.jobKey, token);
    expect(job).toMatchObject({ status: "needs_review", vendorStatus: "PROCESSED", terminal: false });
  });
});

describe("open enums", () => {
  it("stores an unknown status value as-is in vendorStatus", async () => {
    const fixture = uniqueFixture(EXTEND_FIXTURES["classify_run.processed"], "new_status");
    // Extend adds fields without a version bump: an unknown field is no reason to reject either.
    const payload = { ...fixture.payload, status: "SOMETHING_NEW", someFutureField: { nested: [1, 2] } };
    await expectStored(extendEvent("classify_run.processed", payload, "evt_new_status"), fixture.jobKey);
    const job = await jobDetail(fixture.jobKey, token);
    expect(job).toMatchObject({ status: "succeeded", vendorStatus: "SOMETHING_NEW" });
    expect(job.history[0]).toMatchObject({ eventId: "evt_new_status", vendorStatus: "SOMETHING_NEW" });
  });

  it("stores an unknown status on a workflow run as-is", async () => {
    const fixture = uniqueFixture(EXTEND_FIXTURES["workflow_run.cancelled"], "new_status");
    const payload = { ...fixture.payload, status: "CANCELLING_SOON" };
    await expectStored(extendEvent("workflow_run.cancelled", payload, "evt_wr_new_status"), fixture.jobKey);
    const job = await jobDetail(fixture.jobKey, token);
    expect(job).toMatchObject({ status: "cancelled", vendorStatus: "CANCELLING_SOON", terminal: true });
  });

  it("stores an unknown failureReason as-is in failure.reason", async () => {
    const fixture = uniqueFixture(EXTEND_FIXTURES["extract_run.failed"], "new_reason");
    const payload = {
      ...fixture.payload,
      failureReason: "BRAND_NEW_FAILURE_REASON",
      failureMessage: "Something Extend added later.",
    };
    await expectStored(extendEvent("extract_run.failed", payload, "evt_new_reason"), fixture.jobKey);
    const job = await jobDetail(fixture.jobKey, token);
    expect(job.status).toBe("failed");
    expect(job.failure).toEqual({
      reason: "BRAND_NEW_FAILURE_REASON",
      messages: ["Something Extend added later."],
    });
  });

  it("stores an unknown failureReason on a parse run status as-is", async () => {
    const payload = {
      object: "parse_run_status",
      id: "pr_new_reason",
      status: "FAILED",
      failureReason: "X_1",
    };
    await expectStored(
      extendEvent("parse_run.failed", payload, "evt_pr_new_reason"),
      "extend:parse_run:pr_new_reason",
    );
    const job = await jobDetail("extend:parse_run:pr_new_reason", token);
    expect(job.failure?.reason).toBe("X_1");
  });
});

describe("unknown event types", () => {
  it.each([
    ["invoice_run.processed", "ivr_unknown_1", "extend:invoice_run:ivr_unknown_1", "invoice_run"],
    ["document.archived", "doc_unknown_1", "extend:document:doc_unknown_1", "document"],
    [
      "workflow_run.paused",
      "workflow_run_unknown_1",
      "extend:workflow_run:workflow_run_unknown_1",
      "workflow_run",
    ],
    ["agent.run.step.finished", "ag_unknown_1", "extend:agent:ag_unknown_1", "agent"],
  ])("%s with a payload.id is stored on its prefix's job key", async (eventType, id, jobKey, kind) => {
    const event = extendEvent(eventType, { object: "something_new", id, status: "PROCESSING" });
    await expectStored(event, jobKey);
    const job = await jobDetail<JobDetailBody>(jobKey, token);
    expect(job).toMatchObject({ jobKey, source: "extend", kind, id, eventCount: 1 });
    expect(job.history).toEqual([expect.objectContaining({ eventId: event.eventId, eventType })]);
  });

  it("quarantines an unknown event type without a payload.id (202)", async () => {
    const body = JSON.stringify(extendEvent("mystery.happened", { object: "mystery", note: "no id here" }));
    const response = await sendExtend(body);
    expect(response.status).toBe(202);
    const answer = (await response.json()) as { ok: true; quarantined: true; quarantineId: string };
    expect(answer).toEqual({ ok: true, quarantined: true, quarantineId: expect.any(String) });
    const entry = (await allQuarantine(token)).find((item) => item.id === answer.quarantineId);
    expect(entry).toMatchObject({ source: "extend", size: new TextEncoder().encode(body).byteLength });
    expect(entry?.reason.length).toBeGreaterThan(0);
    expect(await apiStatus("/v1/jobs/extend:mystery:undefined", token)).toBe(404);
  });
});
