/**
 * @module The Hono application: webhook ingest, the read API, health. Built by {@link createApp} so
 * tests can pass their own seams (a failing ledger, a fake outbound fetch) without patching the
 * runtime.
 */
import { type Context, Hono } from "hono";
import { type ApiEnv, requireAdmin, requireToken } from "./api/auth";
import { changesRoute } from "./api/changes";
import { jobRoutes } from "./api/get-job";
import type { JobIndex } from "./api/known-jobs";
import { listJobsRoute } from "./api/list-jobs";
import { meRoute } from "./api/me";
import { openApiRoute, routeDocs, webhookDoc } from "./api/openapi";
import { getQuarantinedRoute, listQuarantineRoute, retryQuarantinedRoute } from "./api/quarantine";
import { reprojectRoute, seedRegistryRoute } from "./api/reproject";
import {
  changesQuerySchema,
  jobDetailQuerySchema,
  listJobsQuerySchema,
  listQuarantineQuerySchema,
  statsQuerySchema,
  validQuery,
} from "./api/schemas";
import { statsRoute } from "./api/stats";
import { waitingPollWithinLimit } from "./api/stream-slots";
import { consoleFile, consoleIcon, consolePage } from "./console";
import type { ProjectionQueue } from "./core/summary";
import { ApiError, errorResponse } from "./http/errors";
import { durableObjectLedgers, type LedgerGateway } from "./ingest/ledger-gateway";
import { type IngestDeps, ingestDelivery } from "./ingest/pipeline";
import { RefusalTally, type RefusalWriter } from "./ingest/refusals";
import { writeRefusals } from "./projection/counters";
import { D1_QUARANTINE_WRITES, type QuarantineRetryWrites } from "./projection/quarantine";
import { ProjectionGatherer } from "./projection/queue";
import { VENDORS, vendorFor } from "./vendors/registry";

export interface AppSeams {
  ledgers?: (env: Env) => LedgerGateway;
  fetch?: typeof fetch;
  now?: () => number;
  /** Where summaries are sent: the PROJECTION queue unless a test passes a failing or counting one. */
  projectionQueue?: (env: Env) => ProjectionQueue;
  /** How often an idle job stream gets a comment line (default 15 s); tests use a shorter one. */
  streamHeartbeatMs?: number;
  /**
   * How often an open job stream or a waiting long poll asks whether its token still lives (default
   * 15 s, src/api/revocation.ts); tests use a shorter one.
   */
  tokenRecheckMs?: number;
  /** The D1 writes of a quarantine retry, any of them replaced (a failing one, say). */
  quarantineWrites?: Partial<QuarantineRetryWrites>;
  /** Where job routes find out whether a job was written (D1, the key registry); tests make D1 lag. */
  jobIndex?: (env: Env) => JobIndex;
  /** How refusal counts reach D1 (src/ingest/refusals.ts); tests count the writes. */
  refusalWrites?: RefusalWriter;
}

export function createApp(seams: AppSeams = {}) {
  // Summaries gathered across the requests this isolate serves (see ProjectionGatherer).
  const gatherer = new ProjectionGatherer();
  // Refused deliveries counted across the requests this isolate serves, flushed about once a second.
  const refusals = new RefusalTally(seams.refusalWrites ?? writeRefusals);
  const now = seams.now ?? Date.now;
  // One gateway per environment, made on its first request rather than on each.
  const gateways = new WeakMap<Env, LedgerGateway>();
  const ledgers = (env: Env): LedgerGateway => {
    let gateway = gateways.get(env);
    if (gateway === undefined) {
      gateway = seams.ledgers?.(env) ?? durableObjectLedgers(env);
      gateways.set(env, gateway);
    }
    return gateway;
  };
  const deps = (env: Env, ctx: ExecutionContext): IngestDeps => ({
    ledgers: ledgers(env),
    // Called through a closure: an unbound `fetch` kept in an object throws "Illegal invocation".
    fetch: seams.fetch ?? ((input, init) => fetch(input, init)),
    now,
    project: (message) =>
      gatherer.offer(message, {
        queue: seams.projectionQueue?.(env) ?? env.PROJECTION,
        waitUntil: (work) => ctx.waitUntil(work),
        unsent: async (jobKeys) => {
          await Promise.all(jobKeys.map((jobKey) => env.JOBS.get(env.JOBS.idFromName(jobKey)).checkSoon()));
        },
      }),
  });
  // Not strict: `/webhooks/alfred/` (an empty token) is answered 401 like any wrong token, not 404.
  const app = new Hono<ApiEnv>({ strict: false });

  app.onError((error, c) => {
    if (error instanceof ApiError) {
      // Every refused delivery says why in the logs — never with the URL, which may hold Alfred's token.
      if (c.req.path.startsWith("/webhooks/")) {
        const source = c.req.path.split("/")[2] ?? "";
        console.log(JSON.stringify({ level: "warn", msg: "delivery refused", source, code: error.code }));
        // Counted for the overview (CONTRACT §10), without a write of its own (src/ingest/refusals.ts).
        const ctx = executionContextOf(c);
        if (ctx !== null && error.status >= 400 && error.status < 500 && vendorFor(source) !== undefined) {
          refusals.count(
            { source, code: error.code, at: now() },
            { db: c.env.DB, waitUntil: (work) => ctx.waitUntil(work) },
          );
        }
      }
      return errorResponse(error, error.code === "method_not_allowed" ? { allow: "POST" } : undefined);
    }
    console.log(JSON.stringify({ level: "error", msg: "unhandled error", error: String(error) }));
    return errorResponse(new ApiError("internal_error", "Something went wrong on our side."));
  });
  app.notFound(
    async (c) => (await consoleFile(c)) ?? errorResponse(new ApiError("not_found", "No such route.")),
  );

  // The console (CONTRACT §8): one page whose script renders the view for its path. Not API: not
  // in the typed client nor in /openapi.json.
  app.get("/", consolePage);
  app.get("/quarantine", consolePage);
  app.get("/jobs/*", consolePage);
  // Its icon is public/favicon.svg; browsers also ask for /favicon.ico on their own.
  app.get("/favicon.ico", consoleIcon);

  // Each vendor's webhook routes, as its adapter declares them (src/vendors/registry.ts). Every
  // method reaches the pipeline, which answers 405 to all but POST; the POST entry before a vendor's
  // first route only carries its description for /openapi.json (a route like Alfred's token-less
  // one, always answered 401, is not described).
  for (const adapter of Object.values(VENDORS)) {
    for (const [n, route] of adapter.routes.entries()) {
      if (n === 0) app.post(route, webhookDoc(adapter));
      app.all(route, (c) =>
        ingestDelivery(adapter, c.req.raw, c.req.param(), c.env, deps(c.env, c.executionCtx)),
      );
    }
  }

  const jobs = jobRoutes(
    ledgers,
    { heartbeatMs: seams.streamHeartbeatMs, tokenRecheckMs: seams.tokenRecheckMs },
    seams.jobIndex,
  );

  // The API, chained so that its type (`App`) tells `hc<App>()` each route's parameters and
  // answers. Each route: its description (src/api/openapi.ts), then its checks, then its handler.
  return (
    app
      .get("/healthz", routeDocs.health, (c) => c.json({ ok: true as const }))
      .get("/openapi.json", routeDocs.openApi, openApiRoute(app))
      .use("/v1/*", requireToken)
      .get("/v1/me", routeDocs.me, meRoute)
      .get("/v1/jobs", routeDocs.listJobs, validQuery(listJobsQuerySchema), (c) =>
        listJobsRoute(c, c.req.valid("query")),
      )
      .get(
        "/v1/changes",
        routeDocs.listChanges,
        validQuery(changesQuerySchema),
        waitingPollWithinLimit,
        (c) => changesRoute(c, c.req.valid("query"), seams.tokenRecheckMs),
      )
      .get("/v1/jobs/:jobKey", routeDocs.getJob, validQuery(jobDetailQuerySchema), jobs.detail)
      .get("/v1/jobs/:jobKey/stream", routeDocs.streamJob, jobs.stream)
      .get("/v1/jobs/:jobKey/events/:eventId", routeDocs.getEvent, jobs.rawEvent)
      .get("/v1/jobs/:jobKey/events/:eventId/verification", routeDocs.verifyEvent, jobs.verification)
      // A job key holding `/` as is spans path segments, which `:jobKey` (one segment) cannot match.
      .get("/v1/jobs/*", jobs.any)
      .get("/v1/quarantine", routeDocs.listQuarantine, validQuery(listQuarantineQuerySchema), (c) =>
        listQuarantineRoute(c, c.req.valid("query")),
      )
      .get("/v1/quarantine/:id", routeDocs.getQuarantined, getQuarantinedRoute)
      .get("/v1/stats", routeDocs.stats, validQuery(statsQuerySchema), (c) =>
        statsRoute(c, c.req.valid("query"), now()),
      )
      // Operating (CONTRACT §9): admin tokens only.
      .post("/v1/quarantine/:id/retry", routeDocs.retryQuarantined, requireAdmin, (c) =>
        retryQuarantinedRoute(c, deps(c.env, c.executionCtx), {
          ...D1_QUARANTINE_WRITES,
          ...seams.quarantineWrites,
        }),
      )
      .post("/v1/admin/reproject", routeDocs.reproject, requireAdmin, reprojectRoute)
      .post("/v1/admin/registry/seed", routeDocs.seedRegistry, requireAdmin, seedRegistryRoute)
  );
}

/** The request's execution context, or null where there is none (Hono's `app.request()` in a test). */
function executionContextOf(c: Context): ExecutionContext | null {
  try {
    return c.executionCtx;
  } catch {
    return null;
  }
}

/**
 * The API's type, for the typed client: `hc<App>(baseUrl)` from `hono/client` (docs/API.md, "Typed
 * client"). Outside this repository, types/runledger.d.ts (generated from src/client.ts) is the same
 * routes without the Worker's bindings.
 */
export type App = ReturnType<typeof createApp>;
