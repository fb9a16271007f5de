/**
 * @module The bench's report: one Markdown section per run (machine, command, the table of modes,
 * ratios, projection lag, D1 writes per event, edge CPU), inserted at the top of BENCHMARKS.md so
 * that earlier runs stay below it, each under its own date and commit.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { ENTRIES } from "./worker-target.mjs";

/** Where new runs go: right after this line, above every earlier run. */
export const RUNS_MARKER =
  "<!-- bench runs, newest first: npm run bench inserts each new run below this line -->";

export const INTRO = `# Benchmarks

\`npm run bench\` (not part of \`npm test\`) measures runledger against the receiver a team would
write instead, on the machine it runs on. Usage: \`npm run bench -- --help\`.

- **runledger**: the Worker bundled by \`wrangler deploy --dry-run\`, its bindings (Durable
  Objects, D1, queues, vars) derived from \`wrangler.jsonc\` by wrangler itself, D1 migrations
  applied, state on tmpfs, served twice, each time by its own Miniflare in a child process of its
  own, and measured on both side by side (\`--entry direct|router|both\`, default both):
  - **direct** — user Worker entrypoint (direct socket): a socket bound to the Worker's own
    entrypoint, nothing in front of it. Miniflare binds a Worker's direct socket to its assets
    proxy whenever the Worker has \`assets\`, so here the Worker gets no \`assets\` of its own and
    its \`ASSETS\` binding is a service binding to a second, assets-only worker serving
    \`public/\` (only the console's pages use it).
  - **router** — Miniflare default entrypoint (router + assets): the socket Miniflare gives the
    Worker's default entrypoint as configured (\`assets\`, \`run_worker_first\`), so every
    request first crosses Miniflare's assets RPC proxy and assets router worker — on Cloudflare
    that routing runs outside the Worker. Runs before 2026-12-05 measured only this one (described
    then as a direct socket to the user worker: Miniflare routes that socket through the assets
    proxy and router whenever the Worker has \`assets\`, as it has since the console came).
- **peer** (\`bench/peer/\`): Express 5 + the Extend SDK's \`webhooks.verifyAndParse\` +
  better-sqlite3 (WAL, tmpfs), one transaction per delivery storing the event once and upserting
  the job summary.
- **Load**: autocannon, 32 connections, signed Extend deliveries (~1 KB) or Alfred job events,
  each request built when it is sent so every event id is new where the mode says so. Only 2xx
  answers count; req/s is 2xx per second; p99 is over all answers; connection errors are
  autocannon's errors (resets, refused connections) and timeouts, by code, with what workerd
  wrote on stderr during the load in the notes. Each cell is the median of the repetitions, the
  repetitions in brackets. Server CPU is the CPU time of the server's whole process group
  (workerd + Miniflare's Node, or the peer's Node) during the load and until it is idle again,
  per 2xx — on 2 cores that the load generator shares.
- **Targets**: each run opens with the targets of the outside review, one column per entry, each
  ratio taken against the peer of the same run (medians): one hot job ≥ 0.65× the peer's
  \`unique\`; \`repeats\` ≥ 0.6× the peer's; \`unique\` ≥ 0.5×; \`first\` ≥ 0.3×; p99 of
  \`unique\` ≤ 2× the peer's; no connection errors in any load; projection lag ≤ 2 s after every
  \`unique\` load; ≤ 0.005 D1 transactions and ≤ 4 D1 rows written per \`unique\` event.
- **Fair conditions**: an unrecorded warm-up pass over every mode first (cold JIT and tables would
  otherwise count against repetition 1); loads interleaved mode by mode (direct, router, then the
  peer; the two entries swap places every repetition); before each load the servers are idle
  again and other programs on the machine are waited for, and a load during which they took more
  than 0.25 cores is run again (the report gives what they took, and what the bench's other
  servers took).
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

/** What the report calls each target, by key: the runledger entries and the peer. */
export const TARGET_NAMES = {
  direct: "runledger · direct",
  router: "runledger · router",
  peer: "peer",
};

const anyProjectionLines = (run, target) =>
  run.loads.some((load) => load.target === target && (load.d1?.projectionWrites ?? 0) > 0);

/** D1 transactions and rows written per event over the repetitions, or null if unknown. */
function d1PerEvent(reps) {
  const events = sum(reps.map((r) => r.events));
  if (events === 0 || reps.some((r) => r.d1 === null)) return null;
  return {
    tx: sum(reps.map((r) => r.d1.projectionWrites)) / events,
    rows: sum(reps.map((r) => r.d1.rowsWritten)) / events,
  };
}

function d1Cells(run, target, reps) {
  if (!anyProjectionLines(run, target)) return ["n/a", "n/a"];
  const perEvent = d1PerEvent(reps);
  return perEvent === null ? ["—", "—"] : [number(perEvent.tx, 3), number(perEvent.rows, 3)];
}

/** Connection errors of some loads: the total, by repetition, and by code ("18 [0, 18, 0]: ECONNRESET 18"). */
function errorsCell(reps) {
  const total = sum(reps.map((r) => r.errors));
  if (total === 0) return "0";
  const byCode = {};
  for (const r of reps) {
    for (const [code, count] of Object.entries(r.errorCounts ?? {}))
      byCode[code] = (byCode[code] ?? 0) + count;
  }
  const codes = Object.entries(byCode).map(([code, count]) => `${code} ${number(count)}`);
  return `${number(total)}${reps.length > 1 ? ` [${reps.map((r) => number(r.errors)).join(", ")}]` : ""}${
    codes.length > 0 ? `: ${codes.join(", ")}` : ""
  }`;
}

/** The targets measured, in report order: the runledger entries, then the peer. */
const targetKeys = (run) => [...run.settings.entries, "peer"];

function loadTable(run) {
  const lines = [
    "| target | mode | req/s (2xx) | p99 ms | non-2xx | connection errors | server CPU ms/2xx | D1 tx/event | D1 rows/event |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const mode of run.modes) {
    for (const target of targetKeys(run)) {
      const summary = summarize(run.loads, target, mode);
      if (summary === null) continue;
      const { reps } = summary;
      const non2xx = sum(reps.map((r) => r.non2xx));
      const codes = [...new Set(reps.flatMap((r) => r.statusCodes))];
      const [tx, rows] = target !== "peer" && mode !== "noop" ? d1Cells(run, target, reps) : ["—", "—"];
      lines.push(
        `| ${TARGET_NAMES[target]} | ${mode} | ${cell(reps.map((r) => r.rps))} | ${cell(reps.map((r) => r.p99))} | ` +
          `${number(non2xx)}${codes.length > 0 ? ` (${codes.join(", ")})` : ""} | ${errorsCell(reps)} | ${cell(
            reps.map((r) => r.cpuMsPerEvent),
            3,
          )} | ${tx} | ${rows} |`,
      );
    }
  }
  return lines.join("\n");
}

const verdict = (holds) => (holds === null ? "" : holds ? " — met" : " — **missed**");

/**
 * The targets runledger is held to, each a function of the run and one entry giving the cell's
 * figure and whether it holds (null when it could not be told).
 */
const TARGETS = [
  ["one hot job ≥ 0.65× the peer's unique rate", rateTarget("hot", "unique", 0.65)],
  ["repeats ≥ 0.6× the peer's repeats", rateTarget("repeats", "repeats", 0.6)],
  ["unique (1000 jobs) ≥ 0.5× the peer's unique", rateTarget("unique", "unique", 0.5)],
  ["first event of a new job ≥ 0.3× the peer's first", rateTarget("first", "first", 0.3)],
  ["p99 of unique ≤ 2× the peer's", p99Target],
  ["no connection errors (resets, refused, timeouts; all loads)", errorsTarget],
  ["projection lag ≤ 2 s (every `unique` repetition)", lagTarget],
  ["≤ 0.005 D1 transactions per event (`unique`)", d1Target("tx", 0.005)],
  ["≤ 4 D1 rows written per event (`unique`)", d1Target("rows", 4)],
];

function rateTarget(mode, peerMode, atLeast) {
  return (run, entry) => {
    const ours = summarize(run.loads, entry, mode);
    const theirs = summarize(run.loads, "peer", peerMode);
    if (ours === null || theirs === null || !theirs.rps) return { text: "—", holds: null };
    const ratio = ours.rps / theirs.rps;
    return {
      text: `${number(ours.rps)} vs ${number(theirs.rps)}/s: **${number(ratio, 2)}×**`,
      holds: ratio >= atLeast,
    };
  };
}

function p99Target(run, entry) {
  const ours = summarize(run.loads, entry, "unique");
  const theirs = summarize(run.loads, "peer", "unique");
  if (ours === null || theirs === null || !theirs.p99) return { text: "—", holds: null };
  const ratio = ours.p99 / theirs.p99;
  return {
    text: `${number(ours.p99)} vs ${number(theirs.p99)} ms: **${number(ratio, 2)}×**`,
    holds: ratio <= 2,
  };
}

function errorsTarget(run, entry) {
  const loads = run.loads.filter((load) => load.target === entry);
  if (loads.length === 0) return { text: "—", holds: null };
  const failed = loads.filter((load) => load.errors > 0);
  const total = sum(loads.map((load) => load.errors));
  const where = failed.map(
    (load) =>
      `${load.mode} rep ${load.rep}: ${Object.entries(load.errorCounts ?? {})
        .map(([code, count]) => `${number(count)} ${code}`)
        .join(", ")}`,
  );
  return {
    text: `**${number(total)}**${where.length > 0 ? ` (${where.join("; ")})` : ""}`,
    holds: total === 0,
  };
}

function lagTarget(run, entry) {
  const reps = run.loads.filter((load) => load.target === entry && load.mode === "unique");
  if (reps.length === 0) return { text: "—", holds: null };
  const lags = reps.map((load) => (load.lagMs === null ? Number.POSITIVE_INFINITY : load.lagMs));
  const show = (lag) =>
    lag === Number.POSITIVE_INFINITY ? `> ${run.settings.lagTimeoutSeconds} s` : `${number(lag)} ms`;
  const worst = Math.max(...lags);
  const missing = sum(reps.map((load) => load.missingAfter2s ?? 0));
  return {
    text: `worst **${show(worst)}**${reps.length > 1 ? ` (median ${show(median(lags))})` : ""}, ${number(
      missing,
    )} not yet counted 2 s after the last 2xx`,
    holds: worst <= 2000 && missing === 0,
  };
}

function d1Target(key, atMost) {
  return (run, entry) => {
    const summary = summarize(run.loads, entry, "unique");
    if (summary === null) return { text: "—", holds: null };
    if (!anyProjectionLines(run, entry)) return { text: "n/a (no projection log lines)", holds: null };
    const perEvent = d1PerEvent(summary.reps);
    if (perEvent === null) return { text: "—", holds: null };
    return { text: `**${number(perEvent[key], 3)}**`, holds: perEvent[key] <= atMost };
  };
}

/**
 * The targets, one column per runledger entry measured, each against the peer of the same run;
 * with GET /healthz as the cost of the entry itself.
 */
export function targetsTable(run) {
  const entries = run.settings.entries;
  const lines = [
    `| target (medians of the same run) | ${entries.map((entry) => `${entry}: ${ENTRIES[entry]}`).join(" | ")} |`,
    `| --- | ${entries.map(() => "---").join(" | ")} |`,
  ];
  for (const [name, measure] of TARGETS) {
    const cells = entries.map((entry) => {
      const { text, holds } = measure(run, entry);
      return `${text}${verdict(holds)}`;
    });
    lines.push(`| ${name} | ${cells.join(" | ")} |`);
  }
  const noop = entries.map((entry) => {
    const summary = summarize(run.loads, entry, "noop");
    return summary === null ? "—" : `${number(summary.rps)}/s, p99 ${number(summary.p99)} ms`;
  });
  lines.push(`| GET /healthz (\`noop\`): the entry's own cost, no target | ${noop.join(" | ")} |`);
  return lines.join("\n");
}

function lagLine(run, entry) {
  const reps = run.loads.filter((l) => l.target === entry && l.mode === "unique");
  if (reps.length === 0) return "not measured (no `unique` load).";
  const lags = reps.map((l) => l.lagMs);
  const shown = lags.map((lag) =>
    lag === null ? `> ${run.settings.lagTimeoutSeconds} s` : `${number(lag)} ms`,
  );
  const middle = median(lags.map((lag) => (lag === null ? Number.POSITIVE_INFINITY : lag)));
  const mid =
    middle === Number.POSITIVE_INFINITY ? `> ${run.settings.lagTimeoutSeconds} s` : `${number(middle)} ms`;
  const missing = reps.map((l) =>
    l.missingAfter2s === null || l.missingAfter2s === undefined ? "?" : number(l.missingAfter2s),
  );
  return (
    `median ${mid}${lags.length > 1 ? ` [${shown.join(", ")}]` : ""}; not yet counted 2 s after the ` +
    `last 2xx: ${missing.join(", ")}.`
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
  const siblings = run.loads.map((load) => load.siblingCores).filter((value) => value !== undefined);
  const siblingLine =
    siblings.length === 0
      ? ""
      : ` The bench's other servers (finishing earlier loads: alarms, queue batches) took median ${number(
          median(siblings),
          2,
        )} cores, at most ${number(Math.max(...siblings), 2)}.`;
  return `median ${number(median(cores), 2)} cores, at most ${number(worst, 2)}${verdict}${siblingLine}`;
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
  const entries = run.settings.entries
    .map((entry) => `  - \`${entry}\`: ${ENTRIES[entry]} — ${run.settings.paths?.[entry] ?? "?"}`)
    .join("\n");
  return `${heading}

- Machine: ${meta.machine.cpus} CPUs (\`nproc\`), ${meta.machine.cpuModel}, ${meta.machine.memory} RAM, Linux ${meta.machine.kernel}, Node ${meta.machine.node}
- Command: \`${meta.command}\` (${run.settings.seconds} s per load, ${run.settings.reps} repetition${
    run.settings.reps === 1 ? "" : "s"
  }, ${run.settings.connections} connections; whole run ${number(meta.elapsedSeconds)} s)
- Versions: ${versions}${meta.checkout ? `\n- Checkout: \`${meta.checkout}\` (run there, written here)` : ""}
- runledger entries, each served by its own Miniflare (what a request crosses before the Worker):
${entries}

${targetsTable(run)}

${loadTable(run)}

runledger \`first\` loads stop after ${number(run.settings.firstModeJobs)} new jobs instead of running
${run.settings.seconds} s: Miniflare keeps every Durable Object in one workerd process, whose SQLite
heap is capped at 512 MiB — new objects fail with 503 (SQLITE_NOMEM) past roughly 2,200 live ones
(measured 2026-11-27) — a limit of the local runtime, not of the product. Loads touching many
objects start at least 11 s apart on the same server, so that workerd has evicted the idle ones.

**Other load on the machine** during the loads (CPU not used by the bench or its servers):
${otherLoadLine(run)}

**Projection lag** (from the last 2xx of a \`unique\` load until \`GET /v1/jobs\` counted all its
deliveries; CONTRACT §3.3 allows 2 s):
${run.settings.entries.map((entry) => `- ${entry}: ${lagLine(run, entry)}`).join("\n")}

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

/**
 * Writes `section` under its `marker` line in `file` (BENCHMARKS.md), in place of what followed the
 * marker up to the next `<!-- bench:` marker or the end. A section not there yet goes before the
 * marker `before` if given and present, else at the end.
 */
export function writeMarkedSection(file, marker, section, before) {
  const text = readFileSync(file, "utf8");
  const block = `${marker}\n${section.trim()}\n`;
  const start = text.indexOf(marker);
  let next;
  if (start !== -1) {
    const end = text.indexOf("\n<!-- bench:", start + marker.length);
    next = `${text.slice(0, start)}${block}${end === -1 ? "" : text.slice(end)}`;
  } else {
    const at = before === undefined ? -1 : text.indexOf(before);
    next = at === -1 ? `${text.trimEnd()}\n\n${block}` : `${text.slice(0, at)}${block}\n${text.slice(at)}`;
  }
  writeFileSync(file, `${next.trimEnd()}\n`);
}

/** Inserts a run's section at the top of the runs in `file`, creating the file if needed. */
export function writeRun(file, section) {
  let text = existsSync(file) ? readFileSync(file, "utf8") : INTRO;
  if (!text.includes(RUNS_MARKER)) text = `${text.trimEnd()}\n\n${RUNS_MARKER}\n`;
  const at = text.indexOf(RUNS_MARKER) + RUNS_MARKER.length;
  text = `${text.slice(0, at)}\n\n${section.trim()}\n${text.slice(at).replace(/^\n*/, "\n")}`;
  writeFileSync(file, `${text.trimEnd()}\n`);
}
