/**
 * @module `GET /v1/changes` — the change feed (CONTRACT §6): jobs in the order D1 accepted their
 * latest change, from an opaque cursor on the change sequence (a counter bumped inside each
 * projection write, never a clock), with the list's filters and the token's scope. With `wait`,
 * a request that finds nothing waits in the {@link ChangeHub}, which the projection wakes after
 * each D1 write, then reads D1 once more — one D1 read per wake, not one per client every few ms.
 */
import type { Context } from "hono";
import { HUB_NAME } from "../changes/hub";
import { encodeChangeCursor } from "../core/cursor";
import { rowToSummary } from "../core/summary";
import { ApiError } from "../http/errors";
import { currentSequence, listChanges } from "../projection/jobs";
import type { ApiEnv } from "./auth";
import { categoryOf, within } from "./query";
import { TOKEN_RECHECK_MS, verdictError, watchRequestToken } from "./revocation";
import type { ChangesQuery } from "./schemas";
import { sourcesInScope } from "./tokens";

function unavailable(): never {
  throw new ApiError("storage_unavailable", "The change feed is unavailable; retry later.");
}

/**
 * `params`: the query as `validQuery(changesQuerySchema)` validated it. A waiting request asks
 * again every `tokenRecheckMs` whether its token lives, and answers 401 `unauthorized` once it was
 * revoked (CONTRACT §5; src/api/revocation.ts).
 */
export async function changesRoute(
  c: Context<ApiEnv>,
  params: ChangesQuery,
  tokenRecheckMs = TOKEN_RECHECK_MS,
) {
  const scope = c.get("scope");
  const db = c.env.DB;
  const sources = sourcesInScope(params.source, scope);
  const companies = within(params.company, scope.companyId);
  const filters = {
    sources,
    kinds: params.kind ?? null,
    statuses: params.status ?? null,
    companies,
    category: categoryOf(params.category),
  };

  let after =
    params.after === undefined
      ? 0
      : params.after === "latest"
        ? await currentSequence(db).catch(unavailable)
        : params.after.c;
  const deadline = Date.now() + params.wait * 1000;
  const token = watchRequestToken(c, tokenRecheckMs);
  for (;;) {
    // The end is read first: every change up to it is committed, so a page that finds none of
    // them visible to this token can move its cursor there without skipping a later one.
    const end = await currentSequence(db).catch(unavailable);
    const nothingInScope = sources?.length === 0 || companies?.length === 0;
    const rows = nothingInScope
      ? []
      : await listChanges(db, {
          ...filters,
          after,
          upTo: Math.max(end, after),
          limit: params.limit + 1,
        }).catch(unavailable);
    const remaining = deadline - Date.now();
    if (rows.length > 0 || remaining <= 0) {
      const page = rows.slice(0, params.limit);
      const last = page.at(-1);
      return c.json({
        data: page.map(rowToSummary),
        nextCursor: encodeChangeCursor({ c: last === undefined ? Math.max(end, after) : last.seq }),
        hasMore: rows.length > params.limit,
      });
    }
    // Nothing visible follows: wait for the projection's next write (or the time left), at most
    // until the token is due to be asked again.
    after = Math.max(end, after);
    const hub = c.env.CHANGES.get(c.env.CHANGES.idFromName(HUB_NAME));
    await hub
      .waitBeyond(after, Math.min(remaining, tokenRecheckMs))
      .catch(() => new Promise((resolve) => setTimeout(resolve, Math.min(remaining, 1000))));
    const verdict = await token.checkIfDue();
    if (verdict !== "live") throw verdictError(verdict);
  }
}
