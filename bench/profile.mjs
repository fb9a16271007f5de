/**
 * @module `npm run bench:profile -- [mode] [--seconds N]` — where the Worker's CPU goes under a
 * load: the deployed bundle under Miniflare (direct socket, tmpfs) with workerd's V8 inspector on,
 * a CPU profile of the Worker's isolate (Worker and Durable Objects share it) taken over an
 * autocannon load of one mode (default `unique`), and the functions with the most self time.
 * Native work (SQLite, RPC serialisation, the runtime) shows as `(program)` and native frames.
 */
import { createServer } from "node:net";
import path from "node:path";
import WebSocket from "ws";
import { GENERATORS } from "./deliveries.mjs";
import { startInProcess } from "./in-process.mjs";
import { runLoad } from "./load.mjs";

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

const inspectorPort = await freePort();
const target = await startInProcess({
  secrets: { EXTEND_SIGNING_SECRETS: SECRET, ALFRED_WEBHOOK_TOKENS: "bench" },
  options: { inspectorPort },
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
  const { url } = target;
  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
  const inspected = targets.find((candidate) => candidate.title?.includes(target.name)) ?? targets[0];
  const session = cdp(inspected.webSocketDebuggerUrl);
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
  await target.dispose();
}
