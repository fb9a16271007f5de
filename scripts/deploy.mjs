#!/usr/bin/env node
// `npm run deploy [-- --config FILE] [-- wrangler deploy options]`: sets up on the Cloudflare account
// whatever the Worker needs and is missing (the D1 database, both queues, the vendors' secrets), then
// applies the remote D1 migrations and runs `wrangler deploy`; it ends with the Worker's URLs, what to
// register with each vendor and an admin token for the console. A re-run creates nothing that exists.
// `--dry-run` prints that plan and builds the bundle, with no account. See docs/DEPLOY.md.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { usageError as oneLineUsageError } from "./cli.mjs";
import {
  ADMIN_TOKEN_NAME,
  createdDatabaseId,
  deployedAddresses,
  deployTargets,
  isPlaceholderId,
  jsonArray,
  newApiToken,
  PLACEHOLDER_DATABASE_ID,
  planSecrets,
  recordDatabaseId,
  registrationLines,
  VENDOR_SECRETS,
} from "./deploy-plan.mjs";
import { ROOT, runWrangler } from "./lib.mjs";

const USAGE = `Usage: npm run deploy [-- --dry-run] [-- --config FILE] [-- wrangler deploy options]
  Creates what the account lacks (the D1 database, whose id it writes into the config; both
  queues; the vendors' secrets: EXTEND_SIGNING_SECRETS and STANDARD_WEBHOOK_SECRETS from the
  environment, ALFRED_WEBHOOK_TOKENS generated), applies the remote D1 migrations, runs
  \`wrangler deploy\`, creates an admin token "${ADMIN_TOKEN_NAME}" and prints the URLs, what to
  register with each vendor and how to open the console. Nothing that exists is changed.
  --dry-run   print the plan and build the bundle: no account, nothing created or uploaded
  --config    the wrangler config (default: wrangler.jsonc)
  Other options are wrangler deploy's (\`npx wrangler deploy --help\`). docs/DEPLOY.md has it all.`;

// biome-ignore lint/suspicious/noControlCharactersInRegex: wrangler colours its errors (ANSI)
const plain = (text) => String(text ?? "").replace(/\u001b\[[0-9;]*m/g, "");
const indent = (text) =>
  plain(text)
    .trimEnd()
    .split("\n")
    .map((line) => `    ${line}`)
    .join("\n");

function usageError(message) {
  oneLineUsageError("deploy", message, "npm run deploy -- --help");
}

function parseArgs(argv) {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(USAGE);
    process.exit(0);
  }
  const forwarded = [];
  let config = path.join(ROOT, "wrangler.jsonc");
  let dryRun = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const inline = /^(?:--config|-c)=(.*)$/.exec(arg);
    if (arg === "--config" || arg === "-c") {
      const value = argv[++i];
      if (value === undefined || value.startsWith("-")) usageError(`${arg} needs a file`);
      config = path.resolve(process.env.INIT_CWD ?? process.cwd(), value);
    } else if (inline) config = path.resolve(process.env.INIT_CWD ?? process.cwd(), inline[1]);
    else if (/^(--env|-e|--name)(=|$)/.test(arg)) {
      usageError(
        `${arg.split("=")[0]}: npm run deploy sets up and deploys the config's top-level Worker only`,
      );
    } else {
      // `--dry-run` in any form (`--dry-run=true` too) never reaches the account.
      if (arg === "--dry-run" || arg.startsWith("--dry-run=")) dryRun = true;
      forwarded.push(arg);
    }
  }
  return { config, dryRun, forwarded };
}

/**
 * The steps' wrangler calls. A failure throws with wrangler's output; an option wrangler does not know
 * (only the build sees the forwarded options) is a usage error, exit 2.
 */
function wrangler(args, options = {}) {
  try {
    return runWrangler([...args, "--config", configPath], { quiet: true, silent: true, ...options });
  } catch (error) {
    const unknown = /Unknown arguments?: ([^\n]+)/.exec(plain(error.output));
    if (unknown && args[0] === "deploy")
      usageError(`unknown option for wrangler deploy: ${unknown[1].trim()}`);
    throw error;
  }
}

/** Runs one step; a failure ends the command with what failed, wrangler's words and what to do. */
function step(label, work) {
  let outcome;
  try {
    outcome = work();
  } catch (error) {
    console.error(`\n✘ ${label}: ${plain(error instanceof Error ? error.message : error)}`);
    if (error?.output) console.error(indent(error.output));
    const hint = hintFor(plain(error?.output));
    if (hint) console.error(`\n${hint}`);
    console.error(
      "\nStopped here; nothing after this step was done. What was created so far stays: fix the cause and run `npm run deploy` again — it creates only what is still missing.",
    );
    process.exit(1);
  }
  console.log(`✓ ${label}: ${outcome}`);
}

function hintFor(output) {
  if (/CLOUDFLARE_API_TOKEN|wrangler login|not logged in/i.test(output)) {
    return "Log in first: `npx wrangler login` (or set CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID).";
  }
  if (/workers\.dev subdomain/i.test(output)) {
    return "The account has no workers.dev subdomain yet: pick one in the dashboard (Workers & Pages), then run again.";
  }
  return null;
}

const { config: configPath, dryRun, forwarded } = parseArgs(process.argv.slice(2));
const configName = configPath.startsWith(`${ROOT}${path.sep}`) ? path.relative(ROOT, configPath) : configPath;
let targets;
try {
  targets = deployTargets(readFileSync(configPath, "utf8"));
} catch (error) {
  console.error(`Cannot read ${configPath}: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
}
const { worker, database, queues } = targets;

if (dryRun) {
  printPlan();
  // The bundle, offline: wrangler's own dry run, with the options given.
  try {
    process.stdout.write(wrangler(["deploy", ...forwarded]));
  } catch (error) {
    process.stderr.write(plain(error.output));
    console.error(error.message);
    process.exit(1);
  }
  process.exit(0);
}

console.log(`Deploying Worker "${worker}" (${configName}); setting up what the account lacks first.`);

// 1. Build with the same options: a mistyped option or a build error stops here, before anything on
//    the account is created or changed.
step("build", () => {
  wrangler(["deploy", "--dry-run", ...forwarded]);
  return "the bundle builds";
});

// 2. The D1 database, looked up by name when the config still has the placeholder id; its id is
//    written into the config, where every `--remote` D1 command (and the next deploy) reads it.
step(`D1 database "${database.name}"`, () => {
  const listed = jsonArray(wrangler(["d1", "list", "--json"]));
  if (!isPlaceholderId(database.id)) {
    if (!listed.some((entry) => entry.uuid === database.id)) {
      throw new Error(
        `${configName} names database_id ${database.id}, which this account does not have (\`npx wrangler d1 list\`). Logged in to the wrong account (\`npx wrangler whoami\`)? To start over, put back ${PLACEHOLDER_DATABASE_ID}.`,
      );
    }
    return `exists (${database.id})`;
  }
  const existing = listed.find((entry) => entry.name === database.name);
  let id = existing?.uuid;
  let how = "exists";
  if (!id) {
    const output = wrangler(["d1", "create", database.name]);
    id = createdDatabaseId(plain(output));
    how = "created";
    if (!id) {
      const error = new Error(
        `wrangler d1 create printed no database id, and ${configName} still has the placeholder database_id ${PLACEHOLDER_DATABASE_ID}: refusing to deploy with it. Run \`npm run deploy\` again (it finds the database by name), or put the id from \`npx wrangler d1 list\` into ${configName}.`,
      );
      error.output = output;
      throw error;
    }
  }
  writeFileSync(configPath, recordDatabaseId(readFileSync(configPath, "utf8"), id));
  database.id = id;
  return `${how} (${id}); its id is now in ${configName} — commit it`;
});

// 3. The queues: the projection queue and its dead-letter queue (wrangler deploy does not create
//    them; it stops on a missing one).
for (const queue of queues) {
  step(`queue "${queue}"`, () => {
    try {
      wrangler(["queues", "info", queue]);
      return "exists";
    } catch (error) {
      if (!/does not exist/i.test(plain(error.output))) throw error;
    }
    wrangler(["queues", "create", queue]);
    return "created";
  });
}

// 4. The vendors' secrets: those the Worker lacks, in one `secret bulk` (values on stdin, never in
//    arguments or logs). Before the first deploy the Worker does not exist yet: `secret bulk` then
//    makes an empty one that the deploy below replaces.
let secrets = [];
step("secrets", () => {
  let names = [];
  try {
    names = jsonArray(wrangler(["secret", "list", "--format", "json"])).map((entry) => entry.name);
  } catch (error) {
    if (!/Worker "[^"]*"[^\n]* not found/i.test(plain(error.output))) throw error;
  }
  secrets = planSecrets(names, process.env);
  const toSet = secrets.filter((secret) => secret.value !== undefined);
  if (toSet.length > 0) {
    const input = JSON.stringify(Object.fromEntries(toSet.map((secret) => [secret.name, secret.value])));
    wrangler(["secret", "bulk"], { input });
  }
  return secrets
    .map((secret) =>
      secret.action === "missing"
        ? `${secret.name} not set (not in the environment)`
        : `${secret.name} ${{ keep: "kept", set: "set from the environment", generate: "generated" }[secret.action]}`,
    )
    .join("; ");
});

// 5. Never deploy against the placeholder: the database binding would name no database.
step("database id", () => {
  const { id } = deployTargets(readFileSync(configPath, "utf8")).database;
  if (isPlaceholderId(id)) {
    throw new Error(
      `${configName} still has the placeholder database_id ${PLACEHOLDER_DATABASE_ID}: refusing to deploy.`,
    );
  }
  return `${id} in ${configName}`;
});

// 6. Remote migrations, then the deploy itself (its output shown as wrangler prints it).
step("D1 migrations (remote)", () => {
  const output = plain(wrangler(["d1", "migrations", "apply", database.binding, "--remote"]));
  return /No migrations to apply/.test(output) ? "none pending" : "applied";
});
let deployOutput = "";
step("wrangler deploy", () => {
  deployOutput = plain(wrangler(["deploy", ...forwarded]));
  console.log(indent(deployOutput));
  return "deployed";
});
const { urls, routes } = deployedAddresses(deployOutput);
const base = urls[0] ?? "https://<your-worker>";

// 7. An admin token for the console, created once (a re-run finds it and shows nothing).
let adminToken = null;
step(`admin token "${ADMIN_TOKEN_NAME}"`, () => {
  const quote = (value) => `'${String(value).replaceAll("'", "''")}'`;
  const live = `SELECT created_at FROM tokens WHERE name = ${quote(ADMIN_TOKEN_NAME)} AND revoked_at IS NULL`;
  const d1 = (sql) =>
    jsonArray(
      wrangler(["d1", "execute", database.binding, "--remote", "--yes", "--json", "--command", sql]),
    )[0]?.results ?? [];
  const [existing] = d1(live);
  if (existing) {
    return `exists since ${existing.created_at}; not shown again (make another: npm run token -- create --name NAME --admin --remote)`;
  }
  const { token, hash } = newApiToken();
  const inserted = d1(
    `INSERT INTO tokens (token_hash, name, company_id, source, created_at, admin) SELECT ${quote(hash)}, ${quote(ADMIN_TOKEN_NAME)}, NULL, NULL, ${quote(new Date().toISOString())}, 1 WHERE NOT EXISTS (${live}) RETURNING name`,
  );
  if (inserted.length === 0) return "another run created it just now; not shown here";
  adminToken = token;
  return "created (shown once, below)";
});

console.log(
  `\nThe Worker answers at:\n${[...urls, ...routes.map((route) => `${route} (route)`)].map((u) => `  ${u}`).join("\n") || "  (no workers.dev URL or route: add a route or custom domain)"}`,
);
console.log(`\nRegister with each vendor (docs/DEPLOY.md, "Registering with the vendors"):`);
for (const line of registrationLines(base, secrets)) console.log(`  ${line}`);
console.log(
  `\nConsole: ${base}/ — sign in with an admin or read token (paste it into the form, or open ${base}/#token=<token>).`,
);
if (adminToken) {
  console.log(`Admin token "${ADMIN_TOKEN_NAME}" (stored only as a hash; this is the one time it is shown):`);
  console.log(adminToken);
} else {
  console.log(
    `No new admin token: "${ADMIN_TOKEN_NAME}" exists. Another: npm run token -- create --name NAME --admin --remote`,
  );
}

function printPlan() {
  const placeholder = isPlaceholderId(database.id);
  const lines = [
    `Plan for Worker "${worker}" (${configName}) — --dry-run: no account is used; nothing is created, set or uploaded.`,
    "  1. build the bundle (wrangler deploy --dry-run; its output is below)",
    placeholder
      ? `  2. D1 database "${database.name}": the config has the placeholder id, so look it up by name (wrangler d1 list --json), create it if absent (wrangler d1 create ${database.name}) and write its id into ${configName}`
      : `  2. D1 database "${database.name}": check that id ${database.id} is on the account (wrangler d1 list --json)`,
    `  3. queues ${queues.join(", ")}: create each one that is absent (wrangler queues info / queues create)`,
    `  4. secrets of Worker "${worker}" that it lacks (wrangler secret list, then one wrangler secret bulk; an existing one is never overwritten):`,
    ...VENDOR_SECRETS.map((secret) => {
      const inEnv = Boolean(process.env[secret.name]?.trim());
      const source = inEnv
        ? "from the environment (set here)"
        : secret.origin === "generated"
          ? "generated (random, URL-safe; the URL to register is printed once)"
          : `not in the environment: left unset, so ${secret.refusal}`;
      return `       ${secret.name}: ${source}`;
    }),
    `  5. refuse to go on if the database id is still the placeholder ${PLACEHOLDER_DATABASE_ID}`,
    `  6. wrangler d1 migrations apply ${database.binding} --remote, then wrangler deploy${forwarded.length > 1 ? ` ${forwarded.filter((arg) => !arg.startsWith("--dry-run")).join(" ")}` : ""}`,
    `  7. admin token "${ADMIN_TOKEN_NAME}" in the deployed database, unless one exists (printed once)`,
    "  8. print the Worker's URLs, what to register with each vendor, and the console's address",
    "",
  ];
  console.log(lines.join("\n"));
}
