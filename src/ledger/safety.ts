/**
 * @module The ledger's safety net (docs/DESIGN.md, "Consistency and failure"): after a change, an
 * alarm checks that D1 holds the job's latest version and re-sends the summary to the projection
 * queue when it does not; failures back off, doubling. The Worker normally sends the summary
 * within milliseconds, so this is for a lost send, a dead-lettered batch or a D1 outage.
 */
import type { ProjectionMessage, ProjectionQueue } from "../core/summary";
import { withDeadline } from "../deadline";
import { type JobRecord, summaryOf } from "./job-record";

/** How long after a change the ledger checks that D1 holds it. */
export const PROJECTION_CHECK_MS = 30_000;
/** Retry delays of a failed check or link: doubling from the first, capped. */
export const RETRY_FIRST_MS = 1_000;
export const RETRY_MAX_MS = 60_000;
/** How long one call from the alarm (a D1 read, a queue send) may take. */
export const ALARM_CALL_MS = 10_000;
/**
 * How soon the check runs when the Worker could not send a change's summary itself (its send
 * failed, or its drain ran out of time): CONTRACT §3.3 lists a change within 2 s.
 */
export const CHECK_SOON_MS = 1_000;
/**
 * Re-sends of one version that D1 — answering — still lacks at the next check before the ledger
 * stops: D1 refuses that summary, and the queue has dead-lettered and reported it. A new version
 * (the next delivery) or `npm run reproject` sends it again.
 */
export const RESENDS_OF_A_VERSION = 3;

/** The seam through which a ledger asks D1 what it holds; tests put a failing one in its place. */
export interface ProjectionReader {
  /** The version D1 holds for `jobKey`, or null if it has no row. */
  versionOf(jobKey: string): Promise<number | null>;
}

/** Reads the version D1's `jobs` holds for a job (the projection's table, migrations/). */
export function d1ProjectionReader(db: D1Database): ProjectionReader {
  return {
    async versionOf(jobKey) {
      const row = await db
        .prepare("SELECT version FROM jobs WHERE job_key = ?")
        .bind(jobKey)
        .first<{ version: number }>();
      return row?.version ?? null;
    },
  };
}

/** The delay before the `attempts`-th retry of a failed check. */
export function retryDelay(attempts: number): number {
  return Math.min(RETRY_FIRST_MS * 2 ** (attempts - 1), RETRY_MAX_MS);
}

/** What a check found: D1 holds a version at least the job's, or it was sent again, or given up. */
export type CheckOutcome = { held: number } | { resent: true } | { abandoned: true };

/**
 * Confirms that D1 holds `job`'s latest version — answering the version D1 holds, to be kept as
 * `projected_version` — or sends the summary to the projection queue again, unless it has been
 * sent {@link RESENDS_OF_A_VERSION} times already (`resends`) and D1 still lacks it.
 */
export async function checkProjection(
  job: JobRecord,
  reader: ProjectionReader,
  queue: ProjectionQueue,
  resends: number,
): Promise<CheckOutcome> {
  if (job.projected_version >= job.version) return { held: job.projected_version };
  const inD1 = await withDeadline(reader.versionOf(job.job_key), ALARM_CALL_MS, "the D1 check");
  if (inD1 !== null && inD1 >= job.version) return { held: inD1 };
  if (resends >= RESENDS_OF_A_VERSION) {
    console.log(
      JSON.stringify({
        level: "error",
        msg: "projection abandoned: D1 keeps refusing this version",
        jobKey: job.job_key,
        version: job.version,
        inD1,
        resends,
      }),
    );
    return { abandoned: true };
  }
  const message: ProjectionMessage = { jobKey: job.job_key, version: job.version, summary: summaryOf(job) };
  await withDeadline(queue.sendBatch([{ body: message }]), ALARM_CALL_MS, "the projection send");
  console.log(
    JSON.stringify({
      level: "info",
      msg: "projection re-sent by the safety check",
      jobKey: job.job_key,
      version: job.version,
      inD1,
    }),
  );
  return { resent: true };
}

/**
 * The check as a ledger runs it, counting re-sends of one version: answers a higher version D1 is
 * known to hold (to keep as `projected_version`), or null. `givenUp` tells the ledger to stop
 * arming its check for a version D1 keeps refusing, until the next version.
 */
export function projectionCheck() {
  let version = 0;
  let resends = 0;
  let givenUp = false;
  return {
    async run(job: JobRecord, reader: ProjectionReader, queue: ProjectionQueue): Promise<number | null> {
      if (version !== job.version) [version, resends, givenUp] = [job.version, 0, false];
      const found = await checkProjection(job, reader, queue, resends);
      if ("resent" in found) resends += 1;
      if ("abandoned" in found) givenUp = true;
      return "held" in found && found.held > job.projected_version ? found.held : null;
    },
    givenUp: (job: JobRecord): boolean => givenUp && version === job.version,
  };
}

/** Where the projection stands, for operators and tests. */
export interface ProjectionState {
  version: number;
  /** The highest version D1 is known to hold (0 until the safety check has seen it there). */
  projectedVersion: number;
  /** Links to other ledgers not yet delivered. */
  pendingLinks: number;
}

/**
 * The object's alarm, with its time kept as last set or read, so arming it per delivery costs no
 * read. `arm` sets it for `at` unless one is pending sooner: a later one is brought forward, a
 * sooner one (a retry in progress) is left alone, so new events never cut a backoff short.
 */
export function alarmClock(storage: DurableObjectStorage, initially?: null) {
  let pending: number | null | undefined = initially;
  return {
    async arm(at: number): Promise<void> {
      if (pending === undefined) pending = await storage.getAlarm();
      if (pending !== null && pending <= at) return;
      pending = at;
      await storage.setAlarm(at);
    },
    /** The alarm fired: none is pending until one is armed again. */
    fired(): void {
      pending = null;
    },
  };
}

/**
 * Runs each step of the check even when one before it failed (a D1 outage must not hold links
 * back), and answers the first failure, or null when all succeeded.
 */
export async function runSteps(steps: readonly (() => Promise<unknown>)[]): Promise<unknown> {
  let failure: unknown = null;
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      failure ??= error;
    }
  }
  return failure;
}

/** Logs a failed check and answers when to retry it. */
export function retryAfterFailure(jobKey: string, attempt: number, failure: unknown): number {
  const delay = retryDelay(attempt);
  console.log(
    JSON.stringify({
      level: "warn",
      msg: "projection check, link or key registration failed; retrying",
      jobKey,
      attempt,
      retryInMs: delay,
      error: failure instanceof Error ? failure.message : String(failure),
    }),
  );
  return delay;
}
