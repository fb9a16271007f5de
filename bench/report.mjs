/**
 * @module The bench's report: one Markdown section per run (machine, command, the table of modes,
 * ratios, projection lag, D1 writes per event, edge CPU), inserted at the top of BENCHMARKS.md so
 * that earlier runs stay below it, each under its own date and commit.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";

/** Where new runs go: right after this line, above every earlier run. */
export const RUNS_MARKER =
  "<!-- bench runs, newest first: npm run bench inserts each new run below this line -->";

export const INTRO = `# Benchmarks

\`npm run bench\` (not part of \`npm test\`) measures runledger against the receiver a team would
write instead, on the machine it runs on. Usage: \`npm run bench -- --help\`.

- **runledger**: the Worker bundled by \`wrangler deploy --dry-run\`, served by Miniflare with a
  direct socket to the user worker (wrangler dev's proxy would be the bottleneck), its bindings
  (Durable Objects, D1, queues, vars) derived from \`wrangler.jsonc\` by wrangler itself, D1
  migrations applied, state on tmpfs, in a child process of its own.
- **peer** (\`bench/peer/\`): Express 5 + the Extend SDK's \`webhooks.verifyAndParse\` +
  better-sqlite3 (WAL, tmpfs), one transaction per delivery storing the event once and upserting
  the job summary.
- **Load**: autocannon, 32 connections, signed Extend deliveries (~1 KB) or Alfred job events,
  each request built when it is sent so every event id is new where the mode says so. Only 2xx
  answers count; req/s is 2xx per second; p99 is over all answers. Each cell is the median of the
  repetitions, the repetitions in brackets. Server CPU is the CPU time of the server's whole
  process group (workerd + Miniflare's Node, or the peer's Node) during the load and until it is
  idle again, per 2xx — on 2 cores that the load generator shares.
- **Fair conditions**: an unrecorded warm-up pass over every mode first (cold JIT and tables would
  otherwise count against repetition 1); loads interleaved runledger/peer; before each load the
  servers are idle again and other programs on the machine are waited for, and a load during
  which they took more than 0.25 cores is run again (the report gives what they took).
- **Modes**: \`noop\` GET /healthz · \`unique\` new events over 1000 jobs · \`repeats\` one event
  delivered again and again · \`hot\` new events on one job · \`first\` the first event of a new
  job every time · \`alfred\` new Alfred job events over 1000 jobs.
- **Projection lag**: after each \`unique\` load, the time from the last 2xx until \`GET /v1/jobs\`
  shows every acknowledged delivery of that load in the jobs' \`deliveryCount\` (polled every
  50 ms), and how many were still missing 2 s after the last 2xx (the contract's bound).
- **D1 per event**: from the Worker's log line
  \`{"level":"info","msg":"projection written","jobs":N,"rowsWritten":R,"statements":S}\` (one per
  D1 projection write = one transaction), summed over the load and the quiet period after it,
  divided by the 2xx; "n/a" when the Worker logs no such line.
- **Edge CPU**: runledger's adapter work (admit, HMAC or URL token, UTF-8 decode, parse,
  normalize — \`src/vendors\`) inside workerd, timed from outside as (wall time of a request doing
  K iterations − one doing 0) / K, beside the SDK's \`verifyAndParse\` (HMAC + \`JSON.parse\`, no
  schema) in Node on the same bodies.

Numbers on a shared 2-core VM move by tens of percent from run to run: compare ratios taken in the
same run rather than absolute figures across runs.

${RUNS_MARKER}
`;

const number = (value, digits = 0) =>
  value === null || value === undefined || Number.isNaN(value)
    ? "—"
    : value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

export const median = (values) => {
  const present = values.filter((value) => value !== null && value !== undefined && !Number.isNaN(value));
  if (present.length === 0) return null;
  const sorted = [...present].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

function cell(values, digits = 0) {
  const middle = median(values);
  return values.length > 1
    ? `${number(middle, digits)} [${values.map((v) => number(v, digits)).join(", ")}]`
    : number(middle, digits);
}

const sum = (values) => values.reduce((total, value) => total + value, 0);

/** Median req/s and p99 of one target's mode, or null if it did not run. */
export function summarize(loads, target, mode) {
  const reps = loads.filter((load) => load.target === target && load.mode === mode);
  if (reps.length === 0) return null;
  return { rps: median(reps.map((r) => r.rps)), p99: median(reps.map((r) => r.p99)), reps };
}

function d1Cells(reps, anyProjectionLines) {
  if (!anyProjectionLines) return ["n/a", "n/a"];
  const events = sum(reps.map((r) => r.events));
  if (events === 0) return ["—", "—"];
  const writes = sum(reps.map((r) => r.d1.projectionWrites));
  const rows = sum(reps.map((r) => r.d1.rowsWritten));
  return [number(writes / events, 3), number(rows / events, 3)];
}

function loadTable(run) {
  const anyProjectionLines = run.loads.some((load) => (load.d1?.projectionWrites ?? 0) > 0);
  const lines = [
    "| target | mode | req/s (2xx) | p99 ms | non-2xx | errors | server CPU ms/2xx | D1 tx/event | D1 rows/event |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const [target, mode] of run.plan) {
    const summary = summarize(run.loads, target, mode);
    if (summary === null) continue;
    const { reps } = summary;
    const non2xx = sum(reps.map((r) => r.non2xx));
    const codes = [...new Set(reps.flatMap((r) => r.statusCodes))];
    const errors = [...new Set(reps.flatMap((r) => r.errorCodes ?? []))];
    const [tx, rows] =
      target === "runledger" && mode !== "noop" ? d1Cells(reps, anyProjectionLines) : ["—", "—"];
    lines.push(
      `| ${target} | ${mode} | ${cell(reps.map((r) => r.rps))} | ${cell(reps.map((r) => r.p99))} | ` +
        `${number(non2xx)}${codes.length > 0 ? ` (${codes.join(", ")})` : ""} | ` +
        `${number(sum(reps.map((r) => r.errors)))}${errors.length > 0 ? ` (${errors.join(", ")})` : ""} | ${cell(
          reps.map((r) => r.cpuMsPerEvent),
          3,
        )} | ${tx} | ${rows} |`,
    );
  }
  return lines.join("\n");
}

function ratioTable(run) {
  const get = (target, mode) => summarize(run.loads, target, mode);
  const ratio = (a, b, key) => (a === null || b === null || !b[key] ? "—" : `${number(a[key] / b[key], 2)}×`);
  const rows = [
    [
      "runledger unique / peer unique (req/s)",
      ratio(get("runledger", "unique"), get("peer", "unique"), "rps"),
    ],
    [
      "runledger repeats / peer repeats (req/s)",
      ratio(get("runledger", "repeats"), get("peer", "repeats"), "rps"),
    ],
    ["runledger hot / peer unique (req/s)", ratio(get("runledger", "hot"), get("peer", "unique"), "rps")],
    ["runledger first / peer first (req/s)", ratio(get("runledger", "first"), get("peer", "first"), "rps")],
    [
      "runledger unique p99 / peer unique p99",
      ratio(get("runledger", "unique"), get("peer", "unique"), "p99"),
    ],
  ];
  return [
    "| ratio (medians, same run) | value |",
    "| --- | --- |",
    ...rows.map(([a, b]) => `| ${a} | ${b} |`),
  ].join("\n");
}

function lagLine(run) {
  const lags = run.loads.filter((l) => l.target === "runledger" && l.mode === "unique").map((l) => l.lagMs);
  if (lags.length === 0) return "not measured (no `unique` load).";
  const shown = lags.map((lag) =>
    lag === null ? `> ${run.settings.lagTimeoutSeconds} s` : `${number(lag)} ms`,
  );
  const middle = median(lags.map((lag) => (lag === null ? Number.POSITIVE_INFINITY : lag)));
  const mid =
    middle === Number.POSITIVE_INFINITY ? `> ${run.settings.lagTimeoutSeconds} s` : `${number(middle)} ms`;
  const missing = run.loads
    .filter((l) => l.target === "runledger" && l.mode === "unique")
    .map((l) =>
      l.missingAfter2s === null || l.missingAfter2s === undefined ? "?" : number(l.missingAfter2s),
    );
  return (
    `median ${mid}${lags.length > 1 ? ` [${shown.join(", ")}]` : ""}, from the last 2xx of the \`unique\` ` +
    `load until \`GET /v1/jobs\` counted all its deliveries. Deliveries not yet counted 2 s after the ` +
    `last 2xx (CONTRACT §3.3 allows 2 s): ${missing.join(", ")}.`
  );
}

function otherLoadLine(run) {
  const cores = run.loads.map((load) => load.otherCores).filter((value) => value !== undefined);
  if (cores.length === 0) return "not measured.";
  const worst = Math.max(...cores);
  const verdict =
    worst > 0.1
      ? " — other programs competed for the 2 cores during some loads: treat this run's figures with care."
      : " — the machine was otherwise idle.";
  return `median ${number(median(cores), 2)} cores, at most ${number(worst, 2)}${verdict}`;
}

function edgeTable(run) {
  if (run.edge === null) return "Not measured.";
  const lines = [
    "| event | body bytes | runledger edge, workerd (µs/event) | extend-ai `verifyAndParse`, Node (µs/event) | runledger / SDK |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const row of run.edge) {
    const worker = row.error ? `failed: ${row.error.replaceAll("|", "\\|")}` : number(row.workerUs, 1);
    const ratio = row.workerUs && row.sdkUs ? `${number(row.workerUs / row.sdkUs, 2)}×` : "—";
    const sdk = row.sdkUs === undefined ? "— (the SDK has no Alfred verifier)" : number(row.sdkUs, 1);
    lines.push(`| ${row.name} | ${number(row.bytes)} | ${worker} | ${sdk} | ${ratio} |`);
  }
  return lines.join("\n");
}

/** The Markdown section of one run. */
export function renderRun(run) {
  const { meta } = run;
  const heading = `## ${meta.label ? `${meta.label}, ` : ""}commit ${meta.commit}${
    meta.dirty ? " + uncommitted changes" : ""
  } — ${meta.date}`;
  const versions = Object.entries(meta.versions)
    .map(([name, version]) => `${name} ${version}`)
    .join(", ");
  const notes =
    run.notes.length > 0 ? `\n**Notes**\n\n${run.notes.map((note) => `- ${note}`).join("\n")}\n` : "";
  return `${heading}

- Machine: ${meta.machine.cpus} CPUs (\`nproc\`), ${meta.machine.cpuModel}, ${meta.machine.memory} RAM, Linux ${meta.machine.kernel}, Node ${meta.machine.node}
- Command: \`${meta.command}\` (${run.settings.seconds} s per load, ${run.settings.reps} repetition${
    run.settings.reps === 1 ? "" : "s"
  }, ${run.settings.connections} connections; whole run ${number(meta.elapsedSeconds)} s)
- Versions: ${versions}${meta.checkout ? `\n- Checkout: \`${meta.checkout}\` (run there, written here)` : ""}

${loadTable(run)}

runledger \`first\` loads stop after ${number(run.settings.firstModeJobs)} new jobs instead of running
${run.settings.seconds} s: Miniflare keeps every Durable Object in one workerd process, whose SQLite
heap is capped at 512 MiB — new objects fail with 503 (SQLITE_NOMEM) past roughly 2,200 live ones
(measured 2026-11-27) — a limit of the local runtime, not of the product. Loads touching many
objects start at least 11 s apart, so that workerd has evicted the idle ones.

${ratioTable(run)}

**Other load on the machine** during the loads (CPU not used by the bench or its servers):
${otherLoadLine(run)}

**Projection lag**: ${lagLine(run)}

**Edge CPU per event** (verify + parse + normalize${
    run.edgeOtherCores === undefined
      ? ""
      : `; other programs took ${number(run.edgeOtherCores, 2)} cores meanwhile${
          run.edgeOtherCores > 0.1 ? " — treat with care" : ""
        }`
  }):

${edgeTable(run)}
${notes}`;
}

/** Inserts a run's section at the top of the runs in `file`, creating the file if needed. */
export function writeRun(file, section) {
  let text = existsSync(file) ? readFileSync(file, "utf8") : INTRO;
  if (!text.includes(RUNS_MARKER)) text = `${text.trimEnd()}\n\n${RUNS_MARKER}\n`;
  const at = text.indexOf(RUNS_MARKER) + RUNS_MARKER.length;
  text = `${text.slice(0, at)}\n\n${section.trim()}\n${text.slice(at).replace(/^\n*/, "\n")}`;
  writeFileSync(file, `${text.trimEnd()}\n`);
}
