#!/usr/bin/env node
// `npm run send -- <extend|alfred|standard> <event-type> [--url URL] [--job ID] [--times N]`
// Builds a realistic event of any of Extend's 38 and Alfred's 24 types, or a Standard Webhooks
// event of any `<kind>.<verb>` type, signs it as the sender does (Extend and Standard Webhooks:
// HMAC with the first secret of .dev.vars; Alfred: the URL token), posts it to the local dev server
// (or --url) and prints each answer. `--times N` sends the same event N times (dedup).
// `--lifecycle <vendor>` sends a whole job's events (optionally shuffled and repeated) and reads the
// final status back; `--list` prints what it can send.
import { didYouMean, readToken, usage } from "./cli.mjs";
import { signExtendBody } from "./extend-signature.mjs";
import { readDevVars } from "./lib.mjs";
import { signStandardBody } from "./standard-signature.mjs";

const USAGE = `Usage:
  npm run send -- extend <event-type> [--url URL] [--job ID] [--times N]
  npm run send -- alfred <event-name> [--url URL] [--job ID] [--times N]
  npm run send -- standard <kind.verb> [--url URL] [--job ID] [--times N]
  npm run send -- <extend|alfred> all [--url URL]
  npm run send -- --lifecycle <extend|alfred> [--shuffle] [--seed S] [--repeat N] [--job ID] [--url URL] [--token -|T]
  npm run send -- --list

  event-type   one of Extend's 38 types, e.g. classify_run.failed, workflow_run.step_run.processed
  event-name   one of Alfred's 24 events, e.g. job_failed, file_add_to_job (any spelling)
  kind.verb    a Standard Webhooks type, e.g. export.created, export.completed (the verb sets the status)
  all          one event of every type the vendor has, each on a fresh job: a smoke test that a
               Worker (a deployed one with --url) accepts them all; exit 1 if any is refused
  --url        the Worker's base URL (default http://127.0.0.1:8787)
  --job        the id of the job (or file) the event is about (default: a fresh one)
  --times      send the same event this many times (default 1)
  --env-file   read the secrets from this file instead of .dev.vars (as \`npm start -- --env-file\`)
  --list       list every vendor, event type and lifecycle this can send
  --lifecycle  send a whole job's events in order: Extend, a workflow run (its step runs, review,
               completion); Alfred, a job (create, start, stage, finished) with two files linked
               by file_add_to_job (status updates, done). Each event carries its own moment (one
               second apart, ending a few seconds ago), so any delivery order ends the same way.
  --shuffle    send them in a random order (the seed is printed; --seed S replays that order)
  --repeat     send each event N times (the repeats are duplicates; default 1)
  --token      a read token: read each job's final status back at the end. Best from the environment
               (RUNLEDGER_TOKEN, used when --token is not given) or standard input (--token -, e.g.
               --token - < token.txt); --token T works too, but other local users can read T in \`ps\`
               while the command runs

A usage error is one line on stderr and exit 2; a refused delivery or read makes the exit 1.

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
/** The steps of the sample workflow run (a step run's `step`). */
const STEPS = [
  { name: "Parse the document", type: "PARSE" },
  { name: "Classify the document", type: "CLASSIFY" },
  { name: "Extract invoice fields", type: "EXTRACT" },
];
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

const { fail, unknownOption } = usage("send", "npm run send");
/** A setting that is missing (not a usage error): one line, exit 1. */
function missing(message) {
  console.error(`runledger send: ${message}`);
  process.exit(1);
}
const VENDORS = ["extend", "alfred", "standard"];
const LIST = "npm run send -- --list";

const VALUE_OPTIONS = [
  "--url",
  "--job",
  "--times",
  "--env-file",
  "--lifecycle",
  "--seed",
  "--repeat",
  "--token",
];
const FLAGS = ["--shuffle", "--list"];

/** A whole number from `min` to `max`, or a usage error naming the option. */
function count(value, option, min, max) {
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max)
    fail(`${option} must be an integer from ${min} to ${max}`);
  return number;
}

function parse(argv) {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(USAGE);
    process.exit(0);
  }
  const positional = [];
  const options = { url: "http://127.0.0.1:8787", times: "1", repeat: "1" };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (VALUE_OPTIONS.includes(arg)) {
      const value = argv[++i];
      if (value === undefined || value.startsWith("--")) fail(`${arg} needs a value`);
      options[arg.slice(2)] = value;
    } else if (FLAGS.includes(arg)) options[arg.slice(2)] = true;
    else if (arg.startsWith("-")) unknownOption(arg, [...VALUE_OPTIONS, ...FLAGS, "--help"]);
    else positional.push(arg);
  }
  const lifecycleOnly = ["shuffle", "seed", "repeat", "token"].filter(
    (name) => argv.includes(`--${name}`) && options.lifecycle === undefined,
  );
  if (lifecycleOnly.length > 0) fail(`--${lifecycleOnly[0]} goes with --lifecycle`);
  if (options.lifecycle !== undefined && (positional.length > 0 || argv.includes("--times")))
    fail("--lifecycle sends a whole job: give no event type, and --repeat instead of --times");
  if (options.seed !== undefined && !options.shuffle) fail("--seed goes with --shuffle");
  return {
    positional,
    options: {
      ...options,
      times: count(options.times, "--times", 1, 1000),
      repeat: count(options.repeat, "--repeat", 1, 100),
      seed: options.seed === undefined ? undefined : count(options.seed, "--seed", 0, 2 ** 32 - 1),
    },
  };
}

const random = () => crypto.randomUUID().replaceAll("-", "").slice(0, 16);

/** `at`: when the event happened (ms); it becomes the payload's times. */
function extendPayload(eventType, jobId, at = Date.now(), step = STEPS[2]) {
  const now = () => new Date(at).toISOString();
  const [family] = eventType.split(".");
  const failed = eventType.endsWith(".failed");
  if (eventType === "workflow_run.step_run.processed") {
    return {
      object: "workflow_step_run",
      id: `workflow_step_run_${random()}`,
      workflowRunId: jobId ?? `workflow_run_${random()}`,
      status: "PROCESSED",
      step: { object: "workflow_step", name: step.name, type: step.type },
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

/** `at`: when the event happened (ms); `fields` adds to or replaces the event's own fields. */
function alfredEvent(name, jobId, at = Date.now(), fields = {}) {
  const now = () => new Date(at).toISOString();
  const fileLog = FILE_LOG_ONLY.has(name);
  const isJob = name.startsWith("job_");
  const id = jobId ?? random();
  const event = {
    // One spelling everywhere (CONTRACT §3.2, the SDKs): `file_add_to_job`, never the docs
    // example's `file_added_to_job` (which the Worker also accepts, and tests itself).
    event_name: `${name}_event`,
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
  Object.assign(event, extra ?? {}, fields);
  return {
    event_id: crypto.randomUUID(),
    event_type: event.event_type,
    event_time: (at / 1000).toFixed(2),
    event,
  };
}

/** Alfred's event names in the spelling ALFRED_EVENTS uses (any of its spellings is accepted). */
const alfredName = (type) =>
  type
    .toLowerCase()
    .replace(/^alfred_event_/, "")
    .replace(/_event$/, "")
    .replace("file_added_to_job", "file_add_to_job");

/** A delivery: what it is (for the output) and how to post it; the same bytes every time. */
function extendDelivery(secret, eventType, payload, signedAt) {
  const body = JSON.stringify({ eventId: `evt_${random()}`, eventType, payload });
  return {
    label: eventType,
    send: async () => {
      // Extend signs when it sends; a lifecycle's event is signed at its own moment instead, as the
      // payload of a step run carries no time of its own (CONTRACT §4: then the signature's counts).
      const timestamp = String(Math.floor((signedAt ?? Date.now()) / 1000));
      return fetch(`${base}/webhooks/extend`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-extend-request-timestamp": timestamp,
          "x-extend-request-signature": await signExtendBody(secret, timestamp, body),
        },
        body,
      });
    },
  };
}

function alfredDelivery(urlToken, envelope) {
  const body = JSON.stringify(envelope);
  const subject = envelope.event.file_id ? ` ${envelope.event.file_id}` : "";
  return {
    label: `${envelope.event.event_name.replace(/_event$/, "")}${subject}`,
    send: () =>
      fetch(`${base}/webhooks/alfred/${encodeURIComponent(urlToken)}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      }),
  };
}

/** A Standard Webhooks delivery: one `webhook-id` and body, signed afresh at each send. */
function standardDelivery(secret, type, jobId) {
  const kind = type.split(".")[0];
  const id = `msg_${random()}`;
  const body = JSON.stringify({
    type,
    timestamp: new Date().toISOString(),
    data: { id: jobId ?? `${kind}_${random()}` },
  });
  return {
    label: type,
    send: async () => {
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
    },
  };
}

/**
 * A whole job's deliveries in lifecycle order, one second apart and ending a few seconds ago (well
 * inside the signature tolerance), and the job keys they land on (the job first).
 */
function lifecycle(vendorName, jobId) {
  const steps = [];
  if (vendorName === "extend") {
    const secret = extendSecret();
    const run = jobId ?? `workflow_run_${random()}`;
    const events = [
      ...STEPS.map((step) => ({ type: "workflow_run.step_run.processed", step })),
      { type: "workflow_run.needs_review" },
      { type: "workflow_run.completed" },
    ];
    const start = Date.now() - (events.length + 5) * 1000;
    events.forEach(({ type, step }, i) => {
      const at = start + i * 1000;
      steps.push(extendDelivery(secret, type, workflowRunPayload(type, run, at, step), at));
    });
    return { deliveries: steps, jobKeys: [`extend:workflow_run:${run}`] };
  }
  const urlToken = alfredToken();
  const job = jobId ?? `job-${random()}`;
  const files = [`${job}-file-1`, `${job}-file-2`];
  const events = [
    ["job_create", job, { file_count: "2" }],
    ["job_start", job],
    ...files.map((file) => ["file_add_to_job", file, { job_id: job }]),
    ["job_stage_update", job, { stage: "processing" }],
    ...files.flatMap((file) => [
      ["file_status_update", file, { file_status: "classifying", classification_status: "in progress" }],
      ["file_done", file],
    ]),
    ["job_stage_update", job, { stage: "review" }],
    ["job_finished", job],
  ];
  const start = Date.now() - (events.length + 5) * 1000;
  events.forEach(([name, id, fields], i) => {
    steps.push(alfredDelivery(urlToken, alfredEvent(name, id, start + i * 1000, fields)));
  });
  return {
    deliveries: steps,
    jobKeys: [`alfred:job:${job}`, ...files.map((file) => `alfred:file:${file}`)],
  };
}

/** A workflow run's event payload: the step run for a step, else the run itself at `at`. */
function workflowRunPayload(type, run, at, step) {
  const payload = extendPayload(type, run, at, step);
  if (type === "workflow_run.step_run.processed") return payload;
  return { ...payload, workflow: { object: "workflow", id: "workflow_sample", name: "Invoices" } };
}

function extendSecret() {
  const secret = (vars.EXTEND_SIGNING_SECRETS ?? "").split(",")[0];
  if (!secret) missing(`no EXTEND_SIGNING_SECRETS in ${secretsFile}: run \`npm start\` once`);
  return secret;
}

function standardSecret() {
  const secret = (vars.STANDARD_WEBHOOK_SECRETS ?? "").split(",")[0];
  if (!secret) missing(`no STANDARD_WEBHOOK_SECRETS in ${secretsFile}: run \`npm start\` once`);
  return secret;
}

function alfredToken() {
  const urlToken = (vars.ALFRED_WEBHOOK_TOKENS ?? "").split(",")[0];
  if (!urlToken) missing(`no ALFRED_WEBHOOK_TOKENS in ${secretsFile}: run \`npm start\` once`);
  return urlToken;
}

/** A small seeded generator (mulberry32), so `--seed` replays a shuffle exactly. */
function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function shuffle(items, seed) {
  const next = seededRandom(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Posts one delivery; exits 1 if the server cannot be reached at all. */
async function post(delivery) {
  try {
    const response = await delivery.send();
    return { status: response.status, ok: response.ok, text: await response.text() };
  } catch (error) {
    console.error(
      `runledger send: could not reach ${base}: ${error instanceof Error ? error.message : error}. Is \`npm start\` running?`,
    );
    process.exit(1);
  }
}

function printList() {
  console.log(`extend (${EXTEND_TYPES.length} event types; npm run send -- extend <type>):`);
  for (const type of EXTEND_TYPES) console.log(`  ${type}`);
  console.log(`alfred (${ALFRED_EVENTS.length} events; npm run send -- alfred <name>):`);
  for (const name of ALFRED_EVENTS) console.log(`  ${name}`);
  console.log("standard (any <kind>.<verb>; npm run send -- standard <type>), e.g.:");
  for (const type of ["export.created", "export.started", "export.completed", "export.failed"]) {
    console.log(`  ${type}`);
  }
  console.log("lifecycles (npm run send -- --lifecycle <vendor>):");
  console.log("  extend  a workflow run: 3 step runs processed, needs_review, completed");
  console.log(
    "  alfred  a job: create, start, 2 files added to it, stage update, each file's status update and done, stage update, finished",
  );
}

/** Reads a job's detail with the token and prints its status (and its files' for an Alfred job). */
async function printFinal(jobKey) {
  const response = await fetch(`${base}/v1/jobs/${encodeURIComponent(jobKey)}`, {
    headers: { authorization: `Bearer ${options.token}` },
  });
  if (!response.ok) {
    const why = { 401: " (the token is unknown or revoked)", 403: " (the token may not read this job)" };
    console.log(
      `  ${jobKey}  could not be read: ${response.status}${why[response.status] ?? ""} ${await response.text()}`,
    );
    return false;
  }
  const job = await response.json();
  const terminal = job.terminal ? " (terminal)" : "";
  console.log(
    `  ${jobKey}  ${job.status}${terminal}  ${job.eventCount} events, ${job.deliveryCount} deliveries, version ${job.version}`,
  );
  for (const file of job.files ?? []) console.log(`    file ${file.jobKey}  ${file.status}`);
  if (job.job) console.log(`    job ${job.job.jobKey}  ${job.job.status}`);
  return true;
}

const { positional, options } = parse(process.argv.slice(2));
const argvHas = (arg) => process.argv.slice(2).includes(arg);
if (options.list) {
  printList();
  process.exit(0);
}
if (options.lifecycle !== undefined && options.lifecycle !== "extend" && options.lifecycle !== "alfred")
  fail(
    didYouMean(options.lifecycle, ["extend", "alfred"])
      ? `unknown vendor ${options.lifecycle} for --lifecycle${didYouMean(options.lifecycle, ["extend", "alfred"])}`
      : `--lifecycle needs a vendor: extend or alfred, not ${options.lifecycle}`,
  );
if (options.lifecycle !== undefined) {
  options.token = (await readToken(options.token, ["RUNLEDGER_TOKEN"], { fail })).token;
}
const secretsFile = options["env-file"] ?? ".dev.vars";
const vars = readDevVars(options["env-file"]);
const base = options.url.replace(/\/+$/, "");

if (options.lifecycle !== undefined) {
  const { deliveries, jobKeys } = lifecycle(options.lifecycle, options.job);
  let order = deliveries.flatMap((delivery) => Array(options.repeat).fill(delivery));
  if (options.shuffle) {
    const seed = options.seed ?? crypto.getRandomValues(new Uint32Array(1))[0];
    console.log(`Shuffled with seed ${seed} (replay the order: --shuffle --seed ${seed})`);
    order = shuffle(order, seed);
  }
  let refused = 0;
  for (const [i, delivery] of order.entries()) {
    const answer = await post(delivery);
    if (!answer.ok) refused += 1;
    console.log(
      `${String(i + 1).padStart(3)}/${order.length}  ${delivery.label.padEnd(50)} ${answer.status} ${answer.text}`,
    );
  }
  console.log(`Job keys: ${jobKeys.join(" ")}`);
  if (options.token === undefined) {
    console.log(
      `Read the final status back with a read token (RUNLEDGER_TOKEN, or --token - from stdin), or follow it: npm run watch -- ${jobKeys[0]}`,
    );
  }
  let unread = 0;
  if (options.token !== undefined) {
    console.log("Final status, as the ledger answers it now:");
    for (const jobKey of jobKeys) if (!(await printFinal(jobKey))) unread += 1;
  }
  // Any refused request — a delivery, or a read of the final status — makes the command fail.
  const problems = [
    refused > 0 && `${refused} of ${order.length} deliveries refused`,
    unread > 0 && `${unread} of ${jobKeys.length} jobs could not be read back`,
  ].filter(Boolean);
  if (problems.length > 0) console.error(`runledger send: ${problems.join("; ")}`);
  process.exit(problems.length > 0 ? 1 : 0);
}

const [vendor, type] = positional;
if (vendor === undefined) fail("give a vendor: extend, alfred or standard");
if (!VENDORS.includes(vendor))
  fail(
    didYouMean(vendor, VENDORS)
      ? `unknown vendor ${vendor}${didYouMean(vendor, VENDORS)}`
      : `unknown vendor ${vendor}: give extend, alfred or standard`,
  );
if (type === undefined)
  fail(
    vendor === "standard"
      ? "give a <kind>.<verb> type, e.g. export.completed"
      : `give an ${vendor} event type`,
    LIST,
  );
if (positional.length > 2) fail(`unexpected argument ${positional[2]}`);

if (type === "all") {
  if (vendor === "standard") fail("Standard Webhooks types are open-ended: give one, e.g. export.completed");
  if (options.job !== undefined || argvHas("--times")) fail("all sends each type once, each on a fresh job");
  const deliveries =
    vendor === "extend"
      ? EXTEND_TYPES.map((each) => extendDelivery(extendSecret(), each, extendPayload(each)))
      : ALFRED_EVENTS.map((each) => alfredDelivery(alfredToken(), alfredEvent(each)));
  let refused = 0;
  for (const each of deliveries) {
    const answer = await post(each);
    if (!answer.ok) refused += 1;
    console.log(`${each.label.padEnd(50)} ${answer.status} ${answer.text}`);
  }
  console.log(`${deliveries.length - refused} of ${deliveries.length} ${vendor} event types accepted.`);
  process.exit(refused > 0 ? 1 : 0);
}

let delivery;
if (vendor === "extend") {
  if (!EXTEND_TYPES.includes(type))
    fail(`unknown Extend event type ${type}${didYouMean(type, EXTEND_TYPES)}`, LIST);
  delivery = extendDelivery(extendSecret(), type, extendPayload(type, options.job));
} else if (vendor === "standard") {
  const kind = type.split(".")[0];
  if (!kind || kind.includes(":") || !type.includes("."))
    fail(`a Standard Webhooks type is <kind>.<verb>, e.g. export.completed, not ${type}`);
  delivery = standardDelivery(standardSecret(), type, options.job);
} else {
  const name = alfredName(type);
  if (!ALFRED_EVENTS.includes(name))
    fail(`unknown Alfred event ${type}${didYouMean(name, ALFRED_EVENTS)}`, LIST);
  delivery = alfredDelivery(alfredToken(), alfredEvent(name, options.job));
}

let failed = false;
for (let n = 0; n < options.times; n++) {
  const answer = await post(delivery);
  console.log(`${answer.status} ${answer.text}`);
  if (!answer.ok) failed = true;
}
process.exit(failed ? 1 : 0);
