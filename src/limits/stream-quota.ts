/**
 * @module StreamQuota — one Durable Object per read token (named by the token's hash) that counts
 * the token's open job streams and waiting long polls (CONTRACT §2 `MAX_STREAMS_PER_TOKEN`). A
 * token's requests land on many isolates in production, so a count kept in one isolate's memory
 * would let a token hold the limit once per isolate; one object per token counts them all, and a
 * token's streams load only its own object (a single global counter — the change hub, say — would
 * put every token's opens and closes on one object).
 *
 * A place is a lease: taken with a time to live, renewed while held (a stream renews it every
 * {@link STREAM_RENEW_MS}), given back when its request ends. A lease whose isolate died without
 * giving it back expires. The leases are kept in memory only: if the object restarts, the count
 * starts again from zero and renewals bring the open streams back into it — for a while it may
 * let a token over its limit, never under it.
 */
import { DurableObject } from "cloudflare:workers";

/** How long a stream's place lasts without a renewal. */
export const STREAM_LEASE_MS = 60_000;
/** How often an open stream renews its place. */
export const STREAM_RENEW_MS = 20_000;
/** A long poll's place lasts its wait and this much more (it is given back when it answers). */
export const POLL_LEASE_SLACK_MS = 15_000;

export class StreamQuota extends DurableObject<Env> {
  /** Lease id → when it expires (ms since the epoch). */
  private readonly leases = new Map<string, number>();

  /** Takes a place for `lease` unless `limit` places are held; true when taken (or already held). */
  async acquire(lease: string, limit: number, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    this.expire(now);
    if (!this.leases.has(lease) && this.leases.size >= limit) return false;
    this.leases.set(lease, now + ttlMs);
    return true;
  }

  /** Extends a lease; one the object no longer knows (it restarted) is counted again. */
  async renew(lease: string, ttlMs: number): Promise<void> {
    this.leases.set(lease, Date.now() + ttlMs);
  }

  async release(lease: string): Promise<void> {
    this.leases.delete(lease);
  }

  /** How many places are held, for tests and operators. */
  async held(): Promise<number> {
    this.expire(Date.now());
    return this.leases.size;
  }

  private expire(now: number): void {
    for (const [lease, expires] of this.leases) if (expires <= now) this.leases.delete(lease);
  }
}
