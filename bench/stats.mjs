/**
 * @module `npm run bench:stats` — what one `GET /v1/stats` call costs over 10,000 and 100,000 jobs
 * (CONTRACT §10: bounded whatever the number of jobs), on the Worker as it is deployed (the
 * `wrangler deploy --dry-run` bundle under Miniflare with a direct socket, state on tmpfs, in this
 * process). D1 is seeded directly, in bulk: the jobs (their counters follow them through the `jobs`
 * triggers, as for any write outside the projection's batch), and a full week of delivery and
 * refusal buckets for every source and 200 Alfred companies. Then, at each size, sequential calls
 * per window and token scope (latency over HTTP), the D1 rows one call reads (the route's own
 * statements, `meta.rows_read`), and for comparison a count of the jobs table itself. Prints a
 * Markdown section; `--write` also puts it into BENCHMARKS.md under "Overview".
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { build } from "esbuild";
import { ROOT, startInProcess } from "./in-process.mjs";
import { writeMarkedSection } from "./report.mjs";

const SIZES = [10_000, 100_000];
const COMPANIES = 200;
const CALLS = 50;
const WINDOWS = { "1h": [60, 60], "24h": [900, 96], "7d": [3600, 168] };
const SOURCES = ["extend", "alfred", "standard"];
const STATUSES = ["pending", "processing", "needs_review", "succeeded", "failed", "cancelled", "rejected"];
const CODES = ["invalid_signature", "stale_timestamp", "missing_signature"];

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  console.log("usage: npm run bench:stats [-- --write]   (--write: into BENCHMARKS.md)");
  process.exit(0);
}

/** The route's own statements (src/projection/stats.ts), bundled for Node. */
async function loadStatsStatements() {
  const dir = mkdtempSync(path.join(os.tmpdir(), "runledger-stats-"));
  try {
    const file = path.join(dir, "stats.mjs");
    await build({
      entryPoints: [path.join(ROOT, "src/projection/stats.ts")],
      bundle: true,
      format: "esm",
      platform: "neutral",
      outfile: file,
      logLevel: "silent",
    });
    return (await import(file)).statsStatements;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const bucketStart = (at, width) => Math.floor(at / (width * 1000)) * width * 1000;

const loadAtStart = os.loadavg()[0] ?? 0;
const statsStatements = await loadStatsStatements();
const target = await startInProcess({
  secrets: { EXTEND_SIGNING_SECRETS: "wss_bench_stats", ALFRED_WEBHOOK_TOKENS: "bench" },
});

try {
  const { url, db } = target;
  const tokens = {};
  for (const [name, company, source] of [
    ["admin", null, null],
    ["source", null, "extend"],
    ["company", "co-7", null],
  ]) {
    const token = `rl_bench_${crypto.randomUUID()}`;
    await db
      .prepare("INSERT INTO tokens (token_hash, name, company_id, source, created_at) VALUES (?, ?, ?, ?, ?)")
      .bind(
        createHash("sha256").update(token).digest("hex"),
        `bench-${name}`,
        company,
        source,
        new Date().toISOString(),
      )
      .run();
    tokens[name] = { token, scope: { company, source } };
  }

  // A full week of buckets in every width, for every source and 200 companies: the most a call reads.
  const now = Date.now();
  const bucketRows = [];
  const refusalRows = [];
  for (const [width, count] of Object.values(WINDOWS)) {
    const last = bucketStart(now, width);
    for (let n = 0; n < count; n++) {
      const start = last - n * width * 1000;
      const slices = [
        ...SOURCES.map((source) => [source, "all"]),
        ...Array.from({ length: COMPANIES }, (_, c) => ["alfred", `company:co-${c}`]),
      ];
      for (const [source, slice] of slices)
        bucketRows.push([source, slice, width, start, 10 + n, n % 3, slice === "all" ? 1 : 0]);
      for (const source of SOURCES)
        for (const code of CODES) refusalRows.push([source, width, start, code, 1 + (n % 5)]);
    }
  }
  for (let from = 0; from < bucketRows.length; from += 500) {
    await db
      .prepare(
        `INSERT INTO delivery_counts (source, slice, width, start, accepted, duplicates, quarantined)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6 FROM json_each(?1)`,
      )
      .bind(JSON.stringify(bucketRows.slice(from, from + 500)))
      .run();
  }
  for (let from = 0; from < refusalRows.length; from += 500) {
    await db
      .prepare(
        `INSERT INTO refusal_counts (source, width, start, code, refused)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 FROM json_each(?1)`,
      )
      .bind(JSON.stringify(refusalRows.slice(from, from + 500)))
      .run();
  }

  let seeded = 0;
  const seedJobs = async (upTo) => {
    for (; seeded < upTo; seeded += 500) {
      const rows = Array.from({ length: Math.min(500, upTo - seeded) }, (_, k) => {
        const n = seeded + k;
        const source = SOURCES[n % 10 < 5 ? 0 : n % 10 < 8 ? 1 : 2];
        const at = now - (n % 10_080) * 60_000;
        return {
          k: `${source}:job:bench_${n}`,
          s: source,
          i: `bench_${n}`,
          st: STATUSES[n % STATUSES.length],
          c: source === "alfred" ? `co-${n % COMPANIES}` : null,
          t: at,
          q: n + 1,
        };
      });
      await db
        .prepare(
          `INSERT INTO jobs (job_key, source, kind, id, status, vendor_status, terminal, company_id, first_event_at,
             last_event_at, last_received_at, event_count, delivery_count, version, seq)
           SELECT value ->> 'k', value ->> 's', 'job', value ->> 'i', value ->> 'st', 'bench', 0, value ->> 'c',
             value ->> 't', value ->> 't', value ->> 't', 1, 1, 1, value ->> 'q'
           FROM json_each(?1)`,
        )
        .bind(JSON.stringify(rows))
        .run();
    }
  };

  const results = [];
  for (const size of SIZES) {
    const seedStarted = performance.now();
    await seedJobs(size);
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    const total = (await db.prepare("SELECT sum(jobs) AS n FROM job_counts WHERE slice = 'all'").first()).n;
    if (total !== size) throw new Error(`counters hold ${total} jobs, the table ${size}`);
    for (const [window, [width, count]] of Object.entries(WINDOWS)) {
      for (const [name, { token, scope }] of Object.entries(tokens)) {
        const call = async () => {
          const started = performance.now();
          const response = await fetch(`${url}/v1/stats?window=${window}`, {
            headers: { authorization: `Bearer ${token}` },
          });
          const body = await response.json();
          if (response.status !== 200)
            throw new Error(`stats answered ${response.status}: ${JSON.stringify(body)}`);
          return { ms: performance.now() - started, body };
        };
        for (let n = 0; n < 5; n++) await call();
        const times = [];
        let body;
        for (let n = 0; n < CALLS; n++) {
          const result = await call();
          times.push(result.ms);
          body = result.body;
        }
        const sources =
          scope.source !== null ? [scope.source] : scope.company !== null ? ["alfred"] : SOURCES;
        const statements = statsStatements({
          sources,
          slice: scope.company === null ? "all" : `company:${scope.company}`,
          unattributed: scope.company === null,
          width,
          since: bucketStart(Date.now(), width) - (count - 1) * width * 1000,
        });
        const read = await db.batch(statements.map(({ sql, params }) => db.prepare(sql).bind(...params)));
        results.push({
          size,
          window,
          token: name,
          p50: percentile(times, 50),
          p99: percentile(times, 99),
          rowsRead: read.reduce((sum, result) => sum + (result.meta.rows_read ?? 0), 0),
          jobs: body.jobs.total,
          seedSeconds,
        });
      }
    }
    // For comparison: what a count of the jobs table itself would cost at this size.
    const scans = [];
    let scanRows = 0;
    for (let n = 0; n < 5; n++) {
      const started = performance.now();
      const scan = await db
        .prepare("SELECT source, status, count(*) FROM jobs GROUP BY source, status")
        .all();
      scans.push(performance.now() - started);
      scanRows = scan.meta.rows_read;
    }
    results.push({ size, scan: true, p50: percentile(scans, 50), rowsRead: scanRows });
  }

  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  const cell = (size, window, token) => {
    const r = results.find((x) => x.size === size && x.window === window && x.token === token);
    return `${r.p50.toFixed(1)} / ${r.p99.toFixed(1)} ms, ${r.rowsRead} rows`;
  };
  const lines = [
    `## Overview — ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`,
    "",
    `- Machine: ${os.cpus().length} CPUs, ${cpu}, Node ${process.version}; load average ${loadAtStart.toFixed(1)} when the run began (other programs on the machine)`,
    "- Command: `npm run bench:stats -- --write` (the deployed bundle under Miniflare, direct socket, tmpfs; one client, calls one after another)",
    `- D1 seeded in bulk: the jobs (half Extend, 30 % Alfred over ${COMPANIES} companies, 20 % Standard Webhooks), and a full week of buckets in every width for the 3 sources and the ${COMPANIES} companies (${bucketRows.length.toLocaleString("en")} delivery rows, ${refusalRows.length.toLocaleString("en")} refusal rows)`,
    `- Each cell: p50 / p99 of ${CALLS} \`GET /v1/stats\` calls over HTTP (token lookup included), and the D1 rows the call's statements read (\`meta.rows_read\`)`,
    "",
    `| window | token | ${SIZES.map((size) => `${size.toLocaleString("en")} jobs`).join(" | ")} |`,
    `| --- | --- |${SIZES.map(() => " --- |").join("")}`,
    ...Object.keys(WINDOWS).flatMap((window) =>
      Object.keys(tokens).map(
        (token) =>
          `| \`${window}\` | ${token} | ${SIZES.map((size) => cell(size, window, token)).join(" | ")} |`,
      ),
    ),
    `| for comparison: \`SELECT source, status, count(*) FROM jobs GROUP BY …\` | — | ${SIZES.map((size) => {
      const r = results.find((x) => x.size === size && x.scan);
      return `${r.p50.toFixed(1)} ms (D1 only, no HTTP), ${r.rowsRead.toLocaleString("en")} rows`;
    }).join(" | ")} |`,
    "",
  ];
  const section = lines.join("\n");
  console.log(section);
  if (process.argv.includes("--write")) {
    writeMarkedSection(
      path.join(ROOT, "BENCHMARKS.md"),
      "<!-- bench:stats -->",
      section,
      "<!-- bench:sync -->",
    );
  }
} finally {
  await target.dispose();
}
