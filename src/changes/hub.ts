/**
 * @module ChangeHub — the one Durable Object that long-polling clients of the change feed wait in
 * (CONTRACT §6 `wait`). The projection's consumer tells it the change sequence's new end after each
 * D1 write; waiting requests are answered at once instead of each querying D1 every few
 * milliseconds. It keeps nothing durable: after a restart it knows no end until the next write, and
 * a waiter it cannot answer times out into one more D1 read by the route (see src/api/changes.ts).
 */
import { DurableObject } from "cloudflare:workers";

/** The hub's name: one per deployment. */
export const HUB_NAME = "changes";

interface Waiter {
  after: number;
  resolve: (sequence: number) => void;
}

export class ChangeHub extends DurableObject<Env> {
  private latest = 0;
  private readonly waiters = new Set<Waiter>();

  /** Records the change sequence's new end and wakes every waiter it passes. */
  async notify(sequence: number): Promise<number> {
    if (sequence > this.latest) this.latest = sequence;
    let woken = 0;
    for (const waiter of this.waiters) {
      if (this.latest > waiter.after) {
        this.waiters.delete(waiter);
        waiter.resolve(this.latest);
        woken++;
      }
    }
    return woken;
  }

  /**
   * Resolves with the sequence's end as soon as it passes `after`, or after `ms` with whatever
   * end the hub knows (possibly not past `after`).
   */
  async waitBeyond(after: number, ms: number): Promise<number> {
    if (this.latest > after) return this.latest;
    return new Promise<number>((resolve) => {
      const waiter: Waiter = {
        after,
        resolve: (sequence) => {
          clearTimeout(timer);
          resolve(sequence);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        resolve(this.latest);
      }, ms);
      this.waiters.add(waiter);
    });
  }

  /** How many requests are waiting, for tests and operators. */
  async waiting(): Promise<number> {
    return this.waiters.size;
  }
}
