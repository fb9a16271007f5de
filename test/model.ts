/**
 * @module An oracle: CONTRACT §4 (status, same-time ties, terminal rules, history order, dedup)
 * written as a small pure model, apart from the ledger and without importing any of `src/`. The
 * property tests (`oracle.property.test.ts`) deliver generated lifecycles to the Worker in
 * generated orders and hold the job's detail and its D1 row to what this model says.
 *
 * The model takes a job's deliveries in arrival order and answers what a reader must see:
 * - Dedup: an event id is stored once, from its first delivery (a repeat with other bytes is still
 *   a repeat); each delivery counts.
 * - Order: by the event's time; on a tie a terminal event after a non-terminal one, then the later
 *   lifecycle step, then the earlier arrival first (one rule for history and status, so the status
 *   is the last status-bearing entry of the history).
 * - Clocks: an event stamped more than the horizon (24 h by default) after its first receipt
 *   orders — and counts for `firstEventAt`/`lastEventAt` — as that receipt plus the horizon; its
 *   history entry still shows its own time (CONTRACT §4 "Clocks").
 */

/** `FUTURE_HORIZON_SECONDS`' default, in ms. */
export const DEFAULT_HORIZON_MS = 86_400_000;

/** What the contract says one event means, independent of how a vendor spells it. */
export interface ModelEvent {
  eventId: string;
  eventType: string;
  /** Milliseconds since the epoch: the event's own time. */
  time: number;
  /** Milliseconds since the epoch: when this delivery was received. */
  receivedAt: number;
  /** The normalized status it sets, or null for a history-only event. */
  status: string | null;
  terminal: boolean;
  /** Lifecycle step (CONTRACT §4): on a time tie the later step wins. */
  step: number;
}

export interface ModelJob {
  status: string;
  terminal: boolean;
  eventCount: number;
  deliveryCount: number;
  version: number;
  firstEventAt: string;
  lastEventAt: string;
  /** Event ids in history order, each with its delivery count and its time. */
  history: { eventId: string; eventType: string; deliveries: number; occurredAt: string }[];
}

interface Stored extends ModelEvent {
  arrival: number;
  deliveries: number;
  /** The time it orders by: its own, unless that is past its first receipt plus the horizon. */
  orderAt: number;
}

function compare(a: Stored, b: Stored): number {
  return (
    a.orderAt - b.orderAt ||
    Number(a.terminal) - Number(b.terminal) ||
    a.step - b.step ||
    a.arrival - b.arrival
  );
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The job a reader must see after these deliveries, in this arrival order. */
export function modelJob(deliveries: readonly ModelEvent[], horizonMs = DEFAULT_HORIZON_MS): ModelJob {
  const stored = new Map<string, Stored>();
  for (const event of deliveries) {
    const kept = stored.get(event.eventId);
    if (kept === undefined) {
      const orderAt = Math.min(event.time, event.receivedAt + horizonMs);
      stored.set(event.eventId, { ...event, arrival: stored.size + 1, deliveries: 1, orderAt });
    } else kept.deliveries += 1;
  }
  const history = [...stored.values()].sort(compare);
  const deciding = history.filter((event) => event.status !== null).at(-1);
  const times = history.map((event) => event.orderAt);
  return {
    // A job no status-bearing event has reached is known, not yet started (docs/DESIGN.md).
    status: deciding?.status ?? "pending",
    terminal: deciding?.terminal ?? false,
    eventCount: stored.size,
    deliveryCount: deliveries.length,
    version: deliveries.length,
    firstEventAt: iso(Math.min(...times)),
    lastEventAt: iso(Math.max(...times)),
    history: history.map((event) => ({
      eventId: event.eventId,
      eventType: event.eventType,
      deliveries: event.deliveries,
      occurredAt: iso(event.time),
    })),
  };
}

/**
 * Alfred job events as CONTRACT §4 maps them: create → pending; start, retry → processing; a stage
 * update by its stage (completed → succeeded, failed/invalid → failed, cancelled → cancelled,
 * queued → pending, else processing); failed → failed, terminal only with exceeded retries;
 * exceeded retries, invalid → failed (terminal); finished → succeeded (terminal). Steps: create <
 * start < stage update < retry < failed < exceeded retries = invalid = finished.
 */
export type AlfredJobEvent =
  | {
      name:
        | "job_create"
        | "job_start"
        | "job_retry"
        | "job_exceeded_retries"
        | "job_invalid"
        | "job_finished";
    }
  | { name: "job_stage_update"; stage: string }
  | { name: "job_failed"; exceededRetries: boolean };

export function alfredMeaning(event: AlfredJobEvent): Pick<ModelEvent, "status" | "terminal" | "step"> {
  switch (event.name) {
    case "job_create":
      return { status: "pending", terminal: false, step: 0 };
    case "job_start":
      return { status: "processing", terminal: false, step: 1 };
    case "job_stage_update": {
      const byStage: Record<string, [string, boolean]> = {
        completed: ["succeeded", true],
        // A stage `failed` is a failure the job may retry; `invalid` ends it (contract §5 "terminal").
        failed: ["failed", false],
        invalid: ["failed", true],
        cancelled: ["cancelled", true],
        queued: ["pending", false],
      };
      const [status, terminal] = byStage[event.stage] ?? ["processing", false];
      return { status, terminal, step: 2 };
    }
    case "job_retry":
      return { status: "processing", terminal: false, step: 3 };
    case "job_failed":
      return { status: "failed", terminal: event.exceededRetries, step: 4 };
    case "job_exceeded_retries":
    case "job_invalid":
      return { status: "failed", terminal: true, step: 5 };
    case "job_finished":
      return { status: "succeeded", terminal: true, step: 5 };
  }
}

/**
 * Extend workflow-run events as CONTRACT §4 maps them (the event type decides, not
 * `payload.status`): a step run → processing; needs review → needs_review; completed → succeeded;
 * failed, cancelled, rejected → themselves. All but the first two are terminal.
 */
export const EXTEND_RUN_EVENTS = {
  "workflow_run.step_run.processed": { status: "processing", terminal: false, step: 1 },
  "workflow_run.needs_review": { status: "needs_review", terminal: false, step: 2 },
  "workflow_run.completed": { status: "succeeded", terminal: true, step: 3 },
  "workflow_run.failed": { status: "failed", terminal: true, step: 3 },
  "workflow_run.cancelled": { status: "cancelled", terminal: true, step: 3 },
  "workflow_run.rejected": { status: "rejected", terminal: true, step: 3 },
} as const satisfies Record<string, Pick<ModelEvent, "status" | "terminal" | "step">>;

export type ExtendRunEvent = keyof typeof EXTEND_RUN_EVENTS;
