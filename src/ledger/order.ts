/**
 * @module The ordering rule of CONTRACT §4 as pure functions, and the job's derived state kept up to
 * date one event at a time. The ledger stores this state on its job row and updates it when an
 * event is first stored — comparing the new event's ordering key with the one that set each fact —
 * so reading a summary never scans the history.
 */
import type { Failure, Status } from "../core/vocabulary";
import type { StoredEvent } from "./types";

/**
 * The time an event orders by (docs/DESIGN.md, "Ordering"). By default the vendor's own time, as CONTRACT §4
 * says. A vendor clock can be wrong, and Alfred's `event_time` accepts years up to 9999: an event
 * stamped far ahead wins every later comparison and pins the job's status and its place in the
 * list. With a horizon (`FUTURE_HORIZON_SECONDS`), an event stamped more than that after its first
 * receipt orders as if it happened at its receipt plus the horizon; its `occurredAt` is still shown
 * as the vendor sent it.
 */
export function orderTime(occurredAt: number, receivedAt: number, horizonMs: number | null): number {
  return horizonMs === null ? occurredAt : Math.min(occurredAt, receivedAt + horizonMs);
}

/** Where an event sits in a job's order. `arrival` is 1 for the job's first distinct event. */
export interface OrderKey {
  /** {@link orderTime}: the vendor's time unless a horizon capped it. */
  orderAt: number;
  rank: number;
  terminal: boolean;
  arrival: number;
}

/**
 * The one order of a job's events (CONTRACT §4), used both for history (oldest first) and for the
 * status (the last event that has one decides): time, then lifecycle order — a terminal event after
 * a non-terminal one, then the later lifecycle step — then arrival. One rule, so the last history
 * entry with a status is always the event that set the summary's status. Negative when `a` comes
 * first.
 */
export function compareEvents(a: OrderKey, b: OrderKey): number {
  return (
    a.orderAt - b.orderAt ||
    Number(a.terminal) - Number(b.terminal) ||
    a.rank - b.rank ||
    a.arrival - b.arrival
  );
}

/** A value and the ordering key of the event it came from. */
export interface Fact<T> {
  value: T;
  at: OrderKey;
}

export interface CurrentStatus {
  status: Status;
  /** The vendor's own value, else the type of the deciding event. */
  vendorStatus: string;
  terminal: boolean;
  failure: Failure | null;
}

/** Everything a summary needs beyond the job row's counters. */
export interface JobState {
  /** Set by the status-bearing event that comes last by {@link compareEvents}; null until one arrives. */
  status: Fact<CurrentStatus> | null;
  /** The type of the latest event in history order: the vendor status of a job with no status yet. */
  latestType: Fact<string> | null;
  /**
   * The latest non-null value of each job-level fact, in history order. The company id is not one:
   * it is fixed by the first event that names it (CONTRACT §4 "Tenancy"), on the job row (./tenancy).
   */
  companyName: Fact<string> | null;
  name: Fact<string> | null;
  stage: Fact<string> | null;
  retries: Fact<number> | null;
}

export const EMPTY_STATE: JobState = {
  status: null,
  latestType: null,
  companyName: null,
  name: null,
  stage: null,
  retries: null,
};

/** The newer of a kept fact and a candidate value, by history order; null values never win. */
function newer<T>(kept: Fact<T> | null, value: T | null, at: OrderKey): Fact<T> | null {
  if (value === null) return kept;
  if (kept !== null && compareEvents(at, kept.at) < 0) return kept;
  return { value, at };
}

/** What of an event the state is derived from. */
export type EventFacts = Pick<
  StoredEvent,
  | "eventType"
  | "status"
  | "vendorStatus"
  | "terminal"
  | "rank"
  | "orderAt"
  | "companyName"
  | "name"
  | "stage"
  | "retries"
  | "failure"
>;

/** The state after a newly stored event (never called for a repeat delivery). */
export function applyEvent(state: JobState, event: EventFacts, arrival: number): JobState {
  const at: OrderKey = {
    orderAt: event.orderAt,
    rank: event.rank,
    terminal: event.terminal,
    arrival,
  };
  let status = state.status;
  if (event.status !== null && (status === null || compareEvents(at, status.at) > 0)) {
    status = {
      value: {
        status: event.status,
        vendorStatus: event.vendorStatus ?? event.eventType,
        terminal: event.terminal,
        failure: event.failure,
      },
      at,
    };
  }
  return {
    status,
    latestType: newer(state.latestType, event.eventType, at),
    companyName: newer(state.companyName, event.companyName, at),
    name: newer(state.name, event.name, at),
    stage: newer(state.stage, event.stage, at),
    retries: newer(state.retries, event.retries, at),
  };
}
