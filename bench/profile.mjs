/**
 * @module `npm run bench:profile -- [mode] [--seconds N]` — where the Worker's CPU goes under a
 * load: the deployed bundle under Miniflare (direct socket, tmpfs) with workerd's V8 inspector on,
 * a CPU profile of the Worker's isolate (Worker and Durable Objects share it) taken over an
 * autocannon load of one mode (default `unique`), and the functions with the most self time.
 * Native work (SQLite, RPC serialisation, the runtime) shows as `(program)` and native frames.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { Log, LogLevel, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig, unstable_splitSqlQuery } from "wrangler";
import WebSocket from "ws";
import { GENERATORS } from "./deliveries.mjs";
import { runLoad } from "./load.mjs";
import { buildWorkerBundle, wranglerConfigPath } from "./worker-target.mjs";

const ROOT = path.resolve(import.meta.dirname, "..");
const SECRET = "wss_bench_profile";
const args = process.argv.slice(2);
if (args.includes("--help")) {
  console.log("usage: npm run bench:profile -- [unique|hot|repeats|first|alfred] [--seconds N]");
  process.exit(0);
}
const at = args.indexOf("--seconds");
const seconds = at === -1 ? 8 : Number(args[at + 1]);
const mode = args.find((arg) => arg in GENERATORS) ?? "unique";

function freePort() {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

const work = mkdtempSync(path.join("/dev/shm", "runledger-profile-"));
const configPath = wranglerConfigPath(ROOT);
const config = unstable_readConfig({ config: configPath });
const scriptPath = buildWorkerBundle(ROOT, path.join(work, "bundle"));
const envFile = path.join(work, "empty.env");
writeFileSync(envFile, "");
const { workerOptions } = unstable_getMiniflareWorkerOptions(configPath, undefined, { envFiles: [envFile] });
const inspectorPort = await freePort();
const mf = new Miniflare({
  host: "127.0.0.1",
  port: 0,
  inspectorPort,
  defaultPersistRoot: path.join(work, "state"),
  log: new Log(LogLevel.WARN),
  cf: false,
  handleRuntimeStdio(stdout, stderr) {
    stdout.resume();
    stderr.resume();
  },
  workers: [
    {
      ...workerOptions,
      name: config.name,
      modules: true,
      scriptPath,
      modulesRoot: path.dirname(scriptPath),
      bindings: { ...workerOptions.bindings, EXTEND_SIGNING_SECRETS: SECRET, ALFRED_WEBHOOK_TOKENS: "bench" },
      unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
    },
  ],
});

/** A minimal Chrome DevTools Protocol session on one inspector target. */
function cdp(url) {
  const socket = new WebSocket(url);
  let id = 0;
  const pending = new Map();
  socket.on("message", (data) => {
    const message = JSON.parse(String(data));
    if (message.id !== undefined) pending.get(message.id)?.(message);
  });
  const opened = new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  return {
    opened,
    send: (method, params = {}) =>
      new Promise((resolve) => {
        const messageId = ++id;
        pending.set(messageId, resolve);
        socket.send(JSON.stringify({ id: messageId, method, params }));
      }),
    close: () => socket.close(),
  };
}

try {
  await mf.ready;
  const url = (await mf.unsafeGetDirectURL(config.name)).toString().replace(/\/$/, "");
  const db = await mf.getD1Database("DB");
  const migrations = path.join(ROOT, "migrations");
  for (const file of readdirSync(migrations)
    .filter((name) => name.endsWith(".sql"))
    .sort()) {
    const statements = unstable_splitSqlQuery(readFileSync(path.join(migrations, file), "utf8"));
    await db.batch(statements.map((sql) => db.prepare(sql)));
  }
  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
  const target = targets.find((candidate) => candidate.title?.includes(config.name)) ?? targets[0];
  const session = cdp(target.webSocketDebuggerUrl);
  await session.opened;
  await session.send("Profiler.enable");
  await session.send("Profiler.setSamplingInterval", { interval: 200 });
  const next = GENERATORS[mode]({ secret: SECRET, tag: `p${Date.now()}`, jobsTag: `p${Date.now()}` });
  // A warm-up, then the profiled load.
  await runLoad({ url, next, seconds: 2 });
  await session.send("Profiler.start");
  const load = await runLoad({ url, next, seconds });
  const { result } = await session.send("Profiler.stop");
  session.close();

  const profile = result.profile;
  const interval = (profile.endTime - profile.startTime) / Math.max(1, profile.samples.length);
  const self = new Map();
  for (const node of profile.nodes) {
    const frame = node.callFrame;
    const name =
      `${frame.functionName || "(anonymous)"} ${frame.url ? `${path.basename(frame.url)}:${frame.lineNumber + 1}` : ""}`.trim();
    self.set(name, (self.get(name) ?? 0) + (node.hitCount ?? 0));
  }
  const total = [...self.values()].reduce((sum, hits) => sum + hits, 0);
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 25);
  console.log(
    `\n${mode}: ${Math.round(load.rps)} req/s (2xx) over ${seconds} s; profile of the Worker's isolate, ${total} samples of ~${Math.round(interval)} µs`,
  );
  console.log("| self % | function |\n| ---: | --- |");
  for (const [name, hits] of top) console.log(`| ${((100 * hits) / total).toFixed(1)} | \`${name}\` |`);
} finally {
  await mf.dispose().catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
}
