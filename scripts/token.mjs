#!/usr/bin/env node
// `npm run token -- create --name NAME [--company ID] [--source SOURCE] [--admin] [--force] [--remote]`
// `npm run token -- list [--all] [--remote]`, `npm run token -- revoke --name NAME [--remote]`
// Tokens are stored as SHA-256 hashes only; `create` prints the token alone on the last line.
// Local D1 is opened in this process through Miniflare (lib.mjs `openLocalD1`, well under a second);
// `--remote` goes through `wrangler d1 execute --remote`, the only way to the deployed database.
import { createHash } from "node:crypto";
import { didYouMean, formatTable, usage } from "./cli.mjs";
import { applyMigrations, oneOf, openLocalD1, runWrangler, vendorSources } from "./lib.mjs";

const SOURCES = vendorSources();
const USAGE = `Usage:
  npm run token -- create --name NAME [--company ID] [--source ${SOURCES.join("|")}] [--admin] [--unique|--replace] [--remote]
  npm run token -- list [--all] [--remote]
  npm run token -- revoke --name NAME [--remote]

Local D1 by default: the one \`npm start\` serves, or another local state with --persist-to DIR;
pending local migrations are applied first. --remote: the deployed database (through wrangler).
--admin: the token may also use the operating routes (retry a quarantined delivery).
--unique: refuse (exit 1) when a live token already has that name. Without it such a create still
  makes the token, beside the others of that name, and says so on stderr: CONTRACT §1 says create
  MUST create one (scripts and CI often reuse a name); \`revoke --name\` revokes every one of them.
--replace: revoke the live tokens of that name once the new one is stored (rotation; \`npm start\`
  keeps one console token this way: "console", and the "console-<time>" ones earlier versions made).
--force: the old spelling of "not --unique" (accepted, changes nothing).
list: the live tokens as a table (name, scope, admin, created, hash prefix); --all adds the revoked.

Give the token to the other commands through RUNLEDGER_TOKEN (RUNLEDGER_ADMIN_TOKEN for reproject)
or their standard input (--token -), not on their command line, where \`ps\` shows it to other users.
A usage error is one line on stderr and exit 2.`;

const VALUE_OPTIONS = ["name", "company", "source", "persist-to"];
const FLAGS = ["remote", "admin", "force", "unique", "replace", "all"];
const COMMANDS = ["create", "list", "revoke"];
const KNOWN = [...VALUE_OPTIONS, ...FLAGS, "local", "help"].map((name) => `--${name}`);

const { fail, unknownOption } = usage("token", "npm run token");

function parse(argv) {
  if (argv.some((arg) => arg === "--help" || arg === "-h") || argv[0] === "help") {
    console.log(USAGE);
    process.exit(0);
  }
  const [command, ...rest] = argv;
  if (command?.startsWith("-")) {
    const option = command.replace(/=.*$/, "");
    if (KNOWN.includes(option))
      fail(`give the command first: npm run token -- <create|list|revoke> ${option} …`);
    unknownOption(command, KNOWN);
  }
  const options = { remote: false, admin: false, force: false, unique: false, replace: false, all: false };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    const inline = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (arg === "--local") options.remote = false;
    else if (arg.startsWith("--") && FLAGS.includes(arg.slice(2))) options[arg.slice(2)] = true;
    else if (inline && VALUE_OPTIONS.includes(inline[1])) options[inline[1]] = inline[2];
    else if (arg.startsWith("--") && VALUE_OPTIONS.includes(arg.slice(2))) {
      const value = rest[++i];
      if (value === undefined || value.startsWith("--")) fail(`${arg} needs a value`);
      options[arg.slice(2)] = value;
    } else if (arg.startsWith("-")) unknownOption(arg, KNOWN);
    else fail(`unexpected argument ${arg}`);
  }
  return { command, options };
}

const quote = (value) =>
  value === undefined || value === null ? "NULL" : `'${String(value).replaceAll("'", "''")}'`;

/**
 * The database the command works on, migrated: `query(sql)` returns the rows of one statement.
 * The SQL is built with `quote` for both kinds, since `wrangler d1 execute` takes no parameters.
 */
async function openDatabase(options) {
  if (options.remote) {
    applyMigrations("--remote", { quiet: true });
    return {
      query: async (sql) =>
        JSON.parse(
          runWrangler(["d1", "execute", "DB", "--remote", "--yes", "--json", "--command", sql], {
            quiet: true,
          }),
        )[0]?.results ?? [],
      close: async () => {},
    };
  }
  const local = await openLocalD1(options["persist-to"]);
  try {
    // The token table may be newer than the local database: apply what is pending first, as
    // `npm start` does (lib.mjs `applyPendingMigrations`, wrangler's own rule and table).
    await local.applyPendingMigrations();
    return local;
  } catch (error) {
    // Never leave the Miniflare instance running: it would keep this process alive.
    await local.close();
    throw error;
  }
}

const { command, options } = parse(process.argv.slice(2));
if (command === undefined) fail("give a command: create, list or revoke");
if (!COMMANDS.includes(command))
  fail(`unknown command ${command}${didYouMean(command, COMMANDS) || ": give create, list or revoke"}`);
if (options.source !== undefined && !SOURCES.includes(options.source)) {
  fail(`--source must be ${oneOf(SOURCES)}, not ${options.source}${didYouMean(options.source, SOURCES)}`);
}
if (options.company === "") fail("--company needs a value");
if (command !== "list" && !options.name) fail(`${command} needs --name NAME`);
if (options.remote && options["persist-to"]) fail("--persist-to is for local databases only");
for (const flag of ["force", "unique", "replace"]) {
  if (options[flag] && command !== "create") fail(`--${flag} is for create only`);
}
if (options.all && command !== "list") fail("--all is for list only");
if (options.unique && options.force) fail("--unique and --force contradict each other");
if (options.unique && options.replace) fail("--unique and --replace contradict each other");

/**
 * The names `create --replace` revokes: the name itself, and for `console` (the token `npm start`
 * makes for its console link) also the `console-<ISO time>` tokens earlier versions made at each start.
 */
function replacedNames(name) {
  const same = `name = ${quote(name)}`;
  if (name !== "console") return same;
  // LIKE, not GLOB with digit classes: D1 refuses patterns over 50 bytes.
  return `${same} OR name LIKE 'console-____-__-__T__-__-__-___Z'`;
}

/** `list`'s rows as an aligned table; times in UTC to the minute. */
function tokenTable(rows, { all = false } = {}) {
  const minute = (iso) => (iso ? String(iso).slice(0, 16).replace("T", " ") : "-");
  const headers = ["NAME", "SCOPE", "ADMIN", "CREATED (UTC)", "HASH", ...(all ? ["REVOKED (UTC)"] : [])];
  const lines = rows.map((row) => [
    row.name,
    [row.company_id && `company ${row.company_id}`, row.source && `source ${row.source}`]
      .filter(Boolean)
      .join(", ") || "all jobs",
    Number(row.admin) === 1 ? "yes" : "no",
    minute(row.created_at),
    row.hash_prefix,
    ...(all ? [minute(row.revoked_at)] : []),
  ]);
  return formatTable(headers, lines);
}

let database;
try {
  database = await openDatabase(options);
  if (command === "create") {
    const token = `rl_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url")}`;
    const hash = createHash("sha256").update(token).digest("hex");
    const values = [hash, options.name, options.company, options.source, new Date().toISOString()]
      .map(quote)
      .join(", ");
    // With --unique, one statement, so two creates racing for a name cannot both pass the check.
    // The hash guard makes a retried statement (lib.mjs retries on SQLITE_BUSY) insert at most once.
    const sameName = `SELECT 1 FROM tokens WHERE name = ${quote(options.name)} AND revoked_at IS NULL`;
    const namesakes = options.unique || options.replace ? 0 : (await database.query(sameName)).length;
    const inserted = await database.query(
      `INSERT INTO tokens (token_hash, name, company_id, source, created_at, admin) SELECT ${values}, ${options.admin ? 1 : 0} WHERE NOT EXISTS (SELECT 1 FROM tokens WHERE token_hash = ${quote(hash)})${options.unique ? ` AND NOT EXISTS (${sameName})` : ""} RETURNING name`,
    );
    const created =
      inserted.length > 0 ||
      (await database.query(`SELECT 1 AS ours FROM tokens WHERE token_hash = ${quote(hash)}`)).length > 0;
    if (created && options.replace) {
      // Once the new token is stored, so a failure never leaves the name without a live token.
      const replaced = await database.query(
        `UPDATE tokens SET revoked_at = ${quote(new Date().toISOString())} WHERE revoked_at IS NULL AND token_hash <> ${quote(hash)} AND (${replacedNames(options.name)}) RETURNING name`,
      );
      if (replaced.length > 0)
        console.log(`Revoked ${replaced.length} earlier token(s) this one replaces (--replace).`);
    }
    if (!created) {
      console.error(
        `A live token is already named "${options.name}" and --unique was given: nothing was created (revoke it first, or drop --unique).`,
      );
      process.exitCode = 1;
    } else {
      if (namesakes > 0 && !options.force) {
        console.error(
          `Note: ${namesakes} live token(s) already named "${options.name}"; this one is added beside them (revoke --name revokes them all; --unique refuses instead).`,
        );
      }
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
    }
  } else if (command === "list") {
    const rows = await database.query(
      `SELECT name, company_id, source, admin, created_at, revoked_at, substr(token_hash, 1, 12) AS hash_prefix FROM tokens${options.all ? "" : " WHERE revoked_at IS NULL"} ORDER BY created_at, name`,
    );
    if (rows.length === 0)
      console.log(options.all ? "No tokens." : "No live tokens (--all lists the revoked too).");
    else console.log(tokenTable(rows, { all: options.all }));
  } else {
    const revoked = await database.query(
      `UPDATE tokens SET revoked_at = ${quote(new Date().toISOString())} WHERE name = ${quote(options.name)} AND revoked_at IS NULL RETURNING name`,
    );
    if (revoked.length === 0) {
      console.error(`No live token is named "${options.name}"; nothing was revoked.`);
      process.exitCode = 1;
    } else console.log(`Revoked ${revoked.length} live token(s) named "${options.name}".`);
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
} finally {
  await database?.close();
}
