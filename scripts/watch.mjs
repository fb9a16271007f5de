#!/usr/bin/env node
// `npm run watch -- <jobKey> [--url URL] [--token -|TOKEN]`: follows a job's live stream
// (GET /v1/jobs/:jobKey/stream, CONTRACT §7) and prints one readable line per change — time, event
// type, status, deliveries — after a header from the snapshot. The token comes from RUNLEDGER_TOKEN,
// standard input (--token -) or --token (create one with `npm run token -- create --name me`).
import { readToken, usage } from "./cli.mjs";

const USAGE = `usage: npm run watch -- <jobKey> [--url http://127.0.0.1:8787] [--token -|TOKEN]

Follows a job's live stream and prints one line per change (time, event type, status, deliveries).

  --url URL     the Worker (default http://127.0.0.1:8787, the dev server of npm start)
  --token -     read the read token from standard input (e.g. --token - < token.txt)
  --token T     the read token itself; other local users can read it in \`ps\` while this runs,
                so prefer RUNLEDGER_TOKEN (used when --token is not given) or --token -

A job with no event yet (404: unknown, or outside the token's scope) is waited for: it says so once
and starts printing with the job's first event. Exit 1 when the server refuses (e.g. 401 for an
unknown token), cannot be reached, or ends the stream; a usage error is one line and exit 2.`;

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  console.log(USAGE);
  process.exit(0);
}
const { fail, unknownOption } = usage("watch", "npm run watch");
const option = (name) => {
  const at = args.indexOf(name);
  if (at === -1) return undefined;
  const value = args[at + 1];
  if (value === undefined || value.startsWith("--")) fail(`${name} needs a value`);
  args.splice(at, 2);
  return value;
};
const base = (option("--url") ?? "http://127.0.0.1:8787").replace(/\/+$/, "");
const tokenOption = option("--token");
const unknown = args.find((arg) => arg.startsWith("-"));
if (unknown !== undefined) unknownOption(unknown, ["--url", "--token", "--help"]);
const [jobKey] = args;
if (jobKey === undefined) fail("give a job key, e.g. extend:classify_run:clr_1");
if (args.length > 1) fail(`unexpected argument ${args[1]}`);
const { token } = await readToken(tokenOption, ["RUNLEDGER_TOKEN"], { fail });
if (token === undefined) fail("a read token is needed: RUNLEDGER_TOKEN, --token - (stdin) or --token T");

const line = (time, type, status, deliveries) =>
  `${time}  ${String(type).padEnd(34)} ${String(status ?? "-").padEnd(13)} ×${deliveries}`;

function print(event, data) {
  if (event === "snapshot") {
    console.log(
      `${data.jobKey}  ${data.status}${data.terminal ? " (terminal)" : ""}  version ${data.version}`,
    );
    for (const entry of data.history)
      console.log(line(entry.occurredAt, entry.eventType, entry.status, entry.deliveries));
    // A big job's snapshot is the detail's first page (docs/API.md, "Pages of a job's detail").
    if (data.historyNextCursor !== undefined)
      console.log(
        `… ${data.eventCount - data.history.length} later entries: GET /v1/jobs/<key>?historyCursor=…`,
      );
    console.log("— live —");
  } else if (event === "change") {
    const { summary, entry } = data;
    console.log(
      `${line(entry.occurredAt, entry.eventType, entry.status, entry.deliveries)}  → job ${summary.status} v${summary.version}`,
    );
  } else if (event === "closed") {
    // The server ends the stream and says why (a revoked token: `unauthorized`).
    console.error(`the server ended the stream: ${data.error?.code}: ${data.error?.message}`);
    process.exitCode = 1;
  }
}

/** How often a job with no event yet is asked for again. */
const WAIT_MS = 1000;

/** The job's stream; while the job has no event yet (404), says so once and keeps asking. */
async function openStream() {
  let told = false;
  for (;;) {
    let response;
    try {
      response = await fetch(`${base}/v1/jobs/${encodeURIComponent(jobKey)}/stream`, {
        headers: { authorization: `Bearer ${token}` },
      });
    } catch (error) {
      console.error(
        `runledger watch: could not reach ${base}: ${error?.cause?.message ?? error?.message ?? error}. Is \`npm start\` running?`,
      );
      process.exit(1);
    }
    if (response.status === 200) return response;
    if (response.status === 404) {
      // A job is known from its first event on: one whose run has not begun is not an error.
      await response.body?.cancel();
      if (!told) {
        console.error(
          `runledger watch: ${jobKey} has no event yet (or is outside this token's scope); waiting for its first one… (Ctrl-C to stop)`,
        );
        told = true;
      }
      await new Promise((resolve) => setTimeout(resolve, WAIT_MS));
      continue;
    }
    const why = { 401: " (the token is unknown or revoked)" };
    console.error(
      `runledger watch: ${response.status}${why[response.status] ?? ""}: ${await response.text()}`,
    );
    process.exit(1);
  }
}

const response = await openStream();
const decoder = new TextDecoder();
let buffer = "";
for await (const chunk of response.body) {
  buffer += decoder.decode(chunk, { stream: true });
  for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
    const block = buffer.slice(0, end);
    buffer = buffer.slice(end + 2);
    let event = "message";
    let data = "";
    for (const field of block.split("\n")) {
      if (field.startsWith("event:")) event = field.slice(6).trim();
      else if (field.startsWith("data:")) data += field.slice(5).trimStart();
    }
    if (data !== "") print(event, JSON.parse(data));
  }
}
// The stream never ends by itself (CONTRACT §7): the server closed it, so say so and fail.
console.error("runledger watch: the stream ended (the server closed it); run the command again to follow on");
process.exit(1);
