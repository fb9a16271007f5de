// Shared by the project's Node scripts: where wrangler is, the environment it runs with, .dev.vars.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { newStandardSecret } from "./standard-signature.mjs";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const DEV_VARS = path.join(ROOT, ".dev.vars");
const WRANGLER = path.join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");

/** No telemetry, no cf.json fetch, never a prompt (see ../shared/TOOLCHAIN.md "Pitfalls"). */
export function wranglerEnv(extra = {}) {
  return {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    ...extra,
  };
}

/** Runs wrangler to completion; stdin is ignored so it can never wait on a prompt. */
export function runWrangler(args, { quiet = false } = {}) {
  let result;
  // Local D1 is one SQLite file: a running dev server or another command writing to it at the same
  // moment makes a write fail with SQLITE_BUSY. Such a failure is retried a few times.
  for (let attempt = 1; ; attempt++) {
    result = spawnSync(process.execPath, [WRANGLER, ...args], {
      cwd: ROOT,
      env: wranglerEnv({ CI: "true" }),
      stdio: ["ignore", "pipe", "pipe"],
      encoding: "utf8",
    });
    const busy =
      result.status !== 0 && /SQLITE_BUSY|database is locked/i.test(`${result.stdout}${result.stderr}`);
    if (!busy || attempt >= 5) break;
    spawnSync("sleep", [String(0.2 * attempt)]);
  }
  if (!quiet) {
    process.stdout.write(result.stdout ?? "");
    process.stderr.write(result.stderr ?? "");
  }
  if (result.status !== 0) {
    if (quiet) process.stderr.write(`${result.stdout ?? ""}${result.stderr ?? ""}`);
    throw new Error(`wrangler ${args.slice(0, 3).join(" ")} failed (exit ${result.status})`);
  }
  return result.stdout ?? "";
}

export function spawnWrangler(args) {
  return spawn(process.execPath, [WRANGLER, ...args], { cwd: ROOT, env: wranglerEnv(), stdio: "inherit" });
}

const quote = (value) =>
  value === undefined || value === null ? "NULL" : `'${String(value).replaceAll("'", "''")}'`;

/**
 * Stores a new read-API token — only its SHA-256 hash — in D1 (`where`: `["--local"]`,
 * `["--local", "--persist-to", DIR]` or `["--remote"]`) and returns the token.
 */
export function createToken({ name, company, source, admin = false }, where) {
  const token = `rl_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url")}`;
  const hash = createHash("sha256").update(token).digest("hex");
  const values = [hash, name, company, source, new Date().toISOString()].map(quote).join(", ");
  runWrangler(
    [
      "d1",
      "execute",
      "DB",
      ...where,
      "--yes",
      "--json",
      "--command",
      `INSERT INTO tokens (token_hash, name, company_id, source, created_at, admin) VALUES (${values}, ${admin ? 1 : 0})`,
    ],
    { quiet: true },
  );
  return token;
}

/** `wrangler d1 migrations apply` asks "continue?" unless CI is set; runWrangler sets it. */
export function applyMigrations(where, options) {
  runWrangler(["d1", "migrations", "apply", "DB", ...[where].flat()], options);
}

function randomHex(bytes) {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");
}

/**
 * Creates .dev.vars with fresh development secrets when it is absent, and adds a Standard Webhooks
 * secret to one made before that vendor existed. Returns what it did ("created", "added
 * STANDARD_WEBHOOK_SECRETS"), or null when the file was complete.
 */
export function ensureDevVars() {
  if (existsSync(DEV_VARS)) {
    if (readDevVars().STANDARD_WEBHOOK_SECRETS !== undefined) return null;
    appendFileSync(DEV_VARS, `\nSTANDARD_WEBHOOK_SECRETS=${newStandardSecret()}\n`);
    return "added STANDARD_WEBHOOK_SECRETS";
  }
  const lines = [
    "# Local development secrets, created by `npm start` (git-ignored). Names: CONTRACT §2, README.",
    `EXTEND_SIGNING_SECRETS=wss_dev_${randomHex(24)}`,
    `ALFRED_WEBHOOK_TOKENS=${randomHex(24)}`,
    "ALFRED_COMPANY_IDS=",
    `STANDARD_WEBHOOK_SECRETS=${newStandardSecret()}`,
    "",
  ];
  writeFileSync(DEV_VARS, lines.join("\n"), { mode: 0o600 });
  return "created";
}

/** Reads KEY=VALUE lines of .dev.vars, or of another env file (quotes stripped). */
export function readDevVars(file = DEV_VARS) {
  if (!existsSync(file)) return {};
  const vars = {};
  for (const line of readFileSync(file, "utf8").split(/\r?\n/)) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (match) vars[match[1]] = match[2].replace(/^(["'])(.*)\1$/, "$2");
  }
  return vars;
}

/**
 * The vendors' source names, read from the registry's entries (src/vendors/registry.ts, one
 * `name: adapter,` line each): the scripts cannot import the TypeScript registry itself.
 */
export function vendorSources() {
  const registry = readFileSync(path.join(ROOT, "src", "vendors", "registry.ts"), "utf8");
  const entries = /registry\(\{([^}]*)\}\)/.exec(registry)?.[1] ?? "";
  return [...entries.matchAll(/^\s*"?([\w-]+)"?\s*:/gm)].map((match) => match[1]).sort();
}

/** "a, b or c". */
export function oneOf(items) {
  return items.length < 2 ? items.join("") : `${items.slice(0, -1).join(", ")} or ${items.at(-1)}`;
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}
