/** @module Bearer-token middleware for every `/v1/*` route (CONTRACT §5). */
import { createMiddleware } from "hono/factory";
import { ApiError } from "../http/errors";
import { lookupToken, type TokenScope } from "./tokens";

export type ApiEnv = { Bindings: Env; Variables: { scope: TokenScope } };

const BEARER = /^Bearer\s+(\S+)\s*$/i;

export const requireToken = createMiddleware<ApiEnv>(async (c, next) => {
  const match = BEARER.exec(c.req.header("authorization") ?? "");
  const token = match?.[1];
  if (token === undefined)
    throw new ApiError("unauthorized", "An Authorization: Bearer <token> header is required.");
  let scope: TokenScope | null;
  try {
    scope = await lookupToken(c.env.DB, token);
  } catch {
    throw new ApiError("storage_unavailable", "Tokens cannot be checked right now; retry later.");
  }
  if (scope === null) throw new ApiError("unauthorized", "The token is unknown or revoked.");
  c.set("scope", scope);
  await next();
});

/** For the operating routes (CONTRACT §9): after `requireToken`, a non-admin token is 403 `forbidden`. */
export const requireAdmin = createMiddleware<ApiEnv>(async (c, next) => {
  if (!c.get("scope").admin) throw new ApiError("forbidden", "This route needs an admin token.");
  await next();
});
