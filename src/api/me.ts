/**
 * @module `GET /v1/me` — what the request's token may do: its name, whether it is an admin token
 * (CONTRACT §9), and the scope of what it reads (§5). Never the token itself. The console reads it
 * to offer only what the token may do (Retry on a quarantined delivery needs an admin token).
 */
import type { Context } from "hono";
import * as v from "valibot";
import { sourceSchema } from "../core/summary";
import type { ApiEnv } from "./auth";

export const meSchema = v.object({
  name: v.pipe(v.string(), v.description("The name the token was created with.")),
  admin: v.pipe(
    v.boolean(),
    v.description("Whether the token may use the operating routes (quarantine retry, reprojection)."),
  ),
  scope: v.object({
    source: v.pipe(v.nullable(sourceSchema), v.description("Only this source's jobs, or null: any.")),
    companyId: v.pipe(
      v.nullable(v.string()),
      v.description("Only this company's jobs (of the sources whose jobs carry one), or null: any."),
    ),
  }),
});

export type Me = v.InferOutput<typeof meSchema>;

export function meRoute(c: Context<ApiEnv>) {
  const { name, admin, source, companyId } = c.get("scope");
  const me: Me = { name, admin, scope: { source, companyId } };
  return c.json(me);
}
