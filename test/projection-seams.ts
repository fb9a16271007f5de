/**
 * @module The projection path's test seams, shared by the projection, alarm and fault tests: a
 * queue that keeps, fails or holds its sends; a D1 that is down or loses answers; delivery through
 * an app wired to a fake queue; the consumer run on given messages; a job's D1 row.
 */
import {
  createExecutionContext,
  createMessageBatch,
  env,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import { expect } from "vitest";
import type { createApp } from "../src/app";
import type { ProjectionBundle, ProjectionMessage, ProjectionQueue } from "../src/core/summary";
import worker from "../src/index";
import type { JobLedger } from "../src/ledger/job-ledger";
import { extendEvent, signedExtendRequest } from "./helpers";

export const QUEUE = "runledger-projection";

export function ledger(jobKey: string): DurableObjectStub<JobLedger> {
  return env.JOBS.get(env.JOBS.idFromName(jobKey));
}

/** A queue that keeps what it is sent, and can be told to fail or to hold its sends. */
export function fakeQueue() {
  const sent: ProjectionMessage[] = [];
  const calls: number[] = [];
  let failing = false;
  let held: Promise<void> = Promise.resolve();
  const queue: ProjectionQueue = {
    async sendBatch(messages) {
      await held;
      if (failing) throw new Error("queue unavailable");
      const bodies = [...messages].flatMap((message) =>
        "summaries" in message.body ? message.body.summaries : [message.body],
      );
      calls.push(bodies.length);
      sent.push(...bodies);
    },
  };
  return {
    queue,
    sent,
    calls,
    fail: (value: boolean) => {
      failing = value;
    },
    hold: () => {
      let release: () => void = () => undefined;
      held = new Promise((resolve) => {
        release = resolve;
      });
      return release;
    },
  };
}

/** Sends through an app whose projection goes to `queue`, waiting for its waitUntil work. */
export async function deliver(app: ReturnType<typeof createApp>, body: object): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await app.fetch(await signedExtendRequest(body), env, ctx);
  await waitOnExecutionContext(ctx);
  expect(response.status, await response.clone().text()).toBe(200);
  return response;
}

/** Runs the Worker's queue consumer on `messages`, with `db` as its D1. */
export async function consume(
  messages: (ProjectionMessage | ProjectionBundle)[],
  db: D1Database = env.DB,
  attempts = 1,
  overrides: { queue?: string; PROJECTION?: ProjectionQueue; PROJECTION_DLQ?: ProjectionQueue } = {},
) {
  const { queue = QUEUE, ...queues } = overrides;
  const batch = createMessageBatch<ProjectionMessage | ProjectionBundle>(
    queue,
    messages.map((body, n) => ({
      id: `msg-${n}-${crypto.randomUUID()}`,
      timestamp: new Date(),
      body,
      attempts,
    })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, { ...env, DB: db, ...queues } as Env, ctx);
  return getQueueResult(batch, ctx);
}

export interface D1JobRow {
  version: number;
  event_count: number;
  delivery_count: number;
  status: string;
}

export async function d1Row(jobKey: string): Promise<D1JobRow | null> {
  return env.DB.prepare("SELECT version, event_count, delivery_count, status FROM jobs WHERE job_key = ?")
    .bind(jobKey)
    .first<D1JobRow>();
}

/** A D1 that is down: every statement fails, as during an outage. */
export const d1Down = {
  prepare: () => {
    throw new Error("D1_ERROR: database unavailable (injected)");
  },
  batch: () => Promise.reject(new Error("D1_ERROR: database unavailable (injected)")),
} as unknown as D1Database;

/** A D1 whose batch commits, then fails to answer: the consumer must retry, and the retry must not count twice. */
export const d1LosesAnswers = {
  prepare: (sql: string) => env.DB.prepare(sql),
  batch: async (statements: D1PreparedStatement[]) => {
    await env.DB.batch(statements);
    throw new Error("D1_ERROR: Network connection lost (injected, after commit)");
  },
} as unknown as D1Database;

export const run = (id: string, type: string, minute: number, eventId?: string) =>
  extendEvent(type, { id, updatedAt: `2026-05-01T10:${String(minute).padStart(2, "0")}:00Z` }, eventId);
