/**
 * @module Worker entry: the Hono app, the projection queue's consumer, and the Durable Object
 * classes (job ledgers, the change hub, the key registry, the per-token stream quota).
 */
import { createApp } from "./app";
import { consumeProjection } from "./projection/queue";

export { ChangeHub } from "./changes/hub";
export { JobLedger } from "./ledger/job-ledger";
export { StreamQuota } from "./limits/stream-quota";
export { KeyRegistry } from "./registry/key-registry";

const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
  // The projection queue and its dead-letter queue: both write their batches to D1 the same way.
  queue: (batch, env, _ctx) => consumeProjection(batch, env),
} satisfies ExportedHandler<Env>;
