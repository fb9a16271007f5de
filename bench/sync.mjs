/**
 * @module `npm run bench:sync` — the costs of sync and watch (CONTRACT §6, §7) on the Worker as it
 * is deployed (the `wrangler deploy --dry-run` bundle under Miniflare with a direct socket, state on
 * tmpfs, in this process): walking the change feed over 10,000 jobs (pages/s), 200 long-poll
 * clients waiting (the server's CPU while they wait, and how fast one write answers them all), and
 * stream latency from a delivery's 2xx to its `change` event (p50/p99). Prints a Markdown section;
 * `--write` also puts it into BENCHMARKS.md under "Sync and watch".
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { signExtendSync } from "./deliveries.mjs";
import { ROOT, startInProcess } from "./in-process.mjs";
import { writeMarkedSection } from "./report.mjs";

const SECRET = "wss_bench_sync";
const JOBS = 10_000;
const WAITERS = 200;
const STREAM_DELIVERIES = 200;

if (process.argv.includes("--help")) {
  console.log("usage: npm run bench:sync [-- --write]   (--write: into BENCHMARKS.md)");
  process.exit(0);
}

/** CPU seconds used so far by every process below this one (workerd and its helpers). */
function descendantsCpuSeconds() {
  const parent = new Map();
  const ticks = new Map();
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parent.set(Number(pid), Number(fields[1]));
      ticks.set(Number(pid), Number(fields[11]) + Number(fields[12]));
    } catch {
      // gone
    }
  }
  const below = (pid) => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p))
      if (p === process.pid) return true;
    return false;
  };
  let total = 0;
  for (const [pid, t] of ticks) if (below(pid)) total += t;
  return total / 100;
}

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

const target = await startInProcess({
  // One token holds all the waiting long polls: its limit (default 20) is raised to hold them.
  secrets: {
    EXTEND_SIGNING_SECRETS: SECRET,
    ALFRED_WEBHOOK_TOKENS: "bench",
    MAX_STREAMS_PER_TOKEN: String(WAITERS),
  },
});

try {
  const { url, db } = target;
  const token = `rl_bench_${crypto.randomUUID()}`;
  await db
    .prepare("INSERT INTO tokens (token_hash, name, created_at) VALUES (?, 'bench', ?)")
    .bind(createHash("sha256").update(token).digest("hex"), new Date().toISOString())
    .run();
  const auth = { authorization: `Bearer ${token}` };

  // 1. The feed over 10,000 jobs: rows as the projection writes them, one sequence number each.
  const base = Date.UTC(2026, 10, 1);
  for (let from = 0; from < JOBS; from += 500) {
    const rows = Array.from({ length: Math.min(500, JOBS - from) }, (_, n) => from + n).map((n) => ({
      k: `extend:extract_run:exr_feed_${n}`,
      i: `exr_feed_${n}`,
      t: base + n * 1000,
      s: n + 1,
    }));
    await db
      .prepare(
        `INSERT INTO jobs (job_key, source, kind, id, status, vendor_status, terminal, first_event_at, last_event_at,
           last_received_at, event_count, delivery_count, version, seq)
         SELECT json_extract(value, '$.k'), 'extend', 'extract_run', json_extract(value, '$.i'), 'succeeded', 'PROCESSED',
           1, json_extract(value, '$.t'), json_extract(value, '$.t'), json_extract(value, '$.t'), 1, 1, 1, json_extract(value, '$.s')
         FROM json_each(?1)`,
      )
      .bind(JSON.stringify(rows))
      .run();
  }
  await db.prepare("UPDATE change_sequence SET seq = ?").bind(JOBS).run();
  const walk = async (limit) => {
    const started = performance.now();
    let pages = 0;
    let seen = 0;
    let cursor = null;
    for (;;) {
      const query = `limit=${limit}${cursor === null ? "" : `&after=${cursor}`}`;
      const page = await (await fetch(`${url}/v1/changes?${query}`, { headers: auth })).json();
      pages++;
      seen += page.data.length;
      cursor = page.nextCursor;
      if (page.data.length === 0) break;
    }
    const seconds = (performance.now() - started) / 1000;
    return { limit, pages, seen, seconds, pagesPerSecond: pages / seconds, jobsPerSecond: seen / seconds };
  };
  const walks = [await walk(200), await walk(50)];

  // 2. 200 long polls waiting at the feed's end: CPU while idle, then one write answers them all.
  const latest = (await (await fetch(`${url}/v1/changes?after=latest`, { headers: auth })).json()).nextCursor;
  const answered = [];
  const waiting = Array.from({ length: WAITERS }, () =>
    fetch(`${url}/v1/changes?after=${latest}&wait=25`, { headers: auth }).then(async (response) => {
      await response.json();
      answered.push(performance.now());
    }),
  );
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const cpuBefore = descendantsCpuSeconds();
  const idleSeconds = 10;
  await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
  const idleCpuMsPerSecond = ((descendantsCpuSeconds() - cpuBefore) * 1000) / idleSeconds;
  const early = answered.length;
  const deliver = async (body) => {
    const text = JSON.stringify(body);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const response = await fetch(`${url}/webhooks/extend`, {
      method: "POST",
      headers: {
        "x-extend-request-timestamp": timestamp,
        "x-extend-request-signature": signExtendSync(SECRET, timestamp, text),
      },
      body: text,
    });
    await response.arrayBuffer();
    return { status: response.status, at: performance.now() };
  };
  const wake = await deliver({
    eventId: "evt_wake",
    eventType: "extract_run.processed",
    payload: { object: "extract_run", id: "exr_wake", status: "PROCESSED" },
  });
  await Promise.all(waiting);
  const wakeLatencies = answered.slice(early).map((at) => at - wake.at);

  // 3. Stream latency: from each delivery's 2xx to its `change` event on an open stream.
  const jobKey = "extend:extract_run:exr_stream_bench";
  const event = (n) => ({
    eventId: `evt_stream_${n}`,
    eventType: "extract_run.processed",
    payload: { object: "extract_run", id: "exr_stream_bench", status: "PROCESSED" },
  });
  await deliver(event(0));
  const stream = await fetch(`${url}/v1/jobs/${encodeURIComponent(jobKey)}/stream`, { headers: auth });
  const arrivals = new Map();
  const reader = stream.body.pipeThrough(new TextDecoderStream()).getReader();
  let snapshotSeen;
  const snapshot = new Promise((resolve) => {
    snapshotSeen = resolve;
  });
  const reading = (async () => {
    let buffer = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += value;
      for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (block.startsWith("event: snapshot")) snapshotSeen();
        const id = /^id: (\d+)$/m.exec(block)?.[1];
        if (id !== undefined) arrivals.set(Number(id), performance.now());
      }
    }
  })();
  await snapshot;
  const acknowledged = new Map();
  for (let n = 1; n <= STREAM_DELIVERIES; n++) acknowledged.set(n + 1, (await deliver(event(n))).at);
  for (let until = Date.now() + 10_000; arrivals.size < STREAM_DELIVERIES && Date.now() < until; ) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await reader.cancel();
  await reading.catch(() => undefined);
  const streamLatencies = [...acknowledged].map(
    ([version, at]) => (arrivals.get(version) ?? Number.NaN) - at,
  );
  const missing = streamLatencies.filter(Number.isNaN).length;
  const present = streamLatencies.filter((value) => !Number.isNaN(value));

  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  const lines = [
    `## Sync and watch — ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`,
    "",
    `- Machine: ${os.cpus().length} CPUs, ${cpu}, Node ${process.version}`,
    "- Command: `npm run bench:sync -- --write` (the deployed bundle under Miniflare, direct socket, tmpfs)",
    "",
    "| measure | value |",
    "| --- | --- |",
    ...walks.map(
      (w) =>
        `| feed walk over ${JOBS.toLocaleString("en")} jobs, limit ${w.limit} | ${w.pages} pages in ${w.seconds.toFixed(2)} s: ${Math.round(w.pagesPerSecond).toLocaleString("en")} pages/s, ${Math.round(w.jobsPerSecond).toLocaleString("en")} jobs/s (${w.seen} seen) |`,
    ),
    `| ${WAITERS} long polls waiting (\`wait=25\`), server CPU | ${idleCpuMsPerSecond.toFixed(1)} ms of CPU per second (${early} answered before the write) |`,
    `| ${WAITERS} long polls waiting, D1 queries/s | 0 while waiting: each request reads D1 twice on arrival and twice when woken, never by polling (src/api/changes.ts) |`,
    `| one write wakes the ${WAITERS} long polls | p50 ${percentile(wakeLatencies, 50).toFixed(0)} ms, p99 ${percentile(wakeLatencies, 99).toFixed(0)} ms, max ${Math.max(...wakeLatencies).toFixed(0)} ms after the delivery's 2xx (this includes the queue's batch wait, ≤ 1 s) |`,
    `| stream latency, 2xx → \`change\` (${STREAM_DELIVERIES} deliveries) | p50 ${percentile(present, 50).toFixed(1)} ms, p99 ${percentile(present, 99).toFixed(1)} ms, max ${Math.max(...present).toFixed(1)} ms; ${missing} missing (negative: the change came before the 2xx) |`,
    "",
  ];
  const section = lines.join("\n");
  console.log(section);
  if (process.argv.includes("--write")) {
    writeMarkedSection(path.join(ROOT, "BENCHMARKS.md"), "<!-- bench:sync -->", section);
  }
} finally {
  await target.dispose();
}
