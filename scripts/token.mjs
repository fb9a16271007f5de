#!/usr/bin/env node
// `npm run token -- create --name NAME [--company ID] [--source alfred|extend] [--remote]`
// `npm run token -- list [--remote]`, `npm run token -- revoke --name NAME [--remote]`
// Tokens are stored as SHA-256 hashes only; `create` prints the token alone on the last line.
import { applyMigrations, runWrangler } from "./lib.mjs";

const USAGE = `Usage:
  npm run token -- create --name NAME [--company ID] [--source alfred|extend] [--remote]
  npm run token -- list [--remote]
  npm run token -- revoke --name NAME [--remote]

Local D1 by default (the one \`npm start\` serves); --remote writes to the deployed database.`;

function fail(message) {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function parse(argv) {
  const [command, ...rest] = argv;
  const options = { remote: false };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === "--remote") options.remote = true;
    else if (arg === "--local") options.remote = false;
    else if (["--name", "--company", "--source"].includes(arg)) {
      const value = rest[++i];
      if (value === undefined || value.startsWith("--")) fail(`${arg} needs a value.`);
      options[arg.slice(2)] = value;
    } else if (/^--(name|company|source)=/.test(arg)) {
      const [key, ...value] = arg.slice(2).split("=");
      options[key] = value.join("=");
    } else fail(`Unknown argument: ${arg}`);
  }
  return { command, options };
}

const quote = (value) =>
  value === undefined || value === null ? "NULL" : `'${String(value).replaceAll("'", "''")}'`;

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Buffer.from(digest).toString("hex");
}

function execute(sql, remote) {
  return runWrangler(
    ["d1", "execute", "DB", remote ? "--remote" : "--local", "--yes", "--json", "--command", sql],
    {
      quiet: true,
    },
  );
}

const { command, options } = parse(process.argv.slice(2));
if (command === "--help" || command === "-h" || command === "help") {
  console.log(USAGE);
  process.exit(0);
}
if (!["create", "list", "revoke"].includes(command ?? "")) fail("Give a command: create, list or revoke.");
if (options.source !== undefined && !["alfred", "extend"].includes(options.source)) {
  fail("--source must be alfred or extend.");
}
const where = options.remote ? "--remote" : "--local";

try {
  applyMigrations(where, { quiet: true });
  if (command === "create") {
    if (!options.name) fail("create needs --name NAME.");
    if (options.company === "") fail("--company needs a value.");
    const token = `rl_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url")}`;
    execute(
      `INSERT INTO tokens (token_hash, name, company_id, source, created_at) VALUES (${quote(await sha256Hex(token))}, ${quote(options.name)}, ${quote(options.company)}, ${quote(options.source)}, ${quote(new Date().toISOString())})`,
      options.remote,
    );
    const scope = [
      options.company && `company ${options.company}`,
      options.source && `source ${options.source}`,
    ]
      .filter(Boolean)
      .join(", ");
    console.log(
      `Created read-API token "${options.name}" (${scope || "all jobs"}) in ${options.remote ? "remote" : "local"} D1. It is shown once:`,
    );
    console.log(token);
  } else if (command === "list") {
    const output = execute(
      "SELECT name, company_id AS company, source, created_at, revoked_at, substr(token_hash, 1, 12) AS hash_prefix FROM tokens ORDER BY created_at",
      options.remote,
    );
    const rows = JSON.parse(output)[0]?.results ?? [];
    if (rows.length === 0) console.log("No tokens.");
    else console.table(rows);
  } else {
    if (!options.name) fail("revoke needs --name NAME.");
    execute(
      `UPDATE tokens SET revoked_at = ${quote(new Date().toISOString())} WHERE name = ${quote(options.name)} AND revoked_at IS NULL`,
      options.remote,
    );
    console.log(`Revoked the live tokens named "${options.name}".`);
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
