/** @module Worker entry: the Hono app and the job ledger Durable Object class. */
import { createApp } from "./app";
import type { Env } from "./env";

export { JobLedger } from "./ledger/job-ledger";

const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
