#!/usr/bin/env node
// `npm start [-- wrangler dev options]`: creates .dev.vars if absent, applies local D1 migrations,
// then runs `wrangler dev` on 127.0.0.1:8787. Options given after `--` override those defaults
// (`npm start -- --port 9000`); npm appends them here rather than to a chained script.
import { spawn } from "node:child_process";
import path from "node:path";
import { usageError } from "./cli.mjs";
import {
  applyLocalMigrations,
  DEV_VARS,
  ensureDevVars,
  freePort,
  ROOT,
  readDevVars,
  spawnWrangler,
} from "./lib.mjs";

const forwarded = process.argv.slice(2);
if (forwarded.includes("--help") || forwarded.includes("-h")) {
  console.log(`Usage: npm start [-- wrangler dev options]
  Creates .dev.vars with development secrets if absent, applies local D1 migrations, then runs
  \`wrangler dev\` on 127.0.0.1:8787 and prints the console link, the webhook URLs and a next step.
  The console link carries a read token named "console": each start makes a new one and revokes
  the one before (\`npm run token -- list\` shows it).
  Options are wrangler dev's and override those defaults: --port 9000, --persist-to DIR,
  --env-file FILE (\`npx wrangler dev --help\` lists them all; wrangler refuses unknown ones).`);
  process.exit(0);
}
const has = (flag) => forwarded.some((arg) => arg === flag || arg.startsWith(`${flag}=`));
/** The value of a forwarded option (`--flag value` or `--flag=value`), if given. */
function optionValue(flag) {
  const at = forwarded.findIndex((arg) => arg === flag || arg.startsWith(`${flag}=`));
  if (at === -1) return undefined;
  const arg = forwarded[at];
  return arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : forwarded[at + 1];
}

// wrangler dev does not apply D1 migrations: they are applied below to the state it will serve.
const persistTo = optionValue("--persist-to");
if (has("--persist-to") && (!persistTo || persistTo.startsWith("-")))
  usageError("start", "--persist-to needs a directory", "npm start -- --help");

// With --env-file, wrangler reads secrets from there; otherwise .dev.vars, created if absent.
const devVars = has("--env-file") ? null : ensureDevVars();
if (devVars === "created") {
  console.log(
    `Created ${DEV_VARS} with development secrets (EXTEND_SIGNING_SECRETS, ALFRED_WEBHOOK_TOKENS, STANDARD_WEBHOOK_SECRETS).`,
  );
} else if (devVars !== null) {
  console.log(`${DEV_VARS} ${devVars}`);
}
try {
  const applied = await applyLocalMigrations(persistTo);
  console.log(
    applied.length > 0
      ? `Local D1: applied migrations ${applied.join(", ")}.`
      : "Local D1: migrations up to date.",
  );
} catch (error) {
  console.error(`Could not apply the local D1 migrations: ${error?.message ?? error}`);
  process.exit(1);
}

const defaults = [];
if (!has("--ip")) defaults.push("--ip", "127.0.0.1");
if (!has("--port")) defaults.push("--port", "8787");
if (!has("--show-interactive-dev-session")) defaults.push("--show-interactive-dev-session=false");
// wrangler dev's devtools inspector defaults to 127.0.0.1:9229, so a second dev server on this
// machine (another port, another checkout, a test) would fail or hang on it: take a free one.
if (!has("--inspector-port")) defaults.push("--inspector-port", String(await freePort()));
if (!has("--inspector-ip")) defaults.push("--inspector-ip", "127.0.0.1");

const child = spawnWrangler(["dev", ...defaults, ...forwarded]);
announce().catch((error) => console.error(`(could not print the console link: ${error.message})`));
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
// If whoever started us goes away without a signal reaching us (npm does not always forward it),
// take the dev server down too rather than leave it holding the port.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) child.kill("SIGTERM");
}, 1000).unref();

/**
 * Once the server answers: the console's link with a fresh read token in its fragment (the
 * fragment never reaches the server), the vendors' webhook URLs, and a next command to try.
 */
async function announce() {
  const host = optionValue("--ip") ?? "127.0.0.1";
  const base = `http://${host}:${optionValue("--port") ?? "8787"}`;
  const until = Date.now() + 120_000;
  for (;;) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > until || child.exitCode !== null) return;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  const token = await createConsoleToken();
  const secrets = readDevVars(optionValue("--env-file") ?? DEV_VARS);
  const alfredToken = (secrets.ALFRED_WEBHOOK_TOKENS ?? "").split(",")[0]?.trim();
  console.log(
    [
      "",
      "runledger is running.",
      token
        ? `  Console:          ${base}/#token=${token}`
        : `  Console:          ${base}/ (create a token: npm run token -- create --name me)`,
      `  Extend webhook:   ${base}/webhooks/extend`,
      `  Alfred webhook:   ${base}/webhooks/alfred/${alfredToken || "<a token from ALFRED_WEBHOOK_TOKENS>"}`,
      `  Standard webhook: ${base}/webhooks/standard`,
      "  Try next:         npm run send -- extend classify_run.failed",
      "",
    ].join("\n"),
  );
}

/**
 * A fresh read token for the console link, made once the server answers — off the path to
 * readiness, which must stay short — by `npm run token` in a child process (its writes to local D1
 * retry if the running server holds the database at that moment). One such token is live at a
 * time: it is named `console`, and `--replace` revokes the one the previous start made (and the
 * `console-<time>` ones of earlier versions) once the new one is stored. Null if it cannot be made.
 */
function createConsoleToken() {
  const args = [
    path.join(ROOT, "scripts", "token.mjs"),
    "create",
    "--name",
    "console",
    "--replace",
    ...(persistTo ? ["--persist-to", persistTo] : []),
  ];
  return new Promise((resolve) => {
    const maker = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "ignore"] });
    let stdout = "";
    maker.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    maker.on("error", () => resolve(null));
    maker.on("close", (code) => resolve(code === 0 ? (stdout.trimEnd().split("\n").at(-1) ?? null) : null));
  });
}
