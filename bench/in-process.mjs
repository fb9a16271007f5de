/**
 * @module runledger in this process, for the benches that need more than HTTP (bench/sync.mjs
 * seeds D1 directly; bench/profile.mjs attaches to workerd's inspector): the `wrangler deploy
 * --dry-run` bundle under Miniflare with a direct socket to the Worker, its bindings from the
 * wrangler config, state on tmpfs, D1 migrated. bench/worker-server.mjs does the same in a child
 * process for the load benches.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Log, LogLevel, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig, unstable_splitSqlQuery } from "wrangler";
import { buildWorkerBundle, wranglerConfigPath } from "./worker-target.mjs";

export const ROOT = path.resolve(import.meta.dirname, "..");

function tmpfs() {
  try {
    readdirSync("/dev/shm");
    return "/dev/shm";
  } catch {
    return os.tmpdir();
  }
}

/**
 * Starts the Worker with `secrets` as bindings (and Miniflare options such as `inspectorPort`).
 * Resolves with its URL, its D1 database, and `dispose()`, which also removes its state.
 */
export async function startInProcess({ secrets, options = {} }) {
  const work = mkdtempSync(path.join(tmpfs(), "runledger-bench-"));
  const configPath = wranglerConfigPath(ROOT);
  const config = unstable_readConfig({ config: configPath });
  const scriptPath = buildWorkerBundle(ROOT, path.join(work, "bundle"));
  // An empty env file: the developer's .dev.vars is neither loaded nor announced.
  const envFile = path.join(work, "empty.env");
  writeFileSync(envFile, "");
  const { workerOptions } = unstable_getMiniflareWorkerOptions(configPath, undefined, {
    envFiles: [envFile],
  });
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    defaultPersistRoot: path.join(work, "state"),
    log: new Log(LogLevel.WARN),
    cf: false,
    handleRuntimeStdio(stdout, stderr) {
      stdout.resume();
      stderr.resume();
    },
    ...options,
    workers: [
      {
        ...workerOptions,
        name: config.name,
        modules: true,
        scriptPath,
        modulesRoot: path.dirname(scriptPath),
        bindings: { ...workerOptions.bindings, ...secrets },
        unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
      },
    ],
  });
  await mf.ready;
  const url = (await mf.unsafeGetDirectURL(config.name)).toString().replace(/\/$/, "");
  const db = await mf.getD1Database("DB");
  const migrations = path.join(ROOT, "migrations");
  for (const file of readdirSync(migrations)
    .filter((name) => name.endsWith(".sql"))
    .sort()) {
    const statements = unstable_splitSqlQuery(readFileSync(path.join(migrations, file), "utf8"));
    await db.batch(statements.map((sql) => db.prepare(sql)));
  }
  return {
    url,
    db,
    name: config.name,
    dispose: async () => {
      await mf.dispose().catch(() => undefined);
      rmSync(work, { recursive: true, force: true });
    },
  };
}
