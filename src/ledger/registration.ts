/**
 * @module A ledger's registration in the {@link KeyRegistry} (docs/OPERATING.md, "Reprojection"): before its
 * first write (its first event, or the row a file link gives it) a ledger adds its job key to the
 * registry, so reprojection finds the job whatever D1 holds, and a read of a key finds out whether
 * it was ever written without creating its ledger (src/api/known-jobs.ts): D1 alone lags the
 * ledger by up to ~2 s, and a job must be readable as soon as its first event is answered
 * (CONTRACT §3.3). It costs the first delivery of each job one call to a registry shard (BENCHMARKS.md);
 * a failed call fails that delivery (503) before anything is stored, so the vendor retries. The
 * safety alarm still registers a ledger written before registration came first. The
 * acknowledgement is one row in the ledger's own storage (schema step 6), so a job is registered
 * once, not once per event.
 */
import { withDeadline } from "../deadline";
import type { KeyRegistrar } from "../registry/key-registry";

/** How long one registration call may take before it counts as failed (the alarm retries). */
export const REGISTER_MS = 10_000;

export class LedgerRegistration {
  /** Whether the registry has acknowledged this job (undefined: not read yet). */
  private acknowledged: boolean | undefined;
  /** The attempt in flight, so a burst of deliveries makes one call, not one each. */
  private inFlight: Promise<void> | null = null;

  private readonly sql: SqlStorage;
  /** Where the key is registered: the seam through which tests make the registry fail. */
  registrar: KeyRegistrar;

  constructor(sql: SqlStorage, registrar: KeyRegistrar) {
    this.sql = sql;
    this.registrar = registrar;
  }

  /** Tells what storage holds without reading it (a new object: nothing acknowledged). */
  known(acknowledged: boolean): void {
    this.acknowledged = acknowledged;
  }

  /** Whether the key still has to be registered. */
  pending(): boolean {
    this.acknowledged ??= this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM registry_ack").one().n > 0;
    return !this.acknowledged;
  }

  /** Registers `jobKey` unless already acknowledged; rejects if the registry does not answer. */
  ensure(jobKey: string): Promise<void> {
    if (!this.pending()) return Promise.resolve();
    this.inFlight ??= (async () => {
      try {
        await withDeadline(this.registrar.register(jobKey), REGISTER_MS, "the key registration");
        this.sql.exec(
          "INSERT INTO registry_ack (singleton, registered_at) VALUES (1, ?) ON CONFLICT DO NOTHING",
          Date.now(),
        );
        this.acknowledged = true;
      } finally {
        this.inFlight = null;
      }
    })();
    return this.inFlight;
  }
}
