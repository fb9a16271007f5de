#!/usr/bin/env node
// `npm run send -- <extend|alfred|standard> <event-type> [--url URL] [--job ID] [--times N]`
// Builds a realistic event of any of Extend's 38 and Alfred's 24 types, or a Standard Webhooks
// event of any `<kind>.<verb>` type, signs it as the sender does (Extend and Standard Webhooks:
// HMAC with the first secret of .dev.vars; Alfred: the URL token), posts it to the local dev
// server (or --url) and prints each answer. `--times N` sends the same event N times (dedup).
import { signExtendBody } from "./extend-signature.mjs";
import { readDevVars } from "./lib.mjs";
import { signStandardBody } from "./standard-signature.mjs";

const USAGE = `Usage:
  npm run send -- extend <event-type> [--url URL] [--job ID] [--times N]
  npm run send -- alfred <event-name> [--url URL] [--job ID] [--times N]
  npm run send -- standard <kind.verb> [--url URL] [--job ID] [--times N]

  event-type  one of Extend's 38 types, e.g. classify_run.failed, workflow_run.step_run.processed
  event-name  one of Alfred's 24 events, e.g. job_failed, file_add_to_job (any spelling)
  kind.verb   a Standard Webhooks type, e.g. export.created, export.completed (the verb sets the status)
  --url       the Worker's base URL (default http://127.0.0.1:8787)
  --job       the id of the job (or file) the event is about (default: a fresh one)
  --times     send the same event this many times (default 1)
  --env-file  read the secrets from this file instead of .dev.vars (as \`npm start -- --env-file\`)

Secrets come from .dev.vars (EXTEND_SIGNING_SECRETS, ALFRED_WEBHOOK_TOKENS, STANDARD_WEBHOOK_SECRETS),
as \`npm start\` made it.`;

const RUN_KINDS = {
  workflow_run: "workflow_run",
  extract_run: "extract_run",
  classify_run: "classify_run",
  split_run: "split_run",
  parse_run: "parse_run_status",
  edit_run: "edit_run",
  batch_processor_run: "batch_run",
  batch_parse_run: "batch_run",
};
const RESOURCES = ["workflow", "extractor", "classifier", "splitter"];
const EXTEND_TYPES = [
  ...["completed", "failed", "needs_review", "rejected", "cancelled", "step_run.processed"].map(
    (v) => `workflow_run.${v}`,
  ),
  ...Object.keys(RUN_KINDS)
    .filter((kind) => kind !== "workflow_run")
    .flatMap((kind) => [`${kind}.processed`, `${kind}.failed`]),
  "workflow.created",
  "workflow.deployed",
  "workflow.deleted",
  ...RESOURCES.slice(1).flatMap((r) =>
    ["created", "updated", "deleted", "draft.updated", "version.published"].map((v) => `${r}.${v}`),
  ),
];
const ALFRED_EVENTS = [
  ...["create", "start", "stage_update", "retry", "failed", "exceeded_retries", "invalid", "finished"].map(
    (e) => `job_${e}`,
  ),
  ...[
    "add_to_job",
    "category_create",
    "category_delete",
    "change_tag",
    "done",
    "extracted_data_create",
    "extracted_data_delete",
    "failed",
    "move",
    "move_to_pending",
    "move_to_recycle_bin",
    "property_create",
    "property_delete",
    "remove_tag",
    "status_update",
    "update",
  ].map((e) => `file_${e}`),
];
const FILE_LOG_ONLY = new Set([
  "file_category_create",
  "file_category_delete",
  "file_extracted_data_create",
  "file_extracted_data_delete",
  "file_property_create",
  "file_property_delete",
]);

function fail(message) {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function parse(argv) {
  const positional = [];
  const options = { url: "http://127.0.0.1:8787", times: 1 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") {
      console.log(USAGE);
      process.exit(0);
    }
    if (["--url", "--job", "--times", "--env-file"].includes(arg)) {
      const value = argv[++i];
      if (value === undefined || value.startsWith("--")) fail(`${arg} needs a value.`);
      options[arg.slice(2)] = value;
    } else if (arg.startsWith("--")) fail(`Unknown option: ${arg}`);
    else positional.push(arg);
  }
  const times = Number(options.times);
  if (!Number.isInteger(times) || times < 1 || times > 1000)
    fail("--times must be an integer from 1 to 1000.");
  return { positional, options: { ...options, times } };
}

const random = () => crypto.randomUUID().replaceAll("-", "").slice(0, 16);
const now = () => new Date().toISOString();

function extendPayload(eventType, jobId) {
  const [family] = eventType.split(".");
  const failed = eventType.endsWith(".failed");
  if (eventType === "workflow_run.step_run.processed") {
    return {
      object: "workflow_step_run",
      id: `workflow_step_run_${random()}`,
      workflowRunId: jobId ?? `workflow_run_${random()}`,
      status: "PROCESSED",
      step: { object: "workflow_step", name: "Extract invoice fields", type: "EXTRACT" },
      files: [],
    };
  }
  if (family in RUN_KINDS) {
    const status = {
      completed: "PROCESSED",
      processed: "PROCESSED",
      failed: "FAILED",
      needs_review: "NEEDS_REVIEW",
      rejected: "REJECTED",
      cancelled: "CANCELLED",
    }[eventType.split(".").at(-1)];
    return {
      object: RUN_KINDS[family],
      id: jobId ?? `${family}_${random()}`,
      status,
      failureReason: failed ? "INTERNAL_ERROR" : null,
      failureMessage: failed ? "Sample failure sent by npm run send" : null,
      metadata: { sentBy: "npm run send" },
      createdAt: now(),
      updatedAt: now(),
    };
  }
  if (eventType.endsWith(".version.published")) {
    return {
      object: `${family}_version`,
      id: `${family}_version_${random()}`,
      [`${family}Id`]: jobId ?? `${family}_${random()}`,
      version: "1.0",
      description: "Published by npm run send",
      createdAt: now(),
    };
  }
  return {
    object: family,
    id: jobId ?? `${family}_${random()}`,
    name: `Sample ${family}`,
    createdAt: now(),
    updatedAt: now(),
  };
}

function alfredEvent(name, jobId) {
  const fileLog = FILE_LOG_ONLY.has(name);
  const isJob = name.startsWith("job_");
  const id = jobId ?? random();
  const event = {
    event_name: `${name === "file_add_to_job" ? "file_added_to_job" : name}_event`,
    event_type: isJob ? "job_event_type" : "file_event_type",
    company_id: "sample-company",
    company_name: "Sample Company",
    creation_date: now(),
    update_date: now(),
  };
  if (isJob) Object.assign(event, { job_id: id });
  else if (fileLog) Object.assign(event, { file_log_id: id });
  else Object.assign(event, { file_id: id });
  const extra = {
    job_create: { user_name: "sender", merge: "false", file_count: "1" },
    job_stage_update: { stage: "in_progress" },
    job_retry: { retries: "1", exceeded_retries: "false" },
    job_failed: { retries: "1", exceeded_retries: "false", error_messages: ["Sample failure"] },
    job_exceeded_retries: { retries: "3", exceeded_retries: "true", error_messages: ["Sample failure"] },
    job_invalid: { retries: "0", exceeded_retries: "true", error_messages: ["Invalid input"] },
    file_add_to_job: { job_id: `job-${random()}` },
    file_status_update: { file_status: "classifying", classification_status: "in progress" },
    file_done: { file_status: "completed", tag_name: "INVOICE" },
    file_failed: { file_status: "failed", error_messages: ["Sample failure"] },
    file_change_tag: { new_tag_name: "INVOICE", previous_tag_name: "null" },
    file_property_create: { name: "Document Type", value: "Invoice" },
    file_property_delete: { name: "Document Type", value: "Invoice" },
  }[name];
  Object.assign(event, extra ?? {});
  return {
    event_id: crypto.randomUUID(),
    event_type: event.event_type,
    event_time: (Date.now() / 1000).toFixed(2),
    event,
  };
}

const { positional, options } = parse(process.argv.slice(2));
const [vendor, type] = positional;
if (!["extend", "alfred", "standard"].includes(vendor)) fail("Give a vendor: extend, alfred or standard.");
if (type === undefined) fail("Give an event type.");
const vars = readDevVars(options["env-file"]);
const base = options.url.replace(/\/+$/, "");

let request;
if (vendor === "extend") {
  if (!EXTEND_TYPES.includes(type))
    fail(`Unknown Extend event type: ${type}. Known: ${EXTEND_TYPES.join(", ")}`);
  const secret = (vars.EXTEND_SIGNING_SECRETS ?? "").split(",")[0];
  if (!secret) fail("No EXTEND_SIGNING_SECRETS in .dev.vars: run `npm start` once.");
  const body = JSON.stringify({
    eventId: `evt_${random()}`,
    eventType: type,
    payload: extendPayload(type, options.job),
  });
  request = async () => {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = await signExtendBody(secret, timestamp, body);
    return fetch(`${base}/webhooks/extend`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-extend-request-timestamp": timestamp,
        "x-extend-request-signature": signature,
      },
      body,
    });
  };
} else if (vendor === "standard") {
  const kind = type.split(".")[0];
  if (!kind || kind.includes(":"))
    fail(`A Standard Webhooks type is <kind>.<verb>, e.g. export.completed: ${type}`);
  const secret = (vars.STANDARD_WEBHOOK_SECRETS ?? "").split(",")[0];
  if (!secret) fail("No STANDARD_WEBHOOK_SECRETS in .dev.vars: run `npm start` once.");
  const id = `msg_${random()}`;
  const body = JSON.stringify({ type, timestamp: now(), data: { id: options.job ?? `${kind}_${random()}` } });
  request = async () => {
    const timestamp = String(Math.floor(Date.now() / 1000));
    return fetch(`${base}/webhooks/standard`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "webhook-id": id,
        "webhook-timestamp": timestamp,
        "webhook-signature": await signStandardBody(secret, id, timestamp, body),
      },
      body,
    });
  };
} else {
  const name = type
    .toLowerCase()
    .replace(/^alfred_event_/, "")
    .replace(/_event$/, "")
    .replace("file_added_to_job", "file_add_to_job");
  if (!ALFRED_EVENTS.includes(name))
    fail(`Unknown Alfred event: ${type}. Known: ${ALFRED_EVENTS.join(", ")}`);
  const urlToken = (vars.ALFRED_WEBHOOK_TOKENS ?? "").split(",")[0];
  if (!urlToken) fail("No ALFRED_WEBHOOK_TOKENS in .dev.vars: run `npm start` once.");
  const body = JSON.stringify(alfredEvent(name, options.job));
  request = () =>
    fetch(`${base}/webhooks/alfred/${encodeURIComponent(urlToken)}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
}

let failed = false;
for (let n = 0; n < options.times; n++) {
  try {
    const response = await request();
    const text = await response.text();
    console.log(`${response.status} ${text}`);
    if (!response.ok) failed = true;
  } catch (error) {
    console.error(
      `Could not reach ${base}: ${error instanceof Error ? error.message : error}. Is \`npm start\` running?`,
    );
    process.exit(1);
  }
}
process.exit(failed ? 1 : 0);
