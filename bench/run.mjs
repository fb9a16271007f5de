#!/usr/bin/env node
/**
 * @module `npm run bench`: runledger against the peer (bench/peer) on this machine, written on top
 * of BENCHMARKS.md. Builds the Worker as deployed and serves it twice — on the user Worker's own
 * entrypoint (`direct`) and on Miniflare's default entrypoint with the assets router in front
 * (`router`), each by its own Miniflare — beside the peer, every server a child process group with
 * state on tmpfs; runs every load mode `--reps` times (interleaved, so all targets see the same
 * machine drift), measures the projection lag and the D1 writes per event, then the edge CPU per
 * event, and removes everything it started.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { unstable_readConfig } from "wrangler";
import { checkSigner, GENERATORS, UNIQUE_KINDS } from "./deliveries.mjs";
import { measureEdgeCpu } from "./edge-cpu.mjs";
import { CONNECTIONS, runLoad } from "./load.mjs";
import { ensurePeerInstalled, peerVersions, startPeerTarget } from "./peer-target.mjs";
import { groupCpuSeconds, machineBusySeconds, waitForQuiet } from "./process-group.mjs";
import { renderRun, targetsTable, writeRun } from "./report.mjs";
import { buildWorkerBundle, ENTRIES, startWorkerTarget, wranglerConfigPath } from "./worker-target.mjs";

const ROOT = path.resolve(import.meta.dirname, "..");

const USAGE = `Usage: npm run bench -- [--entry direct|router|both] [--quick] [--duration S] [--reps N]
                        [--label TEXT] [--output FILE]

  --entry E      which runledger socket to measure (default both, side by side):
                   direct  ${ENTRIES.direct}: the Worker alone
                   router  ${ENTRIES.router}: Miniflare's assets
                           RPC proxy and assets router worker in front of the Worker
  --duration S   seconds per load (default 10); --seconds S is the same
  --reps N       repetitions of every load; medians are reported (default 3)
  --quick        3 s loads, 1 repetition (a smoke run, ~3 min with both entries)
  --label TEXT   prefix of the run's heading in the report, e.g. "baseline"
  --output FILE  the report to write the run on top of (default BENCHMARKS.md of this checkout);
                 give another file for a smoke run

Runs runledger (wrangler's bundle, each entry served by its own Miniflare, state on tmpfs) and the
peer (bench/peer: Express 5 + extend-ai + better-sqlite3, installed on first use) on 127.0.0.1,
each in its own process group, with autocannon (${CONNECTIONS} connections) in this process. Defaults
take ~10 minutes with both entries (~6½ with one) on an idle machine; when other programs keep it
busy, the run waits for them (at most 60 s at the start and 2 minutes over all loads) and says so
in the report.`;

/**
 * The modes in the order they run within one repetition, and whether the peer runs them too. Each
 * mode runs on every runledger entry, then on the peer: a mode's loads are next to each other, so
 * they see the same machine. `alfred` and `first`, which touch the most Durable Objects, are kept
 * apart on each server (see OBJECT_HEAVY).
 */
const MODES = [
  ["noop", false],
  ["unique", true],
  ["repeats", true],
  ["hot", false],
  ["alfred", false],
  ["first", true],
];

/**
 * The loads of one repetition as [target key, mode]. The runledger entries swap places from one
 * repetition to the next, so that neither always runs right after the other's background work.
 */
function planOf(entries, rep) {
  const order = rep % 2 === 1 ? entries : [...entries].reverse();
  return MODES.flatMap(([mode, peerToo]) => [
    ...order.map((entry) => [entry, mode]),
    ...(peerToo ? [["peer", mode]] : []),
  ]);
}
/**
 * Miniflare runs every Durable Object in one workerd process, whose SQLite heap is capped at
 * 512 MiB (workerd 1.20260426, autogate `increase-sqlite-hard-heap-limit` off): about 2,200 live
 * objects of this Worker, after which every new one fails with SQLITE_NOMEM (503). Production
 * spreads objects over machines, so this is a limit of the local runtime, not of the product. The
 * bench stays under it: a runledger `first` load stops after FIRST_MODE_JOBS new jobs, and a load
 * touching many objects starts only once those of the previous one are evicted (idle 10 s). An
 * alarm set by an earlier load (the ledger's 30 s projection check) brings objects back for a
 * while, hence the margin below the limit.
 */
const FIRST_MODE_JOBS = 1000;
const OBJECT_HEAVY = new Set(["unique", "alfred", "first"]);
const EVICTION_MS = 11_000;
const WARM_UP_SECONDS = 2;
const WARM_UP_FIRST_JOBS = 300;
const LAG_TIMEOUT_SECONDS = 60;
/** Below this much CPU taken by other programs, the machine counts as idle. */
const IDLE_MACHINE_CORES = 0.15;
/** A load during which other programs took more than this is run again, at most MAX_REDOS times. */
const REDO_ABOVE_CORES = 0.25;
const MAX_REDOS = 9;
const LAG_POLL_MS = 50;
const SECRETS = {
  EXTEND_SIGNING_SECRETS: `wss_bench_${crypto.randomUUID().replaceAll("-", "")}`,
  ALFRED_WEBHOOK_TOKENS: `alfred-bench-${crypto.randomUUID().replaceAll("-", "")}`,
};

const generatorSecrets = () => ({
  secret: SECRETS.EXTEND_SIGNING_SECRETS,
  alfredToken: SECRETS.ALFRED_WEBHOOK_TOKENS,
});

function fail(message) {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function parseArgs(argv) {
  const options = {
    seconds: 10,
    reps: 3,
    entries: Object.keys(ENTRIES),
    label: "",
    output: path.join(ROOT, "BENCHMARKS.md"),
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined || next.startsWith("--")) fail(`${arg} needs a value.`);
      return next;
    };
    if (arg === "--help" || arg === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else if (arg === "--quick") Object.assign(options, { seconds: 3, reps: 1 });
    else if (arg === "--duration" || arg === "--seconds") options.seconds = Number(value());
    else if (arg === "--entry") {
      const entry = value();
      if (entry === "both") options.entries = Object.keys(ENTRIES);
      else if (entry in ENTRIES) options.entries = [entry];
      else fail(`--entry must be direct, router or both, not ${JSON.stringify(entry)}.`);
    } else if (arg === "--reps") options.reps = Number(value());
    else if (arg === "--label") options.label = value();
    else if (arg === "--output") options.output = path.resolve(value());
    else fail(`Unknown option: ${arg}`);
  }
  if (!Number.isInteger(options.seconds) || options.seconds < 1)
    fail("--duration must be a whole number of seconds.");
  if (!Number.isInteger(options.reps) || options.reps < 1) fail("--reps must be a positive integer.");
  return options;
}

function git(...args) {
  try {
    return execFileSync("git", args, {
      cwd: ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return "";
  }
}

function packageVersion(name) {
  try {
    return JSON.parse(readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8")).version;
  } catch {
    return "?";
  }
}

function machine() {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0);
  return {
    cpus: Number(execFileSync("nproc", { encoding: "utf8" }).trim()),
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown CPU",
    memory: `${(memKb / 1024 / 1024).toFixed(1)} GiB`,
    kernel: os.release(),
    node: process.version,
  };
}

/** Sum of `deliveryCount` over the `unique` jobs, as the read API (D1) shows it now. */
async function listedDeliveries(target) {
  let total = 0;
  let cursor = null;
  do {
    const query = new URLSearchParams({ kind: UNIQUE_KINDS.join(","), limit: "200" });
    if (cursor) query.set("cursor", cursor);
    const response = await fetch(`${target.url}/v1/jobs?${query}`, {
      headers: { authorization: `Bearer ${target.token}` },
    });
    if (!response.ok) throw new Error(`GET /v1/jobs answered ${response.status}: ${await response.text()}`);
    const page = await response.json();
    for (const job of page.data) total += job.deliveryCount;
    cursor = page.nextCursor;
  } while (cursor);
  return total;
}

/**
 * Polls until the read API shows `expected` deliveries. Resolves with when it did (null if it
 * never did) and how many were still missing 2 s after `since` — the contract's bound for the list
 * in normal operation (CONTRACT §3.3 "Consistency").
 */
async function waitForListed(target, expected, since) {
  const deadline = performance.now() + LAG_TIMEOUT_SECONDS * 1000;
  let missingAfter2s = null;
  while (performance.now() < deadline) {
    const listed = await listedDeliveries(target);
    if (missingAfter2s === null && performance.now() - since >= 2000) {
      missingAfter2s = Math.max(0, expected - listed);
    }
    if (listed >= expected) return { reflectedAt: performance.now(), missingAfter2s: missingAfter2s ?? 0 };
    await new Promise((resolve) => setTimeout(resolve, LAG_POLL_MS));
  }
  return { reflectedAt: null, missingAfter2s };
}

/** Sends request 0 of a load by hand and checks it is accepted as the mode means it. */
async function preflight(target, request, label) {
  const response = await fetch(`${target.url}${request.path}`, request);
  const text = await response.text();
  let body = {};
  try {
    body = JSON.parse(text);
  } catch {}
  if (!response.ok || body.ok !== true || body.quarantined) {
    throw new Error(`${label}: a sample request was answered ${response.status} ${text.slice(0, 300)}`);
  }
}

/**
 * Waits (at most `maxMs`) until other programs leave the machine nearly idle for `quietSeconds`:
 * a test suite or a browser running beside the bench takes cores from both the servers and the
 * load generator. Resolves with the cores they used in the last second.
 */
async function waitForIdleMachine({ maxMs, quietSeconds = 2, pgids = [] }) {
  const deadline = performance.now() + maxMs;
  let quiet = 0;
  let cores = 0;
  let said = false;
  while (performance.now() < deadline && quiet < quietSeconds) {
    const before = machineBusySeconds() - ownCpuSeconds(pgids);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    cores = machineBusySeconds() - ownCpuSeconds(pgids) - before;
    quiet = cores <= IDLE_MACHINE_CORES ? quiet + 1 : 0;
    if (quiet === 0 && !said) {
      console.log(
        `bench: other programs use ${cores.toFixed(2)} cores; waiting up to ${Math.round(maxMs / 1000)} s`,
      );
      said = true;
    }
  }
  return cores;
}

/** CPU seconds used so far by the process groups `pgids`. */
const groupsCpuSeconds = (pgids) => pgids.reduce((sum, pgid) => sum + groupCpuSeconds(pgid), 0);

/** CPU seconds used so far by the bench itself and the servers it started. */
function ownCpuSeconds(pgids) {
  const self = process.cpuUsage();
  return (self.user + self.system) / 1e6 + groupsCpuSeconds(pgids);
}

/**
 * What a load that lost requests says about it: the errors by code, when the first ones came, and
 * what the server wrote on stderr meanwhile (workerd says why it dropped a connection, if it knows).
 */
function errorNote({ target, mode, rep, load, since }) {
  const what = Object.entries(load.errorCounts)
    .map(([code, count]) => `${count} ${code}`)
    .join(", ");
  const when = load.errorTimes.map((at) => at.toFixed(2)).join(", ");
  const lines = target.stderrSince?.(since);
  const quoted = (lines ?? []).slice(0, 3).map((line) => `\`${line.replaceAll("`", "'")}\``);
  const stderr =
    lines === undefined
      ? "its stderr is not read"
      : lines.length === 0
        ? "the server wrote nothing on stderr meanwhile"
        : `the server's stderr meanwhile: ${quoted.join("; ")}${lines.length > 3 ? ` (+${lines.length - 3} lines)` : ""}`;
  return `rep ${rep}, ${target.key} \`${mode}\`: ${what} (the first ${load.errorTimes.length} at ${when} s into the ${load.seconds.toFixed(1)} s load); ${stderr}.`;
}

/** One load of one mode against one target, with what it left behind until the target is idle. */
async function runStep({ target, mode, rep, attempt, seconds, firstJobs, runId, notes, pgids }) {
  const isRunledger = target.key !== "peer";
  const tag = `${mode}${rep}${target.key[0]}${attempt > 0 ? `a${attempt}` : ""}_${runId}`;
  const next = GENERATORS[mode]({ ...generatorSecrets(), tag, jobsTag: runId });
  const measureLag = isRunledger && mode === "unique";
  const listedBefore = measureLag ? await listedDeliveries(target) : 0;
  const cpuBefore = groupCpuSeconds(target.pgid);
  const countersBefore = target.counters?.();

  await preflight(target, next(0), `${target.key} ${mode}`);
  const amount = isRunledger && mode === "first" ? firstJobs : undefined;
  // Other programs on the machine take CPU from both the server and the load generator; so do the
  // bench's other servers (a ledger's alarm, a queue batch) while they finish earlier loads.
  const siblings = pgids.filter((pgid) => pgid !== target.pgid);
  const machineBefore = machineBusySeconds();
  const ownBefore = ownCpuSeconds(pgids);
  const siblingsBefore = groupsCpuSeconds(siblings);
  const loadStartedAt = performance.now();
  const load = await runLoad({ url: target.url, next: (n) => next(n + 1), seconds, amount });
  const otherCores = Math.max(
    0,
    (machineBusySeconds() - machineBefore - (ownCpuSeconds(pgids) - ownBefore)) / load.seconds,
  );
  const siblingCores = Math.max(0, (groupsCpuSeconds(siblings) - siblingsBefore) / load.seconds);

  let lagMs;
  let missingAfter2s;
  if (measureLag) {
    const since = load.lastAckAt ?? performance.now();
    const listed = await waitForListed(target, listedBefore + 1 + load.ok, since);
    lagMs = listed.reflectedAt === null ? null : listed.reflectedAt - since;
    missingAfter2s = listed.missingAfter2s;
    if (lagMs === null)
      notes.push(
        `rep ${rep}, ${target.key}: the read API did not show all \`unique\` deliveries within ${LAG_TIMEOUT_SECONDS} s.`,
      );
  }
  if (!(await waitForQuiet(target.pgid))) {
    notes.push(`rep ${rep}: ${target.key} was still busy 30 s after its \`${mode}\` load.`);
  }
  if (load.errors > 0) notes.push(errorNote({ target, mode, rep, load, since: loadStartedAt }));
  const events = load.ok + 1;
  const countersAfter = target.counters?.();
  const d1 =
    countersBefore === undefined
      ? null
      : {
          projectionWrites: countersAfter.projectionWrites - countersBefore.projectionWrites,
          rowsWritten: countersAfter.rowsWritten - countersBefore.rowsWritten,
        };
  const result = {
    target: target.key,
    mode,
    rep,
    ...load,
    events,
    cpuMsPerEvent: ((groupCpuSeconds(target.pgid) - cpuBefore) * 1000) / events,
    d1,
    lagMs,
    missingAfter2s,
    otherCores,
    siblingCores,
  };
  console.log(
    `  ${target.key.padEnd(6)} ${mode.padEnd(7)} ${Math.round(load.rps).toString().padStart(6)} req/s  p99 ${load.p99} ms` +
      `  non-2xx ${load.non2xx}  errors ${load.errors}${load.errors > 0 ? ` ${JSON.stringify(load.errorCounts)}` : ""}` +
      `  CPU ${result.cpuMsPerEvent.toFixed(3)} ms/2xx` +
      (d1 && mode !== "noop" ? `  D1 writes ${d1.projectionWrites}` : "") +
      (measureLag
        ? `  lag ${lagMs === null ? "timeout" : `${Math.round(lagMs)} ms`} (${missingAfter2s} missing after 2 s)`
        : "") +
      (otherCores > 0.05 ? `  [other programs: ${otherCores.toFixed(2)} cores]` : "") +
      (siblingCores > 0.05 ? `  [other bench servers: ${siblingCores.toFixed(2)} cores]` : ""),
  );
  return result;
}

const options = parseArgs(process.argv.slice(2));
const started = performance.now();
const workDir = mkdtempSync(path.join("/dev/shm", "runledger-bench-"));
const targets = [];
let cleaning = false;
async function cleanUp() {
  if (cleaning) return;
  cleaning = true;
  await Promise.all(targets.map((target) => target.stop()));
  rmSync(workDir, { recursive: true, force: true });
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    console.error(`bench: ${signal}, stopping the servers`);
    cleanUp().finally(() => process.exit(130));
  });
}

const notes = [];
const loads = [];
/** For each runledger entry measured, what a request crosses before the Worker. */
const paths = {};
let edge = null;
let edgeOtherCores;
let exitCode = 0;
try {
  await checkSigner(SECRETS.EXTEND_SIGNING_SECRETS);
  ensurePeerInstalled();
  const busy = await waitForIdleMachine({ maxMs: 60_000, quietSeconds: 3 });
  if (busy > IDLE_MACHINE_CORES) {
    notes.push(`other programs kept ${busy.toFixed(2)} cores busy when the run started (waited 60 s).`);
  }
  console.log(`bench: building the Worker (wrangler deploy --dry-run) in ${workDir}`);
  const bundle = buildWorkerBundle(ROOT, path.join(workDir, "bundle"));
  // Each server is in `targets` as soon as it runs, so that a failure to start another stops it.
  const keep = (target) => {
    targets.push(target);
    return target;
  };
  const stateDir = (name) => {
    mkdirSync(path.join(workDir, name));
    return path.join(workDir, name);
  };
  const [peer, ...runledgers] = await Promise.all([
    startPeerTarget({
      stateDir: stateDir("peer"),
      secret: SECRETS.EXTEND_SIGNING_SECRETS,
    }).then((target) => keep({ ...target, key: "peer" })),
    ...options.entries.map((entry) =>
      startWorkerTarget({
        root: ROOT,
        scriptPath: bundle,
        stateDir: stateDir(`runledger-${entry}`),
        secrets: SECRETS,
        entry,
      }).then((target) => keep({ ...target, key: entry })),
    ),
  ]);
  const byKey = Object.fromEntries([peer, ...runledgers].map((target) => [target.key, target]));
  for (const target of runledgers) {
    console.log(`bench: runledger ${target.key} on ${target.url} (${target.path})`);
    paths[target.key] = target.path;
  }
  console.log(`bench: peer on ${peer.url}; ${options.seconds} s per load`);

  const runId = crypto.randomUUID().slice(0, 8);
  // Per server: when its last load touching many Durable Objects ended.
  const objectsIdleSince = Object.fromEntries(runledgers.map((target) => [target.key, performance.now()]));
  // Each load waits for other programs to go quiet (≤ 15 s), up to this much in the whole run.
  let idleWaitBudgetMs = 120_000;
  const pgids = targets.map((target) => target.pgid);
  let redosLeft = MAX_REDOS;
  let redone = 0;
  // Repetition 0 is a short unrecorded pass over the whole plan: the first seconds of each code
  // path in a cold Node or workerd (JIT, statements, tables) would otherwise count against rep 1.
  for (let rep = 0; rep <= options.reps; rep++) {
    const warmUp = rep === 0;
    console.log(warmUp ? "bench: warm-up (not recorded)" : `bench: repetition ${rep}/${options.reps}`);
    for (const [key, mode] of planOf(options.entries, rep)) {
      const target = byKey[key];
      const heavy = key !== "peer" && OBJECT_HEAVY.has(mode);
      let load;
      let stepNotes;
      for (let attempt = 0; ; attempt++) {
        const wait = heavy ? objectsIdleSince[key] + EVICTION_MS - performance.now() : 0;
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        if (!warmUp && idleWaitBudgetMs > 0) {
          const waitedFrom = performance.now();
          await waitForIdleMachine({ maxMs: Math.min(15_000, idleWaitBudgetMs), quietSeconds: 1, pgids });
          idleWaitBudgetMs -= performance.now() - waitedFrom;
        }
        stepNotes = [];
        load = await runStep({
          target,
          mode,
          rep,
          attempt,
          seconds: warmUp ? Math.min(WARM_UP_SECONDS, options.seconds) : options.seconds,
          firstJobs: warmUp ? WARM_UP_FIRST_JOBS : FIRST_MODE_JOBS,
          runId,
          notes: stepNotes,
          pgids,
        });
        if (heavy) objectsIdleSince[key] = performance.now();
        // A load that other programs took cores from measures them as much as the target.
        if (warmUp || load.otherCores <= REDO_ABOVE_CORES || redosLeft === 0) break;
        redosLeft--;
        redone++;
        console.log(`bench: other programs took ${load.otherCores.toFixed(2)} cores during that load; again`);
      }
      if (!warmUp) {
        loads.push(load);
        notes.push(...stepNotes);
      }
    }
  }
  if (redone > 0) {
    notes.push(
      `${redone} load(s) were run again because other programs took over ${REDO_ABOVE_CORES} cores during them.`,
    );
  }
  for (const target of runledgers) {
    const errorLines = target.counters().errorLines;
    if (errorLines > 0) {
      const samples = target.errorSamples().map((line) => `\`${line}\``);
      notes.push(
        `runledger ${target.key} logged ${errorLines} error line(s) during the run, e.g. ${samples.join("; ")}`,
      );
    }
  }
  await Promise.all(targets.splice(0).map((target) => target.stop()));

  console.log("bench: edge CPU per event");
  const config = unstable_readConfig({ config: wranglerConfigPath(ROOT) });
  await waitForIdleMachine({ maxMs: 30_000, quietSeconds: 2 });
  ({ rows: edge, otherCores: edgeOtherCores } = await measureEdgeCpu({
    root: ROOT,
    workDir: path.join(workDir, "edge"),
    secrets: SECRETS,
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags,
  }));
  for (const row of edge) {
    console.log(
      `  ${row.name.padEnd(17)} ${row.error ? `failed: ${row.error}` : `${row.workerUs.toFixed(1)} µs`}` +
        (row.sdkUs ? `  (SDK in Node ${row.sdkUs.toFixed(1)} µs)` : ""),
    );
  }
} catch (error) {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  for (const target of targets) {
    const tail = target.stderrTail().trim();
    if (tail) console.error(`--- stderr of a server ---\n${tail.slice(-3000)}`);
  }
  exitCode = 1;
} finally {
  await cleanUp();
}

if (exitCode === 0) {
  const status = git("status", "--porcelain", "--", ".", ":(exclude)bench", ":(exclude)BENCHMARKS.md");
  const args = process.argv.slice(2);
  const run = {
    meta: {
      label: options.label,
      commit: git("rev-parse", "--short", "HEAD") || "unknown",
      // Said only when the report lives in another checkout (a baseline run from a clone).
      checkout: path.dirname(options.output) === ROOT ? null : ROOT,
      dirty: status.length > 0,
      date: `${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`,
      command:
        process.env.npm_lifecycle_event === "bench"
          ? `npm run bench${args.length > 0 ? ` -- ${args.join(" ")}` : ""}`
          : `node bench/run.mjs ${args.join(" ")}`.trim(),
      machine: machine(),
      versions: {
        wrangler: packageVersion("wrangler"),
        miniflare: packageVersion("miniflare"),
        workerd: packageVersion("workerd"),
        autocannon: packageVersion("autocannon"),
        ...peerVersions(),
      },
      elapsedSeconds: (performance.now() - started) / 1000,
    },
    settings: {
      seconds: options.seconds,
      reps: options.reps,
      connections: CONNECTIONS,
      lagTimeoutSeconds: LAG_TIMEOUT_SECONDS,
      firstModeJobs: FIRST_MODE_JOBS,
      entries: options.entries,
      paths,
    },
    modes: MODES.map(([mode]) => mode),
    loads,
    edge,
    edgeOtherCores,
    notes,
  };
  writeRun(options.output, renderRun(run));
  console.log(`\n${targetsTable(run)}\n`);
  console.log(
    `bench: done in ${Math.round(run.meta.elapsedSeconds)} s; written on top of ${
      path.relative(process.cwd(), options.output) || options.output
    }`,
  );
}
process.exit(exitCode);
