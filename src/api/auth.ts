/** @module Bearer-token middleware for every `/v1/*` route (CONTRACT §5). */
import { createMiddleware } from "hono/factory";
import { sha256Hex } from "../core/digest";
import { ApiError } from "../http/errors";
import { lookupTokenHash, type TokenScope } from "./tokens";

/**
 * `scope`: what the request's token may read. `tokenHash`: its SHA-256, for a request that outlives
 * this check (a stream, a long poll) to ask again whether the token still lives (src/api/revocation.ts).
 */
export type ApiEnv = { Bindings: Env; Variables: { scope: TokenScope; tokenHash: string } };

const BEARER = /^Bearer\s+(\S+)\s*$/i;

export const requireToken = createMiddleware<ApiEnv>(async (c, next) => {
  const match = BEARER.exec(c.req.header("authorization") ?? "");
  const token = match?.[1];
  if (token === undefined)
    throw new ApiError("unauthorized", "An Authorization: Bearer <token> header is required.");
  const tokenHash = await sha256Hex(token);
  let scope: TokenScope | null;
  try {
    // Asked on every request, never cached: a revoked token is refused at once (CONTRACT §5).
    scope = await lookupTokenHash(c.env.DB, tokenHash);
  } catch {
    throw new ApiError("storage_unavailable", "Tokens cannot be checked right now; retry later.");
  }
  if (scope === null) throw new ApiError("unauthorized", "The token is unknown or revoked.");
  c.set("scope", scope);
  c.set("tokenHash", tokenHash);
  await next();
});

/** For the operating routes (CONTRACT §9): after `requireToken`, a non-admin token is 403 `forbidden`. */
export const requireAdmin = createMiddleware<ApiEnv>(async (c, next) => {
  if (!c.get("scope").admin) throw new ApiError("forbidden", "This route needs an admin token.");
  await next();
});
