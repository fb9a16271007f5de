/**
 * @module The fan-in from ledgers to D1 through the `PROJECTION` queue (README, "Consistency and
 * failure"). The Worker collects the summaries its ledgers answer with, newest version per job,
 * and sends them in batches; the queue's consumer writes each batch to D1 in one transaction. A
 * ledger's safety alarm re-sends whatever D1 still lacks, so a lost send or a dead-lettered batch
 * only delays a summary.
 */
import { HUB_NAME } from "../changes/hub";
import type { ProjectionBundle, ProjectionMessage, ProjectionQueue } from "../core/summary";
import { withDeadline } from "../deadline";
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
 * ({@link DRAIN_BUDGET_MS}) because `waitUntil` is; what a quiet isolate leaves behind, and any send
 * that fails, the ledgers' safety alarms re-send. No promise is shared between requests (workerd
 * ties I/O to the request that started it); only plain data is.
 */
export class ProjectionGatherer {
  private readonly pending = new Map<string, ProjectionMessage>();
  private drainingSince: number | null = null;

  offer(message: ProjectionMessage, queue: ProjectionQueue, waitUntil: (work: Promise<unknown>) => void) {
    const kept = this.pending.get(message.jobKey);
    if (kept === undefined || kept.version < message.version) this.pending.set(message.jobKey, message);
    const now = Date.now();
    if (this.drainingSince !== null && now - this.drainingSince < STALE_DRAIN_MS) return;
    this.drainingSince = now;
    waitUntil(this.drain(queue, now));
  }

  private async drain(queue: ProjectionQueue, startedAt: number): Promise<void> {
    try {
      do {
        await new Promise((resolve) => setTimeout(resolve, GATHER_MS));
        await this.sendPending(queue);
      } while (this.pending.size > 0 && Date.now() - startedAt < DRAIN_BUDGET_MS);
    } finally {
      if (this.drainingSince === startedAt) this.drainingSince = null;
    }
  }

  private async sendPending(queue: ProjectionQueue): Promise<void> {
    const messages = [...this.pending.values()];
    this.pending.clear();
    if (messages.length === 0) return;
    try {
      await withDeadline(sendToQueue(queue, messages), SEND_MS, "the projection send");
    } catch (error) {
      // Each of these ledgers re-sends its summary from its safety alarm: nothing is lost.
      log({
        level: "warn",
        msg: "projection send failed; the ledgers' alarms will re-send",
        jobs: messages.length,
        error: error instanceof Error ? error.message : String(error),
      });
    }
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

/**
 * The consumer of the projection queue and of its dead-letter queue: writes the batch's newest
 * summary per job to D1 in one transaction, or has the whole batch retried with backoff. The
 * version guard makes a retried, replayed or reordered batch change nothing it should not.
 */
export async function consumeProjection(
  batch: MessageBatch<unknown>,
  env: Pick<Env, "DB" | "CHANGES">,
): Promise<void> {
  // A queue message is a bundle of summaries (from the Worker) or one summary (a ledger's re-send).
  const byJob = new Map<string, Message<unknown>[]>();
  const messages: ProjectionMessage[] = [];
  for (const message of batch.messages) {
    const summaries = summariesIn(message.body);
    if (summaries === null) {
      log({ level: "error", msg: "malformed projection message dropped", id: message.id });
      message.ack();
      continue;
    }
    for (const summary of summaries) {
      messages.push(summary);
      byJob.set(summary.jobKey, [...(byJob.get(summary.jobKey) ?? []), message]);
    }
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
    // One bad summary must not hold the others back: write them one job at a time, ack what lands,
    // retry what does not. If none lands, D1 itself is down: the whole batch is retried.
    const failed: { message: ProjectionMessage; error: unknown }[] = [];
    for (const message of latest) {
      try {
        sequence = Math.max(sequence, (await writeSummaries(env.DB, [message])).sequence);
        for (const queued of byJob.get(message.jobKey) ?? []) queued.ack();
      } catch (error) {
        failed.push({ message, error });
      }
    }
    if (failed.length === latest.length) {
      batch.retryAll(retryLater(batchError, { jobs: latest.length }));
      return;
    }
    for (const { message, error } of failed) {
      const options = retryLater(error, { jobKey: message.jobKey });
      for (const queued of byJob.get(message.jobKey) ?? []) queued.retry(options);
    }
    log({
      level: "info",
      msg: "projection written one job at a time",
      queue: batch.queue,
      jobs: latest.length - failed.length,
      failed: failed.length,
    });
  }
  // Wake the change feed's long polls. Best effort: a waiter not woken re-reads D1 within seconds.
  try {
    await env.CHANGES.get(env.CHANGES.idFromName(HUB_NAME)).notify(sequence);
  } catch (error) {
    log({ level: "warn", msg: "change hub not notified", error: String(error) });
  }
}
