/**
 * @module runledger as a bench target: builds the Worker as it would be deployed (`wrangler deploy
 * --dry-run`, as scripts/deploy.mjs does), serves it from a child process (bench/worker-server.mjs)
 * on tmpfs, and counts the D1 projection writes the Worker logs on stdout.
 *
 * The count relies on one log line per D1 projection write, of the form
 * `{"level":"info","msg":"projection written","jobs":N,"rowsWritten":R,"statements":S}`; a Worker
 * that logs none gets "n/a" in the report.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { startNodeServer, stopGroup } from "./process-group.mjs";

const WRANGLER_ENV = {
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  CI: "true",
};

/** The project's wrangler config file, whichever format it uses. */
export function wranglerConfigPath(root) {
  const found = ["wrangler.jsonc", "wrangler.json", "wrangler.toml"]
    .map((name) => path.join(root, name))
    .find((file) => existsSync(file));
  if (found === undefined) throw new Error(`no wrangler config in ${root}`);
  return found;
}

/** Builds the deployable bundle into `outdir`; throws with wrangler's output if it does not build. */
export function buildWorkerBundle(root, outdir) {
  const result = spawnSync(
    process.execPath,
    [
      path.join(root, "node_modules", "wrangler", "bin", "wrangler.js"),
      "deploy",
      "--dry-run",
      "--outdir",
      outdir,
    ],
    {
      cwd: root,
      env: { ...process.env, ...WRANGLER_ENV },
      stdio: ["ignore", "pipe", "pipe"],
      encoding: "utf8",
    },
  );
  const bundle = path.join(outdir, "index.js");
  if (result.status !== 0 || !existsSync(bundle)) {
    throw new Error(
      `wrangler deploy --dry-run failed (exit ${result.status}):\n${result.stdout}${result.stderr}`,
    );
  }
  return bundle;
}

const STDERR_LINES_KEPT = 200;

/** Running totals of the Worker's "projection written" log lines, and of its error lines. */
function logCounters() {
  return { projectionWrites: 0, jobs: 0, rowsWritten: 0, statements: 0, errorLines: 0 };
}

/** The sockets `npm run bench` can measure runledger on (bench/worker-server.mjs says how). */
export const ENTRIES = {
  direct: "user Worker entrypoint (direct socket)",
  router: "Miniflare default entrypoint (router + assets)",
};

/**
 * Starts runledger under Miniflare, on the socket `entry` names (a key of {@link ENTRIES}).
 * Resolves with its URL, a read-API token, the process group id, `counters()` (a snapshot of the
 * log totals) and `stop()`.
 */
export async function startWorkerTarget({ root, scriptPath, stateDir, secrets, entry = "direct" }) {
  const envFile = path.join(stateDir, "empty.env");
  writeFileSync(envFile, "");
  const token = `rl_bench_${crypto.randomUUID()}`;
  const server = await startNodeServer(path.join(import.meta.dirname, "worker-server.mjs"), {
    cwd: root,
    env: {
      ...WRANGLER_ENV,
      RUNLEDGER_BENCH_SERVER: JSON.stringify({
        configPath: wranglerConfigPath(root),
        scriptPath,
        stateDir: path.join(stateDir, "state"),
        envFile,
        bindings: secrets,
        tokenHash: createHash("sha256").update(token).digest("hex"),
        entry,
      }),
    },
  });
  const totals = logCounters();
  const errorSamples = new Set();
  createInterface({ input: server.child.stdout }).on("line", (line) => {
    if (line.includes('"level":"error"')) {
      totals.errorLines++;
      // A few distinct ones for the report: the error says why a load got 5xx.
      const sample = line.slice(0, 240);
      if (errorSamples.size < 3) errorSamples.add(sample.replace(/reference = \w+/, "reference = …"));
    }
    if (!line.includes('"projection written"')) return;
    try {
      const entry = JSON.parse(line);
      totals.projectionWrites++;
      totals.jobs += Number(entry.jobs) || 0;
      totals.rowsWritten += Number(entry.rowsWritten) || 0;
      totals.statements += Number(entry.statements) || 0;
    } catch {
      // Not one of ours (a line that merely mentions it).
    }
  });
  // workerd's own complaints (a dropped connection, an exception that escaped) go to stderr: the
  // bench shows those written during a load that lost requests.
  const stderrLines = [];
  createInterface({ input: server.child.stderr }).on("line", (line) => {
    stderrLines.push({ at: performance.now(), line: line.slice(0, 300) });
    if (stderrLines.length > STDERR_LINES_KEPT) stderrLines.shift();
  });
  return {
    url: server.ready.url,
    entry,
    /** What a request crosses before the Worker, as the server describes it. */
    path: server.ready.path,
    token,
    pgid: server.child.pid,
    counters: () => ({ ...totals }),
    errorSamples: () => [...errorSamples],
    stderrTail: server.stderrTail,
    /** The stderr lines (at most the last STDERR_LINES_KEPT) written since `at` (performance.now()). */
    stderrSince: (at) => stderrLines.filter((entry) => entry.at >= at).map((entry) => entry.line),
    stop: () => stopGroup(server.child.pid),
  };
}
