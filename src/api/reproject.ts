/**
 * @module `POST /v1/admin/reproject` (admin; docs/OPERATING.md, "Reprojection") — rebuilds the D1 summaries that
 * `GET /v1/jobs` and `GET /v1/changes` read from the job ledgers, one page of the key registry at a
 * time: `{cursor?, limit?}` → `{processed, repaired, repairedKeys, nextCursor, …}`. The registry,
 * not D1, says which jobs exist, so a job whose row was deleted, corrupted or never written is
 * found. Each page is complete before its cursor is given out; a page that fails answers 503 and is
 * simply asked again, and asking again changes nothing already right (idempotent, resumable).
 *
 * `POST /v1/admin/registry/seed` (admin) walks D1's job keys the same way and registers them, for
 * ledgers that stored their events before the registry existed.
 */
import type { Context } from "hono";
import * as v from "valibot";
import { HUB_NAME } from "../changes/hub";
import type { JobSummary } from "../core/summary";
import { withDeadline } from "../deadline";
import { ApiError } from "../http/errors";
import { repairSummaries, replaceIfUnchanged, writeSummaries } from "../projection/jobs";
import { REGISTRY_SHARDS, registerKeys, registryPage, registryTotal } from "../registry/key-registry";
import type { ApiEnv } from "./auth";
import { decodeKeyCursor, decodeRegistryCursor, encodeKeyCursor, encodeRegistryCursor } from "./cursor";

export const REPROJECT_DEFAULT_LIMIT = 100;
/**
 * A page makes two ledger calls per job plus up to 2 × 16 registry calls and a few D1 calls: 200
 * jobs stay far inside the Workers Paid plan's 10,000 subrequests per request.
 */
export const REPROJECT_MAX_LIMIT = 200;
/** How long one ledger may take to give its summary before the page answers 503. */
export const SUMMARY_MS = 10_000;

/** The body of both admin routes (also their request schema in `/openapi.json`). */
export const reprojectBodySchema = v.strictObject({
  cursor: v.optional(v.string()),
  limit: v.optional(
    v.pipe(
      v.number(),
      v.integer(),
      v.minValue(1),
      v.maxValue(REPROJECT_MAX_LIMIT, `must be an integer from 1 to ${REPROJECT_MAX_LIMIT}`),
    ),
  ),
});

/** The answer to one page, as `/openapi.json` describes it. */
export const reprojectPageSchema = v.object({
  processed: v.pipe(v.number(), v.description("Registered jobs this page read from their ledgers.")),
  repaired: v.pipe(v.number(), v.description("Of those, the jobs whose D1 row was missing or differed.")),
  repairedKeys: v.array(v.string()),
  nextCursor: v.pipe(v.nullable(v.string()), v.description("Null when every shard has been walked.")),
  shard: v.number(),
  shards: v.number(),
  total: v.optional(v.pipe(v.number(), v.description("Every registered job, on the first page only."))),
});

/** The answer to one page of the registry seed. */
export const seedPageSchema = v.object({
  processed: v.number(),
  registered: v.number(),
  nextCursor: v.nullable(v.string()),
});

/** The answer to one page. */
export interface ReprojectPage {
  /** Registered jobs this page read from their ledgers. */
  processed: number;
  /** Of those, the jobs whose D1 row was missing or differed, and was written. */
  repaired: number;
  repairedKeys: string[];
  /** The cursor of the next page, or null when every shard has been walked. */
  nextCursor: string | null;
  /** Where the walk stands: the registry shard the next page starts in, of `shards`. */
  shard: number;
  shards: number;
  /** Every registered job, on the first page only (counting reads every shard). */
  total?: number;
}

function unavailable(what: string): (error: unknown) => never {
  return (error) => {
    console.log(
      JSON.stringify({ level: "error", msg: `reprojection: ${what} unavailable`, error: String(error) }),
    );
    throw new ApiError("storage_unavailable", `Reprojection cannot reach ${what}; retry this page later.`);
  };
}

/**
 * Reprojection and seeding work on every job and name the keys they repair: a token scoped to a
 * source or a company must not learn the keys outside its scope, so these need an unscoped admin.
 */
function requireWholeScope(c: Context<ApiEnv>): void {
  const scope = c.get("scope");
  if (scope.source !== null || scope.companyId !== null) {
    throw new ApiError(
      "forbidden",
      "Reprojection works on every job: it needs an admin token with no scope.",
    );
  }
}

async function readBody(request: Request): Promise<v.InferOutput<typeof reprojectBodySchema>> {
  const text = await request.text();
  let json: unknown = {};
  if (text.trim() !== "") {
    try {
      json = JSON.parse(text);
    } catch {
      throw new ApiError("invalid_request", "The body must be JSON: {cursor?, limit?}.");
    }
  }
  // Valibot's objects take arrays too; the body is one JSON object.
  if (Array.isArray(json))
    throw new ApiError("invalid_request", "The body must be a JSON object: {cursor?, limit?}.");
  const parsed = v.safeParse(reprojectBodySchema, json);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const path = issue.path?.map((item) => String(item.key)).join(".") ?? "";
    throw new ApiError(
      "invalid_request",
      `Invalid body${path === "" ? "" : ` field "${path}"`}: ${issue.message}`,
    );
  }
  return parsed.output;
}

/** Each job's summary as its ledger holds it (null for a ledger with no event). */
function summariesOf(env: Env, keys: string[]): Promise<(JobSummary | null)[]> {
  return Promise.all(
    keys.map((key) =>
      withDeadline(env.JOBS.get(env.JOBS.idFromName(key)).summary(), SUMMARY_MS, "a job ledger"),
    ),
  );
}

export async function reprojectRoute(c: Context<ApiEnv>): Promise<Response> {
  requireWholeScope(c);
  const body = await readBody(c.req.raw);
  const position = body.cursor === undefined ? { shard: 0, after: "" } : decodeRegistryCursor(body.cursor);
  if (position === null) {
    throw new ApiError(
      "invalid_request",
      'Invalid body field "cursor": not a cursor returned by this route.',
    );
  }
  const limit = body.limit ?? REPROJECT_DEFAULT_LIMIT;
  const env = c.env;

  const total =
    body.cursor === undefined ? await registryTotal(env).catch(unavailable("the key registry")) : undefined;
  const page = await registryPage(env, position, limit).catch(unavailable("the key registry"));
  const read = await summariesOf(env, page.keys).catch(unavailable("a job ledger"));
  const summaries = read.filter((summary) => summary !== null);
  const repair = await repairSummaries(env.DB, summaries).catch(unavailable("D1"));

  // Ask the ledgers again. Where one has moved on since the read, its newer summary goes in under
  // the usual version guard, so D1 ends at least as new as every ledger was after the write. A row
  // the guarded repair left because it claimed a higher version than its ledger is corrupted if
  // the ledger is still behind it: it is replaced, unless it changed since it was seen.
  const after = await summariesOf(env, page.keys).catch(unavailable("a job ledger"));
  const moved = after.filter(
    (summary, n): summary is JobSummary => summary !== null && summary.version > (read[n]?.version ?? 0),
  );
  const caughtUp = await writeSummaries(
    env.DB,
    moved.map((summary) => ({ jobKey: summary.jobKey, version: summary.version, summary })),
  ).catch(unavailable("D1"));
  const fresh = new Map(
    after.filter((summary) => summary !== null).map((summary) => [summary.jobKey, summary]),
  );
  const corrupted = repair.ahead.flatMap(({ jobKey, version }) => {
    const summary = fresh.get(jobKey);
    return summary !== undefined && summary.version < version ? [{ summary, seenVersion: version }] : [];
  });
  const replaced = await replaceIfUnchanged(env.DB, corrupted).catch(unavailable("D1"));
  const repaired = [...repair.repaired, ...replaced.repaired];

  if (repaired.length > 0 || moved.length > 0) {
    // Wake the change feed's long polls; best effort, as after a projection write.
    await env.CHANGES.get(env.CHANGES.idFromName(HUB_NAME))
      .notify(Math.max(repair.sequence, caughtUp.sequence, replaced.sequence))
      .catch(() => undefined);
  }
  console.log(
    JSON.stringify({
      level: "info",
      msg: "reprojection page",
      processed: page.keys.length,
      repaired: repaired.length,
      caughtUp: moved.length,
    }),
  );
  const next = page.next;
  const answer: ReprojectPage = {
    processed: page.keys.length,
    repaired: repaired.length,
    repairedKeys: repaired,
    nextCursor: next === null ? null : encodeRegistryCursor(next),
    shard: next?.shard ?? REGISTRY_SHARDS,
    shards: REGISTRY_SHARDS,
    ...(total === undefined ? {} : { total }),
  };
  return c.json(answer);
}

/** The answer to one page of seeding. */
export interface SeedPage {
  /** D1 rows this page read. */
  processed: number;
  /** Of their keys, how many the registry did not hold yet. */
  registered: number;
  nextCursor: string | null;
}

export async function seedRegistryRoute(c: Context<ApiEnv>): Promise<Response> {
  requireWholeScope(c);
  const body = await readBody(c.req.raw);
  const after = body.cursor === undefined ? "" : decodeKeyCursor(body.cursor);
  if (after === null) {
    throw new ApiError(
      "invalid_request",
      'Invalid body field "cursor": not a cursor returned by this route.',
    );
  }
  const limit = body.limit ?? REPROJECT_DEFAULT_LIMIT;
  const rows = await c.env.DB.prepare("SELECT job_key FROM jobs WHERE job_key > ? ORDER BY job_key LIMIT ?")
    .bind(after, limit + 1)
    .all<{ job_key: string }>()
    .catch(unavailable("D1"));
  const keys = rows.results.slice(0, limit).map((row) => row.job_key);
  const registered = await registerKeys(c.env, keys).catch(unavailable("the key registry"));
  const last = keys.at(-1);
  const answer: SeedPage = {
    processed: keys.length,
    registered,
    nextCursor: rows.results.length > limit && last !== undefined ? encodeKeyCursor(last) : null,
  };
  return c.json(answer);
}
