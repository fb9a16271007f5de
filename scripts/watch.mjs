#!/usr/bin/env node
// `npm run watch -- <jobKey> [--url URL] [--token TOKEN]`: follows a job's live stream
// (GET /v1/jobs/:jobKey/stream, CONTRACT §7) and prints one readable line per change — time, event
// type, status, deliveries — after a header from the snapshot. The token comes from --token or
// RUNLEDGER_TOKEN (create one with `npm run token -- create --name me`).
const USAGE = "usage: npm run watch -- <jobKey> [--url http://127.0.0.1:8787] [--token TOKEN]";

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  console.log(USAGE);
  process.exit(0);
}
function usageError(message) {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}
const option = (name) => {
  const at = args.indexOf(name);
  if (at === -1) return undefined;
  const value = args[at + 1];
  if (value === undefined || value.startsWith("--")) usageError(`${name} needs a value.`);
  args.splice(at, 2);
  return value;
};
const base = option("--url") ?? "http://127.0.0.1:8787";
const token = option("--token") ?? (process.env.RUNLEDGER_TOKEN || undefined);
const unknown = args.find((arg) => arg.startsWith("-"));
if (unknown !== undefined) usageError(`Unknown option: ${unknown}`);
const [jobKey] = args;
if (jobKey === undefined) usageError("Give a job key.");
if (args.length > 1) usageError(`Unexpected argument: ${args[1]}`);
if (token === undefined) usageError("A token is needed: --token or RUNLEDGER_TOKEN.");

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

const response = await fetch(`${base}/v1/jobs/${encodeURIComponent(jobKey)}/stream`, {
  headers: { authorization: `Bearer ${token}` },
});
if (response.status !== 200) {
  console.error(`${response.status}: ${await response.text()}`);
  process.exit(1);
}
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
console.error("the stream ended");
