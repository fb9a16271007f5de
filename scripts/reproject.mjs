#!/usr/bin/env node
// `npm run reproject [-- --remote --url URL] [--token -|T] [--cursor C] [--limit N]`: rebuilds the D1
// job summaries (what GET /v1/jobs and GET /v1/changes read) from the job ledgers, for every job in
// the key registry, by calling POST /v1/admin/reproject page after page (docs/OPERATING.md, "Reprojection").
// Prints progress and the cursor after each page, so a stopped run goes on with --cursor; running it
// again changes nothing that is already right. A page that fails with 503 or a lost connection is
// asked again, with backoff. With --seed-from-d1 it first registers every job key D1 holds, for
// ledgers that stored their events before the key registry existed.
import { readToken, usage } from "./cli.mjs";

const USAGE = `usage: npm run reproject -- [options]

Rebuilds the D1 job summaries from the job ledgers, page by page (POST /v1/admin/reproject).

  --url URL        the Worker (default http://127.0.0.1:8787, the dev server of npm start)
  --remote         reproject a deployed Worker; needs --url https://…  (without it, only a local
                   URL is accepted, so a production run is never an accident)
  --token -        read the admin token from standard input (e.g. --token - < ops-token.txt)
  --token TOKEN    the admin token itself; other local users can read it in \`ps\` while this
                   runs, so prefer RUNLEDGER_ADMIN_TOKEN (used when --token is not given) or
                   --token -. Create one with: npm run token -- create --name ops --admin
  --cursor C       go on from the cursor a stopped run printed
  --limit N        jobs per page, 1–200 (default 100)
  --retries N      attempts per page on 503 or a lost connection (default 8; waits
                   200 ms, doubling up to 10 s, between them)
  --seed-from-d1   first register every job key D1 holds (POST /v1/admin/registry/seed): once,
                   for jobs whose ledgers stored their events before the key registry existed
  --verbose        list the job keys each page repaired
  --help           this text

Exit 1 when a page is refused (401, 403, …) or keeps failing; a usage error is one line and exit 2.`;

const LOCAL = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/;

const { fail: usageFail, unknownOption } = usage("reproject", "npm run reproject");
const OPTIONS = ["--url", "--token", "--cursor", "--limit", "--retries"];
const FLAGS = ["--remote", "--verbose", "--seed-from-d1", "--help"];

/** A usage error (exit 2, one line), or with `code` 1 what went wrong while running. */
function fail(message, code = 2) {
  if (code === 2) usageFail(message);
  console.error(`runledger reproject: ${message}`);
  process.exit(code);
}

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  console.log(USAGE);
  process.exit(0);
}
const options = { remote: false, verbose: false, seed: false };
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === "--remote") options.remote = true;
  else if (arg === "--verbose") options.verbose = true;
  else if (arg === "--seed-from-d1") options.seed = true;
  else if (OPTIONS.includes(arg)) {
    const value = args[++i];
    if (value === undefined) fail(`${arg} needs a value`);
    options[arg.slice(2)] = value;
  } else if (arg.startsWith("-")) unknownOption(arg, [...OPTIONS, ...FLAGS]);
  else fail(`unexpected argument ${arg}`);
}

if (options.remote && options.url === undefined)
  fail("--remote needs --url: the deployed Worker's URL, e.g. https://runledger.<account>.workers.dev");
const base = (options.url ?? "http://127.0.0.1:8787").replace(/\/+$/, "");
if (!/^https?:\/\//.test(base)) fail(`--url must be an http(s) URL: ${base}`);
if (!options.remote && !LOCAL.test(base))
  fail(`${base} is not a local dev server: pass --remote to reproject a deployed Worker`);
const { token } = await readToken(options.token, ["RUNLEDGER_ADMIN_TOKEN"], { fail });
if (token === undefined)
  fail(
    "an admin token is needed: RUNLEDGER_ADMIN_TOKEN, --token - (stdin) or --token T; create one with: npm run token -- create --name ops --admin",
  );
const limit = options.limit === undefined ? undefined : Number(options.limit);
if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= 200))
  fail("--limit must be an integer from 1 to 200");
const retries = Number(options.retries ?? 8);
if (!(Number.isInteger(retries) && retries >= 1)) fail("--retries must be a positive integer");

/** One page, asked again on 503 or a lost connection; any other refusal ends the run. */
async function page(cursor, route = "reproject") {
  for (let attempt = 1; ; attempt++) {
    let problem;
    try {
      const response = await fetch(`${base}/v1/admin/${route}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ cursor, limit }),
      });
      const text = await response.text();
      if (response.status === 200) return JSON.parse(text);
      if (response.status !== 503) {
        const hint =
          response.status === 401
            ? " (the token is unknown or revoked)"
            : response.status === 403
              ? " (the token is not an admin token: npm run token -- create --name ops --admin)"
              : "";
        fail(`${response.status}${hint}: ${text}`, 1);
      }
      problem = `503: ${text}`;
    } catch (error) {
      problem = error instanceof Error ? (error.cause?.message ?? error.message) : String(error);
    }
    if (attempt >= retries) {
      const resume = cursor === undefined || route !== "reproject" ? "" : ` --cursor ${cursor}`;
      fail(`the page failed ${attempt} times (${problem});\nresume with: npm run reproject --${resume}`, 1);
    }
    const delay = Math.min(200 * 2 ** (attempt - 1), 10_000);
    console.error(`page failed (${problem}); retrying in ${delay} ms`);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

const started = Date.now();
if (options.seed) {
  let seedCursor;
  let read = 0;
  let added = 0;
  do {
    const answer = await page(seedCursor, "registry/seed");
    read += answer.processed;
    added += answer.registered;
    seedCursor = answer.nextCursor ?? undefined;
    console.log(`seeding the key registry from D1: ${read} rows read, ${added} keys new to it`);
  } while (seedCursor !== undefined);
}
let cursor = options.cursor;
let total;
let processed = 0;
let repaired = 0;
let pages = 0;
console.log(`reprojecting ${base}${cursor === undefined ? "" : ` from cursor ${cursor}`}`);
do {
  const answer = await page(cursor);
  pages++;
  total ??= answer.total;
  processed += answer.processed;
  repaired += answer.repaired;
  cursor = answer.nextCursor ?? undefined;
  const of = total === undefined ? "" : `/${total}`;
  const where = `shard ${Math.min(answer.shard, answer.shards)}/${answer.shards}`;
  console.log(
    `page ${pages}: ${processed}${of} jobs, ${repaired} repaired (${where})  cursor: ${cursor ?? "(done)"}`,
  );
  if (options.verbose) for (const key of answer.repairedKeys) console.log(`  repaired ${key}`);
} while (cursor !== undefined);
console.log(
  `done: ${processed} jobs read from their ledgers, ${repaired} D1 rows repaired, in ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
