/**
 * @module KeyRegistry — the list of every job key that has a ledger with something stored, so
 * reprojection (docs/OPERATING.md, "Reprojection") can find every job even when D1 is wrong: rows deleted,
 * corrupted or never written, and so a read of a key that was never written is answered 404
 * without creating its ledger (src/api/known-jobs.ts). It lives in Durable Objects of its own, not
 * in D1, because D1 is the projection it must be able to rebuild. Each ledger registers its key
 * once, before its first write (see `LedgerRegistration`), so the cost is one write per job, never
 * one per event.
 *
 * The keys are spread over {@link REGISTRY_SHARDS} objects by a hash of the key, so a burst of new
 * jobs is shared by many single-threaded objects instead of queued at one. A walk reads the shards
 * in order, each in key order, from an opaque cursor.
 */
import { DurableObject } from "cloudflare:workers";

/**
 * How many objects hold the registry. Fixed: a key's shard is a function of this number, so changing
 * it would need the keys moved. Sixteen SQLite objects take well over 10,000 new jobs per second.
 */
export const REGISTRY_SHARDS = 16;

/** The shard a job key is registered in: FNV-1a of its UTF-16 code units, modulo the shard count. */
export function shardOf(jobKey: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < jobKey.length; i++) {
    hash ^= jobKey.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % REGISTRY_SHARDS;
}

/** The object holding shard `shard`. */
export function registryShard(env: Pick<Env, "REGISTRY">, shard: number): DurableObjectStub<KeyRegistry> {
  return env.REGISTRY.get(env.REGISTRY.idFromName(`shard-${shard}`));
}

/** What a ledger needs of the registry: the seam through which tests make it fail. */
export interface KeyRegistrar {
  register(jobKey: string): Promise<void>;
}

/** Whether `jobKey` is registered, asked of its own shard. */
export function isRegistered(env: Pick<Env, "REGISTRY">, jobKey: string): Promise<boolean> {
  return registryShard(env, shardOf(jobKey)).has(jobKey);
}

/** Registers in the key's own shard. */
export function shardedRegistrar(env: Pick<Env, "REGISTRY">): KeyRegistrar {
  return { register: (jobKey) => registryShard(env, shardOf(jobKey)).register(jobKey) };
}

export class KeyRegistry extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS job_keys (job_key TEXT PRIMARY KEY, registered_at INTEGER NOT NULL) WITHOUT ROWID",
    );
  }

  /** Adds a key; registering it again changes nothing, so a ledger may retry freely. */
  async register(jobKey: string): Promise<void> {
    this.sql.exec(
      "INSERT INTO job_keys (job_key, registered_at) VALUES (?, ?) ON CONFLICT (job_key) DO NOTHING",
      jobKey,
      Date.now(),
    );
  }

  /** Whether a key is registered: its ledger has written something (src/api/known-jobs.ts). */
  async has(jobKey: string): Promise<boolean> {
    return this.sql.exec("SELECT 1 FROM job_keys WHERE job_key = ?", jobKey).toArray().length > 0;
  }

  /** Adds many keys (seeding from D1, see {@link registerKeys}); returns how many were new. */
  async registerMany(jobKeys: string[]): Promise<number> {
    let added = 0;
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      for (const jobKey of jobKeys) {
        added += this.sql.exec(
          "INSERT INTO job_keys (job_key, registered_at) VALUES (?, ?) ON CONFLICT (job_key) DO NOTHING",
          jobKey,
          now,
        ).rowsWritten;
      }
    });
    return added;
  }

  /** Up to `limit` keys after `after` (all when empty), in key order. */
  async keysAfter(after: string, limit: number): Promise<string[]> {
    return this.sql
      .exec<{ job_key: string }>(
        "SELECT job_key FROM job_keys WHERE job_key > ? ORDER BY job_key LIMIT ?",
        after,
        limit,
      )
      .toArray()
      .map((row) => row.job_key);
  }

  /** How many keys this shard holds. */
  async count(): Promise<number> {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM job_keys").one().n;
  }
}

/** Where a walk stands: the shard it is in and the last key it returned there ("" for none yet). */
export interface RegistryPosition {
  shard: number;
  after: string;
}

/**
 * The next `limit` registered keys from `position`, across shards in order, and where the walk
 * goes on (null once the last shard is done). Each shard is asked for one key more than it may
 * give, so the walk knows whether it is done without an empty last page.
 */
export async function registryPage(
  env: Pick<Env, "REGISTRY">,
  position: RegistryPosition,
  limit: number,
): Promise<{ keys: string[]; next: RegistryPosition | null }> {
  const keys: string[] = [];
  let { shard, after } = position;
  while (shard < REGISTRY_SHARDS) {
    const room = limit - keys.length;
    const found = await registryShard(env, shard).keysAfter(after, room + 1);
    keys.push(...found.slice(0, room));
    if (found.length > room) return { keys, next: { shard, after: keys.at(-1) ?? after } };
    shard++;
    after = "";
    if (keys.length === limit) break;
  }
  return { keys, next: shard < REGISTRY_SHARDS ? { shard, after } : null };
}

/** How many keys the registry holds in all (one count per shard): the walk's progress denominator. */
export async function registryTotal(env: Pick<Env, "REGISTRY">): Promise<number> {
  const counts = await Promise.all(
    Array.from({ length: REGISTRY_SHARDS }, (_, shard) => registryShard(env, shard).count()),
  );
  return counts.reduce((sum, n) => sum + n, 0);
}

/**
 * Registers keys found in D1 — for ledgers that stored their events before the registry existed and
 * so never registered (D1 is the only place their keys are written down: a Durable Object's id is a
 * one-way hash of its name). Returns how many keys were new to the registry.
 */
export async function registerKeys(env: Pick<Env, "REGISTRY">, jobKeys: readonly string[]): Promise<number> {
  const byShard = new Map<number, string[]>();
  for (const key of jobKeys) byShard.set(shardOf(key), [...(byShard.get(shardOf(key)) ?? []), key]);
  const added = await Promise.all(
    [...byShard].map(([shard, keys]) => registryShard(env, shard).registerMany(keys)),
  );
  return added.reduce((sum, n) => sum + n, 0);
}
