/**
 * @module The runledger server under test, run as a child process by bench/worker-target.mjs:
 * Miniflare serving the bundle `wrangler deploy --dry-run` built, on a socket of its own (wrangler
 * dev's proxy would be the bottleneck, ../shared/TOOLCHAIN.md), state on tmpfs. `entry` picks what
 * that socket is bound to:
 *
 * - `direct`: the user Worker's own entrypoint. Miniflare binds a Worker's direct socket to its
 *   assets RPC proxy whenever the Worker has `assets` (miniflare 4.20260426, `unsafeDirectSockets`
 *   with the default entrypoint), so here the Worker is given no `assets` of its own: its `ASSETS`
 *   binding is a service binding to a second, assets-only worker (`<name>-assets`) that serves
 *   `public/`, and the socket reaches the Worker with nothing in front of it. Only the console's
 *   pages go through `ASSETS`; webhooks, the read API and /healthz never do.
 * - `router`: the socket Miniflare gives the Worker's default entrypoint as configured, i.e. with
 *   `assets` and `run_worker_first`: every request crosses Miniflare's assets RPC proxy and assets
 *   router worker before the Worker (what `npm run bench` measured before both were reported).
 *
 * Everything the Worker is bound to (Durable Objects, D1, queues and their consumers, vars) comes
 * from the project's wrangler config through wrangler's own translation, so a binding added to the
 * config is served here without touching the bench. The D1 migrations of the config are applied
 * and a read-API token is stored before the parent is told the address. The Worker's stdout (one
 * JSON log line per event) is passed through untouched: the parent counts D1 writes from it.
 *
 * Input: env RUNLEDGER_BENCH_SERVER, JSON {configPath, scriptPath, stateDir, envFile, bindings,
 * tokenHash, entry}. Output: one IPC message {url, entry, assets, path}.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Log, LogLevel, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig, unstable_splitSqlQuery } from "wrangler";

const input = JSON.parse(process.env.RUNLEDGER_BENCH_SERVER ?? "{}");
const config = unstable_readConfig({ config: input.configPath });
// `envFiles` points at an empty file so the developer's .dev.vars is neither loaded nor announced;
// the bench's own secrets are given as bindings below.
const { workerOptions } = unstable_getMiniflareWorkerOptions(input.configPath, undefined, {
  envFiles: [input.envFile],
});

const entry = input.entry ?? "direct";
if (entry !== "direct" && entry !== "router") throw new Error(`unknown entry ${JSON.stringify(entry)}`);
const userWorker = {
  ...workerOptions,
  name: config.name,
  modules: true,
  scriptPath: input.scriptPath,
  // Module names are paths relative to this root; the bundle lives outside the project.
  modulesRoot: path.dirname(input.scriptPath),
  bindings: { ...workerOptions.bindings, ...input.bindings },
  unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
};
const assetsWorkerName = `${config.name}-assets`;
/** The workers of the `direct` entry: the user Worker without `assets`, and one serving them. */
function directWorkers() {
  const { assets, ...worker } = userWorker;
  if (assets === undefined) return [worker];
  const binding = assets.binding;
  return [
    {
      ...worker,
      serviceBindings: {
        ...worker.serviceBindings,
        ...(binding ? { [binding]: assetsWorkerName } : {}),
      },
    },
    {
      name: assetsWorkerName,
      compatibilityDate: worker.compatibilityDate,
      modules: true,
      // Only static files: the assets router answers from public/ without a user Worker.
      script: "export default { fetch: () => new Response('not found', { status: 404 }) };",
      assets: { ...assets, routerConfig: { has_user_worker: false } },
    },
  ];
}

const mf = new Miniflare({
  host: "127.0.0.1",
  port: 0,
  defaultPersistRoot: input.stateDir,
  log: new Log(LogLevel.WARN),
  // No fetch of Cloudflare's cf.json: the machine has no internet, and requests need no real cf.
  cf: false,
  // Straight pipes rather than Miniflare's line-by-line console.log: cheaper at thousands of lines/s.
  handleRuntimeStdio(stdout, stderr) {
    stdout.pipe(process.stdout);
    stderr.pipe(process.stderr);
  },
  workers: entry === "direct" ? directWorkers() : [userWorker],
});

async function applyD1Migrations() {
  for (const database of config.d1_databases ?? []) {
    if (!database.migrations_dir) continue;
    const dir = path.resolve(path.dirname(config.configPath), database.migrations_dir);
    const db = await mf.getD1Database(database.binding);
    for (const file of readdirSync(dir)
      .filter((name) => name.endsWith(".sql"))
      .sort()) {
      const statements = unstable_splitSqlQuery(readFileSync(path.join(dir, file), "utf8"));
      await db.batch(statements.map((sql) => db.prepare(sql)));
    }
  }
}

async function storeToken() {
  // As scripts/token.mjs does: only the SHA-256 hash is stored.
  const db = await mf.getD1Database("DB");
  await db
    .prepare(
      "INSERT INTO tokens (token_hash, name, company_id, source, created_at) VALUES (?, ?, NULL, NULL, ?)",
    )
    .bind(input.tokenHash, "bench", new Date().toISOString())
    .run();
}

async function shutdown() {
  await mf.dispose().catch(() => {});
  process.exit(0);
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
process.on("disconnect", shutdown);

try {
  await mf.ready;
  await applyD1Migrations();
  await storeToken();
  const url = await mf.unsafeGetDirectURL(config.name);
  const assets = workerOptions.assets !== undefined;
  process.send({
    url: url.href.replace(/\/$/, ""),
    entry,
    assets,
    // What a request crosses before the Worker, for the report.
    path:
      entry === "router" && assets
        ? "Miniflare's assets RPC proxy and assets router, then the Worker"
        : "the Worker's own entrypoint, nothing in front",
  });
} catch (error) {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  await mf.dispose().catch(() => {});
  process.exit(1);
}
