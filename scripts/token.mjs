#!/usr/bin/env node
// `npm run token -- create --name NAME [--company ID] [--source SOURCE] [--admin] [--remote]`
// `npm run token -- list [--remote]`, `npm run token -- revoke --name NAME [--remote]`
// Tokens are stored as SHA-256 hashes only; `create` prints the token alone on the last line.
import { applyMigrations, createToken, oneOf, runWrangler, vendorSources } from "./lib.mjs";

const SOURCES = vendorSources();
const USAGE = `Usage:
  npm run token -- create --name NAME [--company ID] [--source ${SOURCES.join("|")}] [--admin] [--remote]
  npm run token -- list [--remote]
  npm run token -- revoke --name NAME [--remote]

Local D1 by default: the one \`npm start\` serves, or another local state with --persist-to DIR.
--remote writes to the deployed database. --admin: the token may also use the operating routes
(retry a quarantined delivery).`;

const VALUE_OPTIONS = ["name", "company", "source", "persist-to"];

function fail(message) {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function parse(argv) {
  const [command, ...rest] = argv;
  const options = { remote: false, admin: false };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    const inline = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (arg === "--remote") options.remote = true;
    else if (arg === "--admin") options.admin = true;
    else if (arg === "--local") options.remote = false;
    else if (inline && VALUE_OPTIONS.includes(inline[1])) options[inline[1]] = inline[2];
    else if (arg.startsWith("--") && VALUE_OPTIONS.includes(arg.slice(2))) {
      const value = rest[++i];
      if (value === undefined || value.startsWith("--")) fail(`${arg} needs a value.`);
      options[arg.slice(2)] = value;
    } else fail(`Unknown argument: ${arg}`);
  }
  return { command, options };
}

const quote = (value) =>
  value === undefined || value === null ? "NULL" : `'${String(value).replaceAll("'", "''")}'`;

/** Where the database is: the deployed one, wrangler's default local state, or `--persist-to`. */
function whereArgs(options) {
  if (options.remote) return ["--remote"];
  return options["persist-to"] ? ["--local", "--persist-to", options["persist-to"]] : ["--local"];
}

function execute(sql, options) {
  const args = ["d1", "execute", "DB", ...whereArgs(options), "--yes", "--json", "--command", sql];
  return runWrangler(args, { quiet: true });
}

const { command, options } = parse(process.argv.slice(2));
if (command === "--help" || command === "-h" || command === "help") {
  console.log(USAGE);
  process.exit(0);
}
if (!["create", "list", "revoke"].includes(command ?? "")) fail("Give a command: create, list or revoke.");
if (options.source !== undefined && !SOURCES.includes(options.source)) {
  fail(`--source must be ${oneOf(SOURCES)}.`);
}
if (options.company === "") fail("--company needs a value.");
if (command !== "list" && !options.name) fail(`${command} needs --name NAME.`);
if (options.remote && options["persist-to"]) fail("--persist-to is for local databases only.");

try {
  // The token table may be newer than the local database: apply pending migrations first.
  applyMigrations(whereArgs(options), { quiet: true });
  if (command === "create") {
    const token = createToken(
      { name: options.name, company: options.company, source: options.source, admin: options.admin },
      whereArgs(options),
    );
    const scope = [
      options.company && `company ${options.company}`,
      options.source && `source ${options.source}`,
    ]
      .filter(Boolean)
      .join(", ");
    const where = options.remote ? "remote" : "local";
    const kind = options.admin ? "admin" : "read-API";
    console.log(
      `Created ${kind} token "${options.name}" (${scope || "all jobs"}) in ${where} D1. It is shown once:`,
    );
    console.log(token);
  } else if (command === "list") {
    const output = execute(
      "SELECT name, company_id AS company, source, admin, created_at, revoked_at, substr(token_hash, 1, 12) AS hash_prefix FROM tokens ORDER BY created_at",
      options,
    );
    const rows = JSON.parse(output)[0]?.results ?? [];
    if (rows.length === 0) console.log("No tokens.");
    else console.table(rows);
  } else {
    const output = execute(
      `UPDATE tokens SET revoked_at = ${quote(new Date().toISOString())} WHERE name = ${quote(options.name)} AND revoked_at IS NULL RETURNING name`,
      options,
    );
    const changed = JSON.parse(output)[0]?.results?.length ?? 0;
    if (changed === 0) {
      console.error(`No live token is named "${options.name}"; nothing was revoked.`);
      process.exit(1);
    }
    console.log(`Revoked ${changed} live token(s) named "${options.name}".`);
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
