/**
 * @module The deliveries the bench sends: Extend and Alfred events shaped like the vendors' own
 * (vendors/extend.md §2.3–2.5 and the SDK's test fixtures; vendors/alfred.md), ~1 KB each, signed
 * as Extend signs them (vendors/extend.md §2.7), and one request generator per load mode.
 *
 * Requests are built one at a time inside autocannon's synchronous `setupRequest`, from one counter
 * shared by all connections: autocannon gives every connection its own walk over a request list,
 * so a pre-built list would be sent once per connection — 32 copies of each "unique" event.
 */
import { createHmac } from "node:crypto";
import { signExtendBody } from "../scripts/extend-signature.mjs";

/** How many jobs the `unique` and `alfred` modes spread their events over. */
export const SPREAD_JOBS = 1000;
/** Job kinds each mode writes to, so the read API can tell one mode's jobs from another's. */
export const UNIQUE_KINDS = ["extract_run", "classify_run"];

const EXTEND_STATUS = { processed: "PROCESSED", failed: "FAILED", completed: "PROCESSED" };

/**
 * Signs like scripts/extend-signature.mjs, synchronously: autocannon's `setupRequest` cannot wait
 * for WebCrypto, and pre-signing with it costs ~36 µs an event (≈ 3 s before every 10 s load).
 * {@link checkSigner} proves both give the same signature before any load runs.
 */
export function signExtendSync(secret, timestamp, body) {
  return createHmac("sha256", secret).update(`v0:${timestamp}:`).update(body).digest("hex");
}

/** Throws unless {@link signExtendSync} agrees with the project's signer on a few bodies. */
export async function checkSigner(secret) {
  for (const body of [
    "",
    "{}",
    extendEvent("evt_check", "extract_run.processed", runPayload("extract_run", "x")),
  ]) {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const reference = await signExtendBody(secret, timestamp, body);
    if (signExtendSync(secret, timestamp, body) !== reference) {
      throw new Error("the bench's Extend signer disagrees with scripts/extend-signature.mjs");
    }
  }
}

const nowIso = () => new Date().toISOString();

/**
 * A run payload (extract_run, classify_run, split_run, edit_run, workflow_run) with the fields the
 * SDK fixtures carry, ~900 bytes: a realistic 1 KB delivery once wrapped in the envelope.
 * `extraOutput` grows `output.value` for the size cases of the edge CPU measurement.
 */
export function runPayload(kind, id, { status = "PROCESSED", extraOutput } = {}) {
  const at = nowIso();
  const failed = status === "FAILED";
  const payload = {
    object: kind,
    id,
    status,
    output: { value: { invoiceNumber: "INV-2026-0042", total: 1234.56, currency: "USD", ...extraOutput } },
    initialOutput: { value: { invoiceNumber: "INV-2026-0042", total: 1234.56, currency: "USD" } },
    config: { schema: { type: "object", properties: { invoiceNumber: { type: "string" } } } },
    metadata: { customerId: "cus_8f2a1c", source: "runledger-bench" },
    reviewed: false,
    edited: false,
    file: {
      object: "file",
      id: "file_Xj8mK2pL9nR4vT7qY5wZ",
      name: "invoice-0042.pdf",
      type: "PDF",
      parentFileId: null,
      metadata: {},
      createdAt: at,
      updatedAt: at,
    },
    dashboardUrl: `https://dashboard.extend.ai/runs/${id}`,
    usage: { credits: 1 },
    failureReason: failed ? "INTERNAL_ERROR" : null,
    failureMessage: failed ? "The document could not be processed." : null,
    parseRunId: null,
    createdAt: at,
    updatedAt: at,
  };
  if (kind === "extract_run") {
    payload.extractor = { object: "extractor", id: "ex_Xj8mK2pL9nR4", name: "Invoice Extractor" };
  } else if (kind === "classify_run") {
    payload.classifier = { object: "classifier", id: "cl_Xj8mK2pL9nR4", name: "Document Classifier" };
  } else if (kind === "split_run") {
    payload.splitter = { object: "splitter", id: "spl_Xj8mK2pL9nR4", name: "Invoice Packet Splitter" };
  } else if (kind === "workflow_run") {
    payload.workflow = { object: "workflow", id: "workflow_123", name: "Invoice Workflow" };
  }
  return payload;
}

export function extendEvent(eventId, eventType, payload) {
  return JSON.stringify({ eventId, eventType, payload });
}

/** An Extend event whose body is about `bytes` long (the edge CPU size cases). */
export function sizedExtendEvent(eventId, bytes) {
  const event = (extraOutput) =>
    extendEvent(eventId, "extract_run.processed", runPayload("extract_run", "exr_sized", { extraOutput }));
  const room = bytes - event({ lineItems: [] }).length;
  const lineItems = [];
  for (let n = 0, used = 0; used < room; n++) {
    const item = { line: n, sku: `SKU-${n}`, description: "Widget, blue, 10 mm", qty: 3, unitPrice: 4.5 };
    used += JSON.stringify(item).length + (n > 0 ? 1 : 0);
    if (used <= room) lineItems.push(item);
  }
  return event(lineItems.length > 0 ? { lineItems } : undefined);
}

/** An Alfred job event (vendors/alfred.md, JobStageUpdateEvent). */
export function alfredJobEvent(eventId, jobId, stage) {
  const at = nowIso();
  return JSON.stringify({
    event_id: eventId,
    event_type: "job_event_type",
    event_time: (Date.now() / 1000).toFixed(2),
    event: {
      event_name: "job_stage_update_event",
      event_type: "job_event_type",
      company_id: "45678901-2345-2345-2345-234567890def",
      company_name: "Dynamic Solutions",
      job_id: jobId,
      stage,
      creation_date: at,
      update_date: at,
    },
  });
}

/** A signed Extend request as autocannon takes it. */
export function signedExtendRequest(secret, body) {
  const timestamp = String(Math.floor(Date.now() / 1000));
  return {
    method: "POST",
    path: "/webhooks/extend",
    headers: {
      "content-type": "application/json",
      "x-extend-request-timestamp": timestamp,
      "x-extend-request-signature": signExtendSync(secret, timestamp, body),
    },
    body,
  };
}

/**
 * The request generators of the load modes. Each returns `next()`, building request number n of
 * this load; `tag` makes event and job ids unique to one load (the state lives for one bench run).
 */
export const GENERATORS = {
  /** GET /healthz: the cost of the runtime and the router alone. */
  noop: () => () => ({ method: "GET", path: "/healthz" }),

  /** New events spread over 1000 jobs: half extract runs, half classify runs. */
  unique:
    ({ secret, tag, jobsTag }) =>
    (n) => {
      const job = n % SPREAD_JOBS;
      const kind = UNIQUE_KINDS[job % 2];
      const outcome = (n / SPREAD_JOBS) % 2 < 1 ? "processed" : "failed";
      const payload = runPayload(kind, `${kind}_${jobsTag}_${job}`, { status: EXTEND_STATUS[outcome] });
      return signedExtendRequest(secret, extendEvent(`evt_${tag}_${n}`, `${kind}.${outcome}`, payload));
    },

  /** One event, delivered again and again (Extend re-signs every attempt, the body stays). */
  repeats: ({ secret, tag }) => {
    const body = extendEvent(
      `evt_${tag}_repeat`,
      "workflow_run.completed",
      runPayload("workflow_run", `workflow_run_${tag}`),
    );
    return () => signedExtendRequest(secret, body);
  },

  /** New events, all on one job. */
  hot:
    ({ secret, tag }) =>
    (n) =>
      signedExtendRequest(
        secret,
        extendEvent(`evt_${tag}_${n}`, "split_run.processed", runPayload("split_run", `split_run_${tag}`)),
      ),

  /** The first event of a brand-new job, every time. */
  first:
    ({ secret, tag }) =>
    (n) =>
      signedExtendRequest(
        secret,
        extendEvent(`evt_${tag}_${n}`, "edit_run.processed", runPayload("edit_run", `edit_run_${tag}_${n}`)),
      ),

  /** New Alfred job events spread over 1000 jobs, posted to the URL-token route. */
  alfred:
    ({ alfredToken, tag, jobsTag }) =>
    (n) => ({
      method: "POST",
      path: `/webhooks/alfred/${alfredToken}`,
      headers: { "content-type": "application/json" },
      body: alfredJobEvent(
        `${tag}-${n}`,
        `job-${jobsTag}-${n % SPREAD_JOBS}`,
        ["queued", "processing", "review"][n % 3],
      ),
    }),
};
