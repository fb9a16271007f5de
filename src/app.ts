/**
 * @module The Hono application: webhook ingest, the read API, health. Built by {@link createApp} so
 * tests can pass their own seams (a failing ledger, a fake outbound fetch) without patching the
 * runtime.
 */
import { Hono } from "hono";
import { type ApiEnv, requireAdmin, requireToken } from "./api/auth";
import { changesRoute } from "./api/changes";
import { getJobRoute } from "./api/get-job";
import { listJobsRoute } from "./api/list-jobs";
import { openApiDocument } from "./api/openapi";
import { getQuarantinedRoute, listQuarantineRoute, retryQuarantinedRoute } from "./api/quarantine";
import { reprojectRoute, seedRegistryRoute } from "./api/reproject";
import { consoleFile, consolePage } from "./console";
import type { Env } from "./env";
import { ApiError, errorResponse } from "./http/errors";
import { durableObjectLedgers, type LedgerGateway } from "./ingest/ledger-gateway";
import { type IngestDeps, ingestDelivery } from "./ingest/pipeline";
import type { Source } from "./ledger/types";
import { ProjectionGatherer, type ProjectionQueue } from "./projection/queue";
import { VENDORS } from "./vendors/registry";

export interface AppSeams {
  ledgers?: (env: Env) => LedgerGateway;
  fetch?: typeof fetch;
  now?: () => number;
  /** Where summaries are sent: the PROJECTION queue unless a test passes a failing or counting one. */
  projectionQueue?: (env: Env) => ProjectionQueue;
  /** How often an idle job stream gets a comment line (default 15 s); tests use a shorter one. */
  streamHeartbeatMs?: number;
}

export function createApp(seams: AppSeams = {}) {
  // Summaries gathered across the requests this isolate serves (see ProjectionGatherer).
  const gatherer = new ProjectionGatherer();
  const deps = (env: Env, ctx: ExecutionContext): IngestDeps => ({
    ledgers: seams.ledgers?.(env) ?? durableObjectLedgers(env),
    // Called through a closure: an unbound `fetch` kept in an object throws "Illegal invocation".
    fetch: seams.fetch ?? ((input, init) => fetch(input, init)),
    now: seams.now ?? Date.now,
    project: (message) =>
      gatherer.offer(message, seams.projectionQueue?.(env) ?? env.PROJECTION, (work) => ctx.waitUntil(work)),
  });
  const ingest = (source: Source) => {
    const adapter = VENDORS[source];
    if (adapter === undefined) throw new Error(`no adapter registered for ${source}`);
    return adapter;
  };

  // Not strict: `/webhooks/alfred/` (an empty token) is answered 401 like any wrong token, not 404.
  const app = new Hono<ApiEnv>({ strict: false });

  app.onError((error, c) => {
    if (error instanceof ApiError) {
      // Every refused delivery says why in the logs — never with the URL, which may hold Alfred's token.
      if (c.req.path.startsWith("/webhooks/")) {
        const source = c.req.path.split("/")[2] ?? "";
        console.log(JSON.stringify({ level: "warn", msg: "delivery refused", source, code: error.code }));
      }
      return errorResponse(error, error.code === "method_not_allowed" ? { allow: "POST" } : undefined);
    }
    console.log(JSON.stringify({ level: "error", msg: "unhandled error", error: String(error) }));
    return errorResponse(new ApiError("internal_error", "Something went wrong on our side."));
  });
  app.notFound(
    async (c) => (await consoleFile(c)) ?? errorResponse(new ApiError("not_found", "No such route.")),
  );

  app.get("/healthz", (c) => c.json({ ok: true }));
  // The console (CONTRACT §8): one page whose script renders the view for its path.
  app.get("/", consolePage);
  app.get("/quarantine", consolePage);
  app.get("/jobs/*", consolePage);
  app.get("/openapi.json", (c) => c.json(openApiDocument()));

  app.all("/webhooks/extend", (c) =>
    ingestDelivery(ingest("extend"), c.req.raw, {}, c.env, deps(c.env, c.executionCtx)),
  );
  app.all("/webhooks/alfred/:token", (c) =>
    ingestDelivery(
      ingest("alfred"),
      c.req.raw,
      { token: c.req.param("token") },
      c.env,
      deps(c.env, c.executionCtx),
    ),
  );
  app.all("/webhooks/alfred", (c) =>
    ingestDelivery(ingest("alfred"), c.req.raw, { token: undefined }, c.env, deps(c.env, c.executionCtx)),
  );

  app.use("/v1/*", requireToken);
  app.get("/v1/jobs", listJobsRoute);
  app.get("/v1/changes", changesRoute);
  app.get("/v1/jobs/*", (c) =>
    getJobRoute(c, seams.ledgers?.(c.env) ?? durableObjectLedgers(c.env), seams.streamHeartbeatMs),
  );
  app.get("/v1/quarantine", listQuarantineRoute);
  app.get("/v1/quarantine/:id", getQuarantinedRoute);
  // Operating (CONTRACT §9): admin tokens only.
  app.post("/v1/quarantine/:id/retry", requireAdmin, (c) =>
    retryQuarantinedRoute(c, deps(c.env, c.executionCtx)),
  );
  app.post("/v1/admin/reproject", requireAdmin, reprojectRoute);
  app.post("/v1/admin/registry/seed", requireAdmin, seedRegistryRoute);

  return app;
}

export type App = ReturnType<typeof createApp>;
