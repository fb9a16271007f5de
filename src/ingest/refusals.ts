/**
 * @module Refused deliveries, counted without a write each (CONTRACT §10: `refused` by error code,
 * nothing of them stored). A flood of forged requests must not become a flood of D1 writes, so
 * the Worker isolate counts refusals in memory, by source, error code and minute, and one flush
 * writes them all at most about once a second (src/projection/counters.ts, `writeRefusals`): the
 * refusal that finds no flush running starts one inside its own request's `waitUntil`, which waits
 * {@link REFUSAL_FLUSH_MS}, writes what has gathered and goes on while more arrives. The answer to
 * the refused request never waits for it. As with the projection's gatherer
 * (src/projection/queue.ts), no promise is shared between requests; only plain data is.
 */
import { bucketStart, RETENTION_MS, type RefusalCount } from "../projection/counters";

/** How long a flush gathers refusals before writing them: at most one write a second per isolate. */
export const REFUSAL_FLUSH_MS = 1_000;
/** One flush writes for at most this long (a `waitUntil` is bounded), then leaves the rest to the next refusal. */
const FLUSH_BUDGET_MS = 20_000;
/** A flush not finished after this long is taken for dead (its request's context was cancelled). */
const STALE_FLUSH_MS = FLUSH_BUDGET_MS + 10_000;
/** Counts kept while D1 cannot take them: at most this many (source, code, minute) keys… */
const MAX_PENDING = 10_000;

/** Writes refusal counts to D1: `writeRefusals`, or a counting or failing one in tests (`AppSeams`). */
export type RefusalWriter = (db: D1Database, counts: readonly RefusalCount[]) => Promise<unknown>;

function log(fields: Record<string, unknown>): void {
  console.log(JSON.stringify(fields));
}

export class RefusalTally {
  private readonly pending = new Map<string, RefusalCount>();
  private flushingSince: number | null = null;

  constructor(
    private readonly write: RefusalWriter,
    private readonly flushMs = REFUSAL_FLUSH_MS,
  ) {}

  /** Counts one refusal at `at` (ms) and makes sure a flush will write it. Never waits. */
  count(
    refusal: { source: string; code: string; at: number },
    outlet: { db: D1Database; waitUntil: (work: Promise<unknown>) => void },
  ): void {
    this.add({ source: refusal.source, code: refusal.code, minute: bucketStart(refusal.at, 60), refused: 1 });
    const now = Date.now();
    if (this.flushingSince !== null && now - this.flushingSince < STALE_FLUSH_MS) return;
    this.flushingSince = now;
    outlet.waitUntil(this.flush(outlet.db, now));
  }

  private add(count: RefusalCount): void {
    const key = `${count.source}\u0000${count.code}\u0000${count.minute}`;
    const kept = this.pending.get(key);
    if (kept !== undefined) kept.refused += count.refused;
    else if (this.pending.size < MAX_PENDING) this.pending.set(key, { ...count });
  }

  private async flush(db: D1Database, startedAt: number): Promise<void> {
    try {
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, this.flushMs));
        const last = Date.now() - startedAt >= FLUSH_BUDGET_MS;
        // Refusals from here on start a flush of their own.
        if (last) this.flushingSince = null;
        const counts = [...this.pending.values()];
        this.pending.clear();
        // D1 refusing: the counts wait for the next refusal's flush rather than a retry loop here.
        if (counts.length > 0 && !(await this.writeOrKeep(db, counts))) return;
        if (last || this.pending.size === 0) return;
      }
    } finally {
      if (this.flushingSince === startedAt) this.flushingSince = null;
    }
  }

  /**
   * Writes counts; if D1 refuses them they are kept for the next flush (those older than any window
   * are let go) and the answer is false.
   */
  private async writeOrKeep(db: D1Database, counts: RefusalCount[]): Promise<boolean> {
    try {
      await this.write(db, counts);
      return true;
    } catch (error) {
      log({
        level: "warn",
        msg: "refusal counts not written; kept for the next flush",
        error: String(error),
      });
      const oldest = Date.now() - RETENTION_MS[3600];
      for (const count of counts) if (count.minute >= oldest) this.add(count);
      return false;
    }
  }
}
