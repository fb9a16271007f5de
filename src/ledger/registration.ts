/**
 * @module A ledger's registration in the {@link KeyRegistry} (docs/OPERATING.md, "Reprojection"): after its first
 * stored event a ledger adds its job key to the registry, so reprojection finds the job whatever
 * D1 holds. The ledger's safety alarm — armed by every delivery, 30 s later — makes the call, and
 * retries it with backoff until the registry has acknowledged it: not on the delivery's path,
 * where a call to another object per new job would cost throughput (a burst of new jobs is then
 * registered after the burst). A job whose alarm has not run yet is not in the registry, but that
 * alarm also re-sends its summary to D1 if D1 lacks it. The acknowledgement is one row in the
 * ledger's own storage (schema step 6), so a job is registered once, not once per event.
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
