/**
 * @module The fan-in from ledgers to D1 through the `PROJECTION` queue (docs/DESIGN.md, "Consistency and
 * failure"). The Worker collects the summaries its ledgers answer with, newest version per job,
 * and sends them in batches; the queue's consumer writes each batch to D1 in one transaction. A
 * ledger's safety alarm re-sends whatever D1 still lacks, so a lost send or a dead-lettered batch
 * only delays a summary.
 */
import { HUB_NAME } from "../changes/hub";
import type { ProjectionBundle, ProjectionMessage, ProjectionQueue } from "../core/summary";
import { withDeadline } from "../deadline";
import { PRUNE_EVERY_MS, pruneCounters } from "./counters";
import { latestPerJob, writeSummaries } from "./jobs";

/** How long the Worker gathers summaries before sending them: long enough to coalesce a burst. */
export const GATHER_MS = 10;
/** A bundle holds at most this many summaries and bytes (a queue message holds 128 KB). */
export const BUNDLE_SUMMARIES = 100;
export const BUNDLE_BYTES = 100_000;
/** Queues take at most 100 messages and 256 KB per `sendBatch`. */
export const SEND_BATCH_MESSAGES = 100;
export const SEND_BATCH_BYTES = 250_000;

function log(fields: Record<string, unknown>): void {
  console.log(JSON.stringify(fields));
}

/** Groups items into lists of at most `count` items and `bytes` bytes, by `sizeOf` (one at least). */
function groups<T>(
  items: readonly T[],
  count: number,
  bytes: number,
  sizeOf: (item: T) => number,
): { items: T[]; bytes: number }[] {
  const out: { items: T[]; bytes: number }[] = [];
  let current: { items: T[]; bytes: number } = { items: [], bytes: 0 };
  for (const item of items) {
    const size = sizeOf(item);
    if (current.items.length > 0 && (current.items.length >= count || current.bytes + size > bytes)) {
      out.push(current);
      current = { items: [], bytes: 0 };
    }
    current.items.push(item);
    current.bytes += size;
  }
  if (current.items.length > 0) out.push(current);
  return out;
}

const encoder = new TextEncoder();

/** A bundle and its JSON bytes (its summaries' bytes, each measured once, and the separators). */
export interface SizedBundle {
  bundle: ProjectionBundle;
  bytes: number;
}

/** Splits summaries into bundles within a queue message's limits, serialising each summary once. */
export function bundles(messages: readonly ProjectionMessage[]): SizedBundle[] {
  const sizeOf = (message: ProjectionMessage) => encoder.encode(JSON.stringify(message)).byteLength + 1;
  return groups(messages, BUNDLE_SUMMARIES, BUNDLE_BYTES, sizeOf).map((group) => ({
    bundle: { summaries: group.items },
    // `{"summaries":[` and `]}` around the summaries, one comma fewer than the summaries.
    bytes: group.bytes + 15,
  }));
}

/** Splits bundles into `sendBatch` calls within the queue's count and size limits. */
export function sendBatches(items: readonly SizedBundle[]): ProjectionBundle[][] {
  return groups(items, SEND_BATCH_MESSAGES, SEND_BATCH_BYTES, (item) => item.bytes + 1).map((group) =>
    group.items.map((item) => item.bundle),
  );
}

/** Sends summaries to the queue as bundles, in as few `sendBatch` calls as its limits allow. */
export async function sendToQueue(queue: ProjectionQueue, messages: readonly ProjectionMessage[]) {
  for (const batch of sendBatches(bundles(messages))) await queue.sendBatch(batch.map((body) => ({ body })));
}

/** One drain sends for at most this long, then leaves the rest to the next request's drain. */
export const DRAIN_BUDGET_MS = 5_000;
/** How long one `sendBatch` may take before the drain gives up on it (the alarms re-send). */
export const SEND_MS = 10_000;
/** A drain not finished after this long is taken for dead (its request's context was cancelled). */
const STALE_DRAIN_MS = DRAIN_BUDGET_MS + 2 * SEND_MS;

/**
 * Summaries gathered across the requests one Worker isolate serves, newest version per job. The
 * request that finds no drain running starts one inside its own `waitUntil`: it waits
 * {@link GATHER_MS}, sends what has gathered, and goes on while more arrives — so a hot job whose
 * send is in flight coalesces into one message per round, not one per event. A drain is bounded
 * ({@link DRAIN_BUDGET_MS}) because `waitUntil` is. What a drain could not send — its send failed, or
 * its time ran out with summaries still gathered — it hands to `unsent`, which asks those jobs'
 * ledgers to check D1 within a second (`JobLedger.checkSoon`) rather than at their usual 30 s: the
 * list shows a change within 2 s even if this isolate gets no further request. No promise is
 * shared between requests (workerd ties I/O to the request that started it); only plain data is.
 */
export class ProjectionGatherer {
  private readonly pending = new Map<string, ProjectionMessage>();
  private drainingSince: number | null = null;

  offer(message: ProjectionMessage, outlet: ProjectionOutlet) {
    const kept = this.pending.get(message.jobKey);
    if (kept === undefined || kept.version < message.version) this.pending.set(message.jobKey, message);
    const now = Date.now();
    if (this.drainingSince !== null && now - this.drainingSince < STALE_DRAIN_MS) return;
    this.drainingSince = now;
    outlet.waitUntil(this.drain(outlet, now));
  }

  private async drain(outlet: ProjectionOutlet, startedAt: number): Promise<void> {
    try {
      do {
        await new Promise((resolve) => setTimeout(resolve, GATHER_MS));
        await this.sendPending(outlet);
      } while (this.pending.size > 0 && Date.now() - startedAt < DRAIN_BUDGET_MS);
      if (this.pending.size > 0) {
        const left = [...this.pending.keys()];
        this.pending.clear();
        await handOver(outlet, left, "projection drain out of time");
      }
    } finally {
      if (this.drainingSince === startedAt) this.drainingSince = null;
    }
  }

  private async sendPending(outlet: ProjectionOutlet): Promise<void> {
    const messages = [...this.pending.values()];
    this.pending.clear();
    if (messages.length === 0) return;
    try {
      await withDeadline(sendToQueue(outlet.queue, messages), SEND_MS, "the projection send");
    } catch (error) {
      const jobKeys = messages.map((message) => message.jobKey);
      await handOver(
        outlet,
        jobKeys,
        `projection send failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}

/** Where a request's gathered summaries go: the queue, the request's `waitUntil`, and the ledgers. */
export interface ProjectionOutlet {
  queue: ProjectionQueue;
  waitUntil: (work: Promise<unknown>) => void;
  /** Asks these jobs' ledgers to check D1 within a second (`JobLedger.checkSoon`). */
  unsent: (jobKeys: readonly string[]) => Promise<void>;
}

/** Hands summaries the Worker could not send to their ledgers' safety checks, which re-send them. */
async function handOver(outlet: ProjectionOutlet, jobKeys: readonly string[], why: string): Promise<void> {
  log({ level: "warn", msg: "projection handed to the ledgers' checks", why, jobs: jobKeys.length });
  try {
    await withDeadline(outlet.unsent(jobKeys), SEND_MS, "asking the ledgers to check");
  } catch (error) {
    // Their usual check, 30 s after the change, still re-sends: nothing is lost.
    log({ level: "warn", msg: "ledgers not reached; their usual check re-sends", error: String(error) });
  }
}

/** The summaries a queue message carries, or null if it is not one of ours. */
function summariesIn(body: unknown): ProjectionMessage[] | null {
  if (isProjectionMessage(body)) return [body];
  if (typeof body !== "object" || body === null) return null;
  const summaries = (body as Partial<ProjectionBundle>).summaries;
  if (!Array.isArray(summaries) || !summaries.every(isProjectionMessage)) return null;
  return summaries;
}

function isProjectionMessage(body: unknown): body is ProjectionMessage {
  if (typeof body !== "object" || body === null) return false;
  const message = body as Partial<ProjectionMessage>;
  return (
    typeof message.jobKey === "string" &&
    typeof message.version === "number" &&
    typeof message.summary === "object" &&
    message.summary !== null &&
    message.summary.jobKey === message.jobKey
  );
}

/** Retry delay of a failed batch: doubling with the attempts, at most a minute. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(2 ** Math.max(0, attempts - 1), 60);
}

/** The dead-letter queue and its `max_retries` (wrangler.jsonc; scripts/config.test.mjs holds them equal). */
export const DEAD_LETTER_QUEUE = "runledger-projection-dlq";
export const DEAD_LETTER_MAX_RETRIES = 10;

type ConsumerEnv = Pick<Env, "DB" | "CHANGES" | "PROJECTION" | "PROJECTION_DLQ">;

/**
 * The consumer of the projection queue and of its dead-letter queue: writes the batch's newest
 * summary per job to D1 in one transaction, or has the whole batch retried with backoff. The
 * version guard makes a retried, replayed or reordered batch change nothing it should not.
 *
 * When the batch's write fails but some jobs land one at a time, each message is settled by its
 * own summaries: all landed → acked; none → retried (and, past its retries, dead-lettered by the
 * queue); some → the refused ones are sent again as a message of their own (to the queue the batch
 * came from) before the message is acked, so a summary D1 always refuses travels alone, is
 * retried alone and reaches the dead-letter queue once. Its last attempt there is reported
 * (`projection summary abandoned`, docs/OPERATING.md) and acked.
 */
export async function consumeProjection(batch: MessageBatch<unknown>, env: ConsumerEnv): Promise<void> {
  // A queue message is a bundle of summaries (from the Worker) or one summary (a ledger's re-send).
  const summariesOf = new Map<Message<unknown>, ProjectionMessage[]>();
  const messages: ProjectionMessage[] = [];
  for (const message of batch.messages) {
    const summaries = summariesIn(message.body);
    if (summaries === null) {
      log({ level: "error", msg: "malformed projection message dropped", id: message.id });
      message.ack();
      continue;
    }
    summariesOf.set(message, summaries);
    messages.push(...summaries);
  }
  const attempts = Math.max(1, ...batch.messages.map((message) => message.attempts));
  const retryLater = (error: unknown, scope: Record<string, unknown>) => {
    log({
      level: "warn",
      msg: "projection write failed; retrying",
      queue: batch.queue,
      attempts,
      ...scope,
      error: error instanceof Error ? error.message : String(error),
    });
    return { delaySeconds: retryDelaySeconds(attempts) };
  };
  const latest = latestPerJob(messages);
  let sequence = 0;
  try {
    const write = await writeSummaries(env.DB, latest);
    sequence = write.sequence;
    log({
      level: "info",
      msg: "projection written",
      queue: batch.queue,
      messages: messages.length,
      ...write,
    });
    batch.ackAll();
  } catch (batchError) {
    // One bad summary must not hold the others back: write them one job at a time. If none lands,
    // D1 itself is down: the whole batch is retried.
    const refused = new Map<string, { message: ProjectionMessage; error: unknown }>();
    for (const message of latest) {
      try {
        sequence = Math.max(sequence, (await writeSummaries(env.DB, [message])).sequence);
      } catch (error) {
        refused.set(message.jobKey, { message, error });
      }
    }
    if (refused.size === latest.length) {
      const options = retryLater(batchError, { jobs: latest.length });
      const last = [...summariesOf.keys()].filter((message) => isLastAttempt(batch.queue, message));
      if (last.length === 0) {
        batch.retryAll(options);
        return;
      }
      for (const [message, summaries] of summariesOf) {
        if (last.includes(message)) abandon(message, summaries, refused);
        else message.retry(options);
      }
      return;
    }
    for (const [message, summaries] of summariesOf) {
      await settle(batch.queue, message, summaries, refused, env, retryLater);
    }
    log({
      level: "info",
      msg: "projection written one job at a time",
      queue: batch.queue,
      jobs: latest.length - refused.size,
      failed: refused.size,
    });
  }
  // Wake the change feed's long polls. Best effort: a waiter not woken re-reads D1 within seconds.
  try {
    await env.CHANGES.get(env.CHANGES.idFromName(HUB_NAME)).notify(sequence);
  } catch (error) {
    log({ level: "warn", msg: "change hub not notified", error: String(error) });
  }
  // After the wake-up, which must not wait for it (CONTRACT §6: within 2 s).
  await pruneWhenDue(env.DB);
}

/** When this isolate's consumer last pruned the overview's old bucket rows. */
let prunedAt = 0;

/**
 * Deletes the overview's bucket rows older than any window (src/projection/counters.ts), at most
 * every {@link PRUNE_EVERY_MS} per isolate. Best effort: rows left over are only read by no call.
 */
async function pruneWhenDue(db: D1Database): Promise<void> {
  const now = Date.now();
  if (now - prunedAt < PRUNE_EVERY_MS) return;
  prunedAt = now;
  try {
    await pruneCounters(db, now);
  } catch (error) {
    log({ level: "warn", msg: "old counter rows not pruned", error: String(error) });
  }
}

/** Whether this is a message's last delivery: its dead-letter queue's retries are spent. */
function isLastAttempt(queue: string, message: Message<unknown>): boolean {
  return queue === DEAD_LETTER_QUEUE && message.attempts > DEAD_LETTER_MAX_RETRIES;
}

/**
 * Reports, once, the summaries of a message on its last attempt that D1 refused, and acks it rather
 * than let it vanish silently. The ledgers stop re-sending a version D1 keeps refusing
 * (src/ledger/safety.ts); `npm run reproject` writes it once D1 takes it (docs/OPERATING.md).
 */
function abandon(
  message: Message<unknown>,
  summaries: readonly ProjectionMessage[],
  refused: ReadonlyMap<string, { message: ProjectionMessage; error: unknown }>,
): void {
  for (const jobKey of new Set(summaries.map((summary) => summary.jobKey))) {
    const found = refused.get(jobKey);
    if (found === undefined) continue;
    log({
      level: "error",
      msg: "projection summary abandoned",
      jobKey,
      version: found.message.version,
      error: found.error instanceof Error ? found.error.message : String(found.error),
    });
  }
  message.ack();
}

/** Acks, retries or splits one message of a batch written one job at a time (see above). */
async function settle(
  queue: string,
  message: Message<unknown>,
  summaries: readonly ProjectionMessage[],
  refused: ReadonlyMap<string, { message: ProjectionMessage; error: unknown }>,
  env: ConsumerEnv,
  retryLater: (error: unknown, scope: Record<string, unknown>) => { delaySeconds: number },
): Promise<void> {
  const jobs = new Set(summaries.map((summary) => summary.jobKey));
  const failed = [...jobs].flatMap((jobKey) => {
    const found = refused.get(jobKey);
    return found === undefined ? [] : [found];
  });
  if (failed.length === 0) {
    message.ack();
    return;
  }
  if (failed.length === jobs.size) {
    if (isLastAttempt(queue, message)) abandon(message, summaries, refused);
    else message.retry(retryLater(failed[0]?.error, { jobKeys: failed.map((item) => item.message.jobKey) }));
    return;
  }
  // Some of its summaries landed: the refused ones go on as a message of their own.
  const target = queue === DEAD_LETTER_QUEUE ? env.PROJECTION_DLQ : env.PROJECTION;
  try {
    await sendToQueue(
      target,
      failed.map((item) => item.message),
    );
    log({
      level: "warn",
      msg: "refused summaries re-sent on their own",
      queue,
      jobKeys: failed.map((item) => item.message.jobKey),
    });
    message.ack();
  } catch (error) {
    // The version guard makes retrying the whole message safe for the summaries that landed.
    message.retry(retryLater(error, { jobKeys: failed.map((item) => item.message.jobKey) }));
  }
}
