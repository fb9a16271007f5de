/**
 * @module Read-API bearer tokens. Only a token's SHA-256 hash is stored (D1 `tokens`); a token may
 * be scoped to one company (of the sources whose jobs carry one: Alfred) and/or one source. A job
 * outside a token's scope is answered 404, never 403, so a token cannot learn which jobs exist
 * outside it (CONTRACT §5).
 */

import { sha256Hex } from "../core/digest";
import type { JobSummary } from "../core/summary";
import type { Source } from "../core/vocabulary";
import { SOURCES } from "../core/vocabulary";
import { COMPANY_SOURCES } from "../vendors/registry";
import { within } from "./query";

export interface TokenScope {
  name: string;
  companyId: string | null;
  source: Source | null;
  /** An admin token may also use the operating routes (CONTRACT §9). */
  admin: boolean;
  /** The token's SHA-256 (hex), as D1 keeps it: names what is counted per token (src/api/stream-slots.ts). */
  tokenHash: string;
}

/** The scope of a live token, or null if the token is unknown or revoked. */
export async function lookupToken(db: D1Database, token: string): Promise<TokenScope | null> {
  return lookupTokenHash(db, await sha256Hex(token));
}

/** {@link lookupToken} by the token's SHA-256 (hex), as stored: for asking again about a token already seen. */
export async function lookupTokenHash(db: D1Database, tokenHash: string): Promise<TokenScope | null> {
  const row = await db
    .prepare("SELECT name, company_id, source, admin FROM tokens WHERE token_hash = ? AND revoked_at IS NULL")
    .bind(tokenHash)
    .first<{ name: string; company_id: string | null; source: string | null; admin: number }>();
  if (row === null) return null;
  return {
    name: row.name,
    companyId: row.company_id,
    source: row.source as Source | null,
    admin: row.admin === 1,
    tokenHash,
  };
}

/**
 * Whether a job is inside a token's scope. A company scope sees only that company's jobs, of the
 * sources whose jobs carry a company id (`companyScoped` adapters).
 */
export function canSee(scope: TokenScope, job: Pick<JobSummary, "source" | "companyId">): boolean {
  if (scope.source !== null && job.source !== scope.source) return false;
  if (
    scope.companyId !== null &&
    (!COMPANY_SOURCES.includes(job.source) || job.companyId !== scope.companyId)
  )
    return false;
  return true;
}

/**
 * The sources a read may cover: those requested (null: any) within the token's source and, for a
 * company scope, among the sources whose jobs carry a company id. An empty list matches nothing.
 */
export function sourcesInScope(requested: Source[] | undefined, scope: TokenScope): Source[] | null {
  const sources = within(requested, scope.source);
  if (scope.companyId === null) return sources;
  return (sources ?? SOURCES).filter((source) => COMPANY_SOURCES.includes(source));
}
