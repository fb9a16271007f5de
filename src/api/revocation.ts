/**
 * @module Revocation reaching requests that outlive their token check (CONTRACT §5): a revoked token
 * is refused at once on new requests (`requireToken` asks D1 on every request), and an open job
 * stream (§7) or a waiting long poll (§6) of it must end within 60 s of the revocation. Such a
 * request asks D1 again every {@link TOKEN_RECHECK_MS} (15 s) and ends once the token is revoked
 * (at most 20 s after the revocation: an interval and one question's limit), or once D1 could not
 * confirm it for {@link UNCONFIRMED_LIMIT} intervals (45 s, the next question included; at most
 * 50 s after the last confirmation): a request that cannot ask cannot know, and the contract's
 * bound holds either way.
 */
import type { Context } from "hono";
import { withDeadline } from "../deadline";
import { ApiError } from "../http/errors";
import type { ApiEnv } from "./auth";
import { lookupTokenHash } from "./tokens";

/** How often an open stream or a waiting long poll asks D1 whether its token still lives. */
export const TOKEN_RECHECK_MS = 15_000;

/**
 * How many intervals a confirmation is trusted for when D1 cannot confirm the token again (D1
 * unreachable, or slower than {@link QUESTION_LIMIT_MS}): a failed question keeps the request only
 * if the next one is due within 3 × 15 s = 45 s of the last confirmation.
 */
export const UNCONFIRMED_LIMIT = 3;

/** Longest one question may take before it counts as unanswered. */
const QUESTION_LIMIT_MS = 5_000;

/**
 * `live`: the token still holds (or was confirmed recently enough). `revoked`: it was revoked (or
 * removed). `unconfirmed`: D1 could not say for {@link UNCONFIRMED_LIMIT} intervals.
 */
export type TokenVerdict = "live" | "revoked" | "unconfirmed";

export interface TokenWatch {
  /** Asks now (one question at a time). A `revoked` verdict is final. */
  check(): Promise<TokenVerdict>;
  /** {@link TokenWatch.check} if the last question is at least an interval old, else `live`. */
  checkIfDue(): Promise<TokenVerdict>;
}

export interface TokenWatchOptions {
  /** The interval between questions (default {@link TOKEN_RECHECK_MS}; tests shorten it). */
  recheckMs?: number;
  now?: () => number;
}

/**
 * Watches a token that was live when the watch began. `lives` asks whether it still is (true,
 * false, or a rejection when it cannot say).
 *
 * @example
 * const token = watchToken(() => lookupTokenHash(db, hash).then((scope) => scope !== null));
 * if ((await token.checkIfDue()) !== "live") throw verdictError(…);
 */
export function watchToken(lives: () => Promise<boolean>, options: TokenWatchOptions = {}): TokenWatch {
  const recheckMs = options.recheckMs ?? TOKEN_RECHECK_MS;
  const now = options.now ?? Date.now;
  let confirmedAt = now();
  let askedAt = confirmedAt;
  let revoked = false;
  let asking: Promise<TokenVerdict> | null = null;

  async function ask(): Promise<TokenVerdict> {
    askedAt = now();
    try {
      if (await withDeadline(lives(), Math.min(recheckMs, QUESTION_LIMIT_MS), "the token check")) {
        confirmedAt = now();
        return "live";
      }
      revoked = true;
      return "revoked";
    } catch {
      // Kept only if the next question is still due within the trust: asked then, its answer (or
      // its limit) still comes well inside the contract's 60 s.
      return now() + recheckMs - confirmedAt <= recheckMs * UNCONFIRMED_LIMIT ? "live" : "unconfirmed";
    }
  }

  const check = (): Promise<TokenVerdict> => {
    if (revoked) return Promise.resolve("revoked");
    asking ??= ask().finally(() => {
      asking = null;
    });
    return asking;
  };
  return {
    check,
    checkIfDue: () => (revoked || now() - askedAt >= recheckMs ? check() : Promise.resolve("live")),
  };
}

/** The watch of the token that authorised `c` (set by `requireToken`), asking D1. */
export function watchRequestToken(c: Context<ApiEnv>, recheckMs?: number): TokenWatch {
  const db = c.env.DB;
  const tokenHash = c.get("tokenHash");
  return watchToken(async () => (await lookupTokenHash(db, tokenHash)) !== null, { recheckMs });
}

/** Why a request of a token that is no longer `live` ends: 401 `unauthorized`, or 503 when D1 could not say. */
export function verdictError(verdict: Exclude<TokenVerdict, "live">): ApiError {
  return verdict === "revoked"
    ? new ApiError("unauthorized", "The token was revoked.")
    : new ApiError("storage_unavailable", "The token could not be checked again; retry later.");
}
