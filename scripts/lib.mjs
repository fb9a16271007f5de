// Shared by the project's Node scripts: where wrangler is, the environment it runs with, .dev.vars.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { newStandardSecret } from "./standard-signature.mjs";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const DEV_VARS = path.join(ROOT, ".dev.vars");
const WRANGLER = path.join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");

/**
 * The wrangler the scripts run: the project's own (node_modules), unless `RUNLEDGER_WRANGLER` names
 * another executable — a command looked up on PATH, or a path. The deploy tests point it at a fake
 * (scripts/fixtures/fake-wrangler.mjs); docs/DEPLOY.md describes it.
 */
function wranglerCommand(args) {
  const override = process.env.RUNLEDGER_WRANGLER;
  return override ? [override, args] : [process.execPath, [WRANGLER, ...args]];
}

/** No telemetry, no cf.json fetch, never a prompt (see ../shared/TOOLCHAIN.md "Pitfalls"). */
export function wranglerEnv(extra = {}) {
  return {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    ...extra,
  };
}

/**
 * Runs wrangler to completion; stdin is ignored so it can never wait on a prompt. `quiet` keeps
 * its output unless it fails; `silent` keeps it even then (the thrown error carries it as `output`).
 */
export function runWrangler(args, { quiet = false, silent = false, input } = {}) {
  let result;
  // Local D1 is one SQLite file: a running dev server or another command writing to it at the same
  // moment makes a write fail with SQLITE_BUSY. Such a failure is retried a few times.
  for (let attempt = 1; ; attempt++) {
    result = spawnSync(...wranglerCommand(args), {
      cwd: ROOT,
      env: wranglerEnv({ CI: "true" }),
      // `input` (e.g. `secret bulk`'s JSON) is wrangler's stdin; without it stdin is closed.
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      input,
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
    if (quiet && !silent) process.stderr.write(`${result.stdout ?? ""}${result.stderr ?? ""}`);
    const error = new Error(`wrangler ${args.slice(0, 3).join(" ")} failed (exit ${result.status})`);
    error.output = `${result.stdout ?? ""}${result.stderr ?? ""}`;
    throw error;
  }
  return result.stdout ?? "";
}

export function spawnWrangler(args) {
  return spawn(...wranglerCommand(args), { cwd: ROOT, env: wranglerEnv(), stdio: "inherit" });
}

/**
 * wrangler.jsonc as data. Comments and trailing commas are dropped outside strings; a reader of our
 * own, because importing wrangler to read it costs ~0.9 s — more than a whole token command.
 */
export function readWranglerConfig(file = path.join(ROOT, "wrangler.jsonc")) {
  return parseJsonc(readFileSync(file, "utf8"));
}

/** JSONC text as data (see readWranglerConfig). */
export function parseJsonc(text) {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
      out += text.slice(start, i + 1);
    } else if (char === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (char === "/" && text[i + 1] === "*") {
      i = text.indexOf("*/", i + 2) + 1;
      if (i === 0) break;
    } else if (char === "}" || char === "]") {
      // A trailing comma: what `out` ends with here is outside any string, so it is JSONC's.
      out = `${out.replace(/,\s*$/, "")}${char}`;
    } else out += char;
  }
  return JSON.parse(out);
}

/** The `DB` binding's local database: its id (as `wrangler d1 execute --local` picks it) and migrations. */
function localDatabaseInfo() {
  const config = readWranglerConfig();
  const database = (config.d1_databases ?? []).find((entry) => entry.binding === "DB");
  if (!database) throw new Error("wrangler.jsonc has no D1 database bound as DB.");
  return {
    id: database.preview_database_id ?? database.database_id,
    migrationsDir: path.join(ROOT, database.migrations_dir ?? "migrations"),
    migrationsTable: database.migrations_table ?? "d1_migrations",
  };
}

const BUSY = /SQLITE_BUSY|database is locked/i;

/**
 * Local D1 — the state `npm start` serves (`.wrangler/state`, or `persistTo`) — opened in this
 * process through Miniflare, exactly as `wrangler d1 execute --local` does inside (same Miniflare,
 * same persist path `<state>/v3/d1`, same database id), without the ~1–2 s of starting wrangler's
 * CLI for each statement. workerd opens the SQLite file through SQLite's own unix VFS (POSIX locks,
 * WAL), so a running dev server and this process share it as any two SQLite processes do.
 *
 * SQLite then answers SQLITE_BUSY when the other process holds the lock it needs, and workerd sets
 * no busy timeout (D1 refuses `PRAGMA busy_timeout`). It surfaces in two ways: a D1 error naming
 * it, or — measured while a dev server took ~40–60 events/s — an "internal error" whose cause workerd
 * writes only to its stderr, after which the database object may be broken. Both are retried (the
 * second on a fresh Miniflare); a failed statement has been rolled back, so a retry applies once.
 *
 * @example
 *   const local = await openLocalD1(persistTo);
 *   try { rows = await local.query("SELECT name FROM tokens WHERE name = ?", "ci"); }
 *   finally { await local.close(); }
 */
export async function openLocalD1(persistTo) {
  const { Miniflare } = await import("miniflare");
  const { id, migrationsDir, migrationsTable } = localDatabaseInfo();
  const state = persistTo ? path.resolve(ROOT, persistTo) : path.join(ROOT, ".wrangler", "state");
  let runtimeErrors = "";
  let mf;
  let db;
  /**
   * Two processes starting Miniflare on one fresh state at once (`npm start` and `npm run token`,
   * two token commands) sometimes see workerd fail to start ("The Workers runtime failed to
   * start"): both create the state's files. Starting again once the other has is enough.
   */
  async function open() {
    for (let attempt = 1; ; attempt++) {
      try {
        return await openOnce();
      } catch (error) {
        if (error?.code !== "ERR_RUNTIME_FAILURE" || attempt >= 5) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  }
  async function openOnce() {
    mf = new Miniflare({
      modules: true,
      script: "",
      d1Persist: path.join(state, "v3", "d1"),
      d1Databases: { DB: id },
      handleRuntimeStdio(stdout, stderr) {
        stdout.resume();
        stderr.on("data", (chunk) => {
          runtimeErrors += chunk;
        });
      },
    });
    try {
      db = await mf.getD1Database("DB");
    } catch (error) {
      await mf.dispose();
      throw error;
    }
  }
  /** Runs `work(db)`, retrying while SQLite is busy (see above). */
  async function retried(work) {
    for (let attempt = 1; ; attempt++) {
      runtimeErrors = "";
      try {
        return await work(db);
      } catch (error) {
        const message = String(error?.message ?? error);
        const busy = BUSY.test(message);
        const brokenByBusy = !busy && /internal error/i.test(message) && BUSY.test(runtimeErrors);
        if (!(busy || brokenByBusy) || attempt >= 10) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
        if (brokenByBusy) {
          await mf.dispose();
          await open();
        }
      }
    }
  }
  async function query(sql, ...params) {
    return retried(
      async (d1) =>
        (
          await d1
            .prepare(sql)
            .bind(...params)
            .all()
        ).results,
    );
  }
  /** Migration files not yet recorded in the migrations table (wrangler's rule: `*.sql`, sorted). */
  async function pendingMigrations() {
    const files = readdirSync(migrationsDir)
      .filter((name) => name.endsWith(".sql"))
      .sort();
    let applied = [];
    try {
      applied = (await query(`SELECT name FROM ${migrationsTable}`)).map((row) => row.name);
    } catch (error) {
      if (!/no such table/i.test(String(error?.message ?? error))) throw error;
    }
    return files.filter((name) => !applied.includes(name));
  }
  /**
   * Applies the pending migrations as `wrangler d1 migrations apply --local` does — each file's
   * statements (split by wrangler's own SQL splitter) and its row in the migrations table in one
   * batch — without starting wrangler's CLI (about 2.7 s, on the path to `npm start`'s readiness).
   * Two appliers at once (`npm start` and `npm run token`) cannot both apply a file: the loser's
   * batch fails on the migrations table's unique name or an existing table, rolls back, and it
   * reads what is pending again. Returns the names it applied.
   */
  async function applyPendingMigrations() {
    let pending = await pendingMigrations();
    if (pending.length === 0) return [];
    const { unstable_splitSqlQuery: splitSql } = await import("wrangler");
    await query(
      `CREATE TABLE IF NOT EXISTS ${migrationsTable} (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)`,
    );
    const applied = [];
    for (let rounds = 0; pending.length > 0; rounds++) {
      const [name] = pending;
      const statements = splitSql(readFileSync(path.join(migrationsDir, name), "utf8"));
      try {
        await retried((d1) =>
          d1.batch([
            ...statements.map((statement) => d1.prepare(statement)),
            d1.prepare(`INSERT INTO ${migrationsTable} (name) VALUES (?)`).bind(name),
          ]),
        );
        applied.push(name);
      } catch (error) {
        if (rounds > pending.length + 10) throw error;
        const now = await pendingMigrations();
        if (now.includes(name)) throw error;
      }
      pending = await pendingMigrations();
    }
    return applied;
  }
  await open();
  return { query, pendingMigrations, applyPendingMigrations, close: () => mf.dispose() };
}

/** Applies the pending migrations to local D1 (`persistTo`, or `.wrangler/state`); returns their names. */
export async function applyLocalMigrations(persistTo) {
  const local = await openLocalD1(persistTo);
  try {
    return await local.applyPendingMigrations();
  } finally {
    await local.close();
  }
}

/** `wrangler d1 migrations apply` asks "continue?" unless CI is set; runWrangler sets it. */
export function applyMigrations(where, options) {
  runWrangler(["d1", "migrations", "apply", "DB", ...[where].flat()], options);
}

function randomHex(bytes) {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");
}

/**
 * Creates .dev.vars with fresh development secrets when it is absent; an existing one is never
 * changed (it may be the operator's or a test harness's own). Returns "created", a hint when an
 * existing file lacks the Standard Webhooks secret (that endpoint then refuses every delivery), or
 * null.
 */
export function ensureDevVars() {
  if (existsSync(DEV_VARS)) {
    if (readDevVars().STANDARD_WEBHOOK_SECRETS !== undefined) return null;
    return `has no STANDARD_WEBHOOK_SECRETS, so /webhooks/standard refuses every delivery; add one, e.g. STANDARD_WEBHOOK_SECRETS=${newStandardSecret()}`;
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
 * The vendors' source names: the `SOURCES` list of the neutral vocabulary
 * (src/core/vocabulary.ts, which the compiler holds to the vendor registry), read as data — the
 * scripts run on Node 20, which cannot import TypeScript.
 */
export function vendorSources() {
  const vocabulary = readFileSync(path.join(ROOT, "src", "core", "vocabulary.ts"), "utf8");
  const list = /export const SOURCES = (\[[^\]]*\]) as const;/.exec(vocabulary)?.[1];
  if (list === undefined) throw new Error("src/core/vocabulary.ts has no SOURCES list");
  return JSON.parse(list).sort();
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
