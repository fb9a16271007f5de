/**
 * @module Reads create no state (CONTRACT §5): a job route reaches a job's ledger only when the key
 * may name a job the token can read. A Durable Object comes into being on its first call — locally
 * workerd writes a database file for every object it starts, even one that stores nothing — so a
 * read must not call the ledger of a key that was never written.
 *
 * In order, each step answering 404 without calling the ledger:
 * 1. the key's source is a vendor's, and one the token's scope covers (no I/O);
 * 2. D1's summary row: a job of another company than a company token's is hidden (a company, once
 *    fixed, never changes; a row naming none may be older than the event that fixed it, so it
 *    does not hide the job);
 * 3. without a D1 row — D1 lags its ledger by up to ~2 s, and a job is readable as soon as its
 *    first event is answered (CONTRACT §3.3) — the key registry, where every ledger registers its
 *    key before its first write (src/ledger/registration.ts).
 * The ledger's detail is still checked against the scope after (get-job.ts): it is the truth.
 */
import type { Source } from "../core/vocabulary";
import { ApiError } from "../http/errors";
import { jobScope } from "../projection/jobs";
import { isRegistered } from "../registry/key-registry";
import { vendorFor } from "../vendors/registry";
import { canSee, type TokenScope } from "./tokens";

/** Where a read finds out whether a job was written, without its ledger: the seam tests replace. */
export interface JobIndex {
  /** The job's source and company as D1 holds them, or null without a row (yet). */
  scopeOf(jobKey: string): Promise<{ source: string; companyId: string | null } | null>;
  /** Whether the job's ledger registered its key (it does before its first write). */
  registered(jobKey: string): Promise<boolean>;
}

export function jobIndex(env: Env): JobIndex {
  return {
    scopeOf: (jobKey) => jobScope(env.DB, jobKey),
    registered: (jobKey) => isRegistered(env, jobKey),
  };
}

function unavailable(): never {
  throw new ApiError("storage_unavailable", "Jobs cannot be looked up right now; retry later.");
}

/**
 * Whether the ledger of `jobKey` (a well-formed `source:kind:id`) may hold a job `scope` can read:
 * false means 404 without calling it.
 */
export async function mayHoldVisibleJob(
  index: JobIndex,
  scope: TokenScope,
  jobKey: string,
): Promise<boolean> {
  const source = jobKey.slice(0, jobKey.indexOf(":"));
  if (vendorFor(source) === undefined) return false;
  // The token's company, if any: step 1 asks only whether it could see a job of this source.
  if (!canSee(scope, { source: source as Source, companyId: scope.companyId })) return false;
  const row = await index.scopeOf(jobKey).catch(unavailable);
  if (row !== null)
    return row.companyId === null || canSee(scope, { source: source as Source, companyId: row.companyId });
  return index.registered(jobKey).catch(unavailable);
}
