/**
 * @module Edge CPU per event: runledger's verify + parse + normalize (bench/edge-cpu/worker.mjs,
 * inside workerd) on 1 KB–1 MB Extend events and an Alfred event, beside the Extend SDK's
 * `webhooks.verifyAndParse` in Node on the same bodies.
 *
 * workerd's clocks stand still during synchronous work, so the Worker side is timed from outside:
 * (wall time of a request doing K iterations − one doing 0) / K, medians of several rounds, with K
 * chosen so that the work takes ~250 ms and the HTTP round trip is noise.
 */
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { Log, LogLevel, Miniflare } from "miniflare";
import { alfredJobEvent, signedExtendRequest, sizedExtendEvent } from "./deliveries.mjs";
import { PEER_DIR } from "./peer-target.mjs";
import { childrenCpuSeconds, machineBusySeconds } from "./process-group.mjs";

const ROUNDS = 5;
const TARGET_MS = 250;

export const EDGE_CASES = [
  { name: "Extend 1 KB", vendor: "extend", bytes: 1_000 },
  { name: "Extend 10 KB", vendor: "extend", bytes: 10_000 },
  { name: "Extend 100 KB", vendor: "extend", bytes: 100_000 },
  { name: "Extend 1 MB", vendor: "extend", bytes: 1_000_000 },
  { name: "Alfred job event", vendor: "alfred" },
];

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function bundleEdgeWorker(root, outdir) {
  // esbuild from the project's node_modules (wrangler's own); the adapters are TypeScript.
  const esbuild = createRequire(path.join(root, "package.json"))("esbuild");
  const outfile = path.join(outdir, "edge-cpu-worker.js");
  await esbuild.build({
    entryPoints: [path.join(import.meta.dirname, "edge-cpu", "worker.mjs")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    external: ["cloudflare:*", "node:*"],
    outfile,
    logLevel: "silent",
  });
  return outfile;
}

async function timeRequest(url) {
  const started = performance.now();
  const response = await fetch(url);
  const body = await response.json();
  const ms = performance.now() - started;
  if (!response.ok) throw new Error(`${url}: ${response.status} ${JSON.stringify(body)}`);
  return { ms, body };
}

/** µs per event of the Worker's edge work on one stored case. */
async function timeWorkerCase(base, name) {
  const run = (k) => timeRequest(`${base}/run?case=${encodeURIComponent(name)}&k=${k}`);
  const probe = await run(1);
  if (probe.body.outcome !== "event") {
    throw new Error(`${name}: the adapter answered "${probe.body.outcome}", not an event`);
  }
  // Warm the JIT, then size K from a first estimate.
  let k = 1;
  let estimate = await run(k);
  while (estimate.ms < 50 && k < 1_000_000) {
    k *= 4;
    estimate = await run(k);
  }
  const perEventMs = estimate.ms / k;
  k = Math.max(1, Math.round(TARGET_MS / perEventMs));
  const empty = [];
  const full = [];
  for (let round = 0; round < ROUNDS; round++) {
    empty.push((await run(0)).ms);
    full.push((await run(k)).ms);
  }
  return ((median(full) - median(empty)) / k) * 1000;
}

/** µs per event of the SDK's verifyAndParse in this Node process. */
function timeSdkCase(webhooks, request, secret) {
  const body = request.body;
  const headers = request.headers;
  const loop = (iterations) => {
    const started = performance.now();
    for (let i = 0; i < iterations; i++) webhooks.verifyAndParse(body, headers, secret);
    return performance.now() - started;
  };
  let k = 1;
  while (loop(k) < 50 && k < 1_000_000) k *= 4;
  k = Math.max(1, Math.round((TARGET_MS / loop(k)) * k));
  const rounds = Array.from({ length: ROUNDS }, () => loop(k) / k);
  return median(rounds) * 1000;
}

/**
 * Runs every case. Resolves with rows {name, bytes, workerUs, sdkUs} — a Worker that does not
 * build or run gives `error` instead of `workerUs` — and the cores other programs took meanwhile.
 */
export async function measureEdgeCpu({ root, workDir, secrets, compatibilityDate, compatibilityFlags }) {
  mkdirSync(workDir, { recursive: true });
  // What other programs take meanwhile: the machine's busy time minus this process and its
  // children (esbuild, the edge Worker's workerd), read before the workerd goes away.
  const ownCpu = () => {
    const self = process.cpuUsage();
    return (self.user + self.system) / 1e6 + childrenCpuSeconds(process.pid);
  };
  const started = { at: performance.now(), machine: machineBusySeconds(), own: ownCpu() };
  let otherCores;
  const secret = secrets.EXTEND_SIGNING_SECRETS;
  const alfredToken = secrets.ALFRED_WEBHOOK_TOKENS;
  const rows = EDGE_CASES.map((edgeCase) => {
    const body =
      edgeCase.vendor === "extend"
        ? sizedExtendEvent(`evt_edge_${edgeCase.bytes}`, edgeCase.bytes)
        : alfredJobEvent("edge-alfred-1", "job-edge-1", "processing");
    const request =
      edgeCase.vendor === "extend"
        ? signedExtendRequest(secret, body)
        : { headers: { "content-type": "application/json" }, body };
    return { ...edgeCase, request, bytes: Buffer.byteLength(body) };
  });

  const { ExtendClient } = createRequire(path.join(PEER_DIR, "package.json"))("extend-ai");
  const { webhooks } = new ExtendClient({ token: "unused" });
  for (const row of rows) {
    if (row.vendor === "extend") row.sdkUs = timeSdkCase(webhooks, row.request, secret);
  }

  let mf;
  try {
    const scriptPath = await bundleEdgeWorker(root, workDir);
    mf = new Miniflare({
      host: "127.0.0.1",
      port: 0,
      log: new Log(LogLevel.WARN),
      cf: false,
      modules: true,
      scriptPath,
      modulesRoot: workDir,
      compatibilityDate,
      compatibilityFlags,
      bindings: secrets,
      unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
    });
    const base = (await mf.unsafeGetDirectURL()).href.replace(/\/$/, "");
    for (const row of rows) {
      const query = new URLSearchParams({ case: row.name, vendor: row.vendor });
      if (row.vendor === "alfred") query.set("token", alfredToken);
      const setup = await fetch(`${base}/setup?${query}`, {
        method: "POST",
        headers: row.request.headers,
        body: row.request.body,
      });
      if (!setup.ok) throw new Error(`setup of ${row.name}: ${setup.status} ${await setup.text()}`);
      row.workerUs = await timeWorkerCase(base, row.name);
    }
  } catch (error) {
    const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
    for (const row of rows) if (row.workerUs === undefined) row.error = message;
  } finally {
    otherCores = Math.max(
      0,
      (machineBusySeconds() - started.machine - (ownCpu() - started.own)) /
        ((performance.now() - started.at) / 1000),
    );
    await mf?.dispose();
  }
  return {
    rows: rows.map(({ name, bytes, workerUs, sdkUs, error }) => ({ name, bytes, workerUs, sdkUs, error })),
    otherCores,
  };
}
