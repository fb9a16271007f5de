/**
 * @module The ledger's own SQLite schema, versioned: each step runs once, in order, inside the
 * object's constructor, so an object created by an older release is brought up to date the first
 * time the new code touches it. Add a step; never edit one that has shipped. The version lives in
 * a one-row table, because Durable Object SQLite refuses `PRAGMA user_version` (SQLITE_AUTH).
 */

import type { Failure, Status } from "../core/vocabulary";
import { applyEvent, EMPTY_STATE, type EventFacts, type JobState } from "./order";

/**
 * How many receipt times each event keeps: its last five deliveries. Enough to see a vendor's
 * retry schedule (Extend and Svix-style senders back off over minutes to hours) at a bounded
 * size per event whatever a retry storm does; `deliveries` still counts every one.
 */
export const RECEIPTS_KEPT = 5;

/** Version 1: the schema as first released (history, raw chunks, job counters, links, outbox). */
export const SCHEMA_V1 = `
CREATE TABLE IF NOT EXISTS events (
  event_id TEXT PRIMARY KEY,
  arrival INTEGER NOT NULL,
  event_type TEXT NOT NULL,
  status TEXT,
  vendor_status TEXT,
  terminal INTEGER NOT NULL,
  rank INTEGER NOT NULL,
  occurred_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  deliveries INTEGER NOT NULL,
  company_id TEXT,
  company_name TEXT,
  name TEXT,
  stage TEXT,
  retries INTEGER,
  failure TEXT,
  summary TEXT NOT NULL,
  raw_size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_in_order ON events (occurred_at, rank, terminal, arrival);
CREATE INDEX IF NOT EXISTS events_by_status ON events (occurred_at, terminal, rank, arrival) WHERE status IS NOT NULL;
CREATE TABLE IF NOT EXISTS raw_chunks (
  event_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (event_id, idx)
);
CREATE TABLE IF NOT EXISTS job (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  job_key TEXT NOT NULL,
  source TEXT NOT NULL,
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  role TEXT NOT NULL,
  event_count INTEGER NOT NULL,
  delivery_count INTEGER NOT NULL,
  first_event_at INTEGER NOT NULL,
  last_event_at INTEGER NOT NULL,
  last_received_at INTEGER NOT NULL,
  version INTEGER NOT NULL,
  flush_attempts INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS links (
  rel TEXT NOT NULL,
  job_key TEXT NOT NULL,
  occurred_at INTEGER NOT NULL,
  last_status TEXT,
  PRIMARY KEY (rel, job_key)
);
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  target TEXT,
  created_at INTEGER NOT NULL
);
`;

/**
 * Version 2, the lean ledger: the summary's derived state lives on the job row (updated as each
 * event is stored, never rebuilt by scanning), `projected_version` replaces an outbox row per
 * delivery, raw bodies that fit one row are stored inline, and the outbox keeps only links.
 */
const V2 = `
ALTER TABLE job ADD COLUMN state TEXT NOT NULL DEFAULT '{}';
ALTER TABLE job ADD COLUMN projected_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN raw BLOB;
DROP INDEX IF EXISTS events_by_status;
DELETE FROM outbox WHERE kind = 'project';
`;

interface V1EventRow extends Record<string, SqlStorageValue> {
  event_id: string;
  arrival: number;
  event_type: string;
  status: string | null;
  vendor_status: string | null;
  terminal: number;
  rank: number;
  occurred_at: number;
  company_id: string | null;
  company_name: string | null;
  name: string | null;
  stage: string | null;
  retries: number | null;
  failure: string | null;
}

/**
 * Rebuilds a job's state by replaying its events in arrival order with today's ordering rule
 * (`applyEvent`). Steps 2 and 4 call it; the state step 2 writes on an object from before step 4
 * is replaced by step 4's in the same migration, so only the current rule's state is ever stored.
 */
function backfillState(sql: SqlStorage): void {
  let state: JobState = EMPTY_STATE;
  for (const row of sql.exec<V1EventRow>("SELECT * FROM events ORDER BY arrival")) {
    const event: EventFacts = {
      eventType: row.event_type,
      status: row.status as Status | null,
      vendorStatus: row.vendor_status,
      terminal: row.terminal === 1,
      rank: row.rank,
      // Events stored before version 4 ordered by the vendor's time (no horizon existed).
      orderAt: row.occurred_at,
      companyName: row.company_name,
      name: row.name,
      stage: row.stage,
      retries: row.retries,
      failure: row.failure === null ? null : (JSON.parse(row.failure) as Failure),
    };
    state = applyEvent(state, event, row.arrival);
  }
  sql.exec("UPDATE job SET state = ?", JSON.stringify(state));
}

/** Version 3: each event keeps what authenticated its first delivery, for re-verification (CONTRACT §9). */
const V3 = "ALTER TABLE events ADD COLUMN auth TEXT;";

/**
 * Version 4, one order (docs/DESIGN.md, "Ordering"): history and status share one rule (time, terminal,
 * lifecycle step, arrival) over `order_at`, the time an event orders by — the vendor's time, or
 * receipt plus the operator's future horizon when it is further ahead. Events stored before had no
 * horizon; the summary state is rebuilt with the one rule.
 */
const V4 = `
ALTER TABLE events ADD COLUMN order_at INTEGER NOT NULL DEFAULT 0;
UPDATE events SET order_at = occurred_at;
DROP INDEX IF EXISTS events_in_order;
CREATE INDEX IF NOT EXISTS events_in_order_v4 ON events (order_at, terminal, rank, arrival);
`;

/**
 * Version 5: a file's ledger pushes its status to its job's ledger, with the file's version, so a
 * job's detail reads its files' statuses from its own links (no call per file) and an older push
 * never overwrites a newer one. NULL: a link made before pushes existed (its status is asked once).
 */
const V5 = "ALTER TABLE links ADD COLUMN status_version INTEGER;";

/**
 * Version 6, the key registry's acknowledgement (src/ledger/registration.ts): a row here means the
 * registry holds this job's key. Only a table of its own, so this step may run in any order with
 * other steps added beside it.
 */
const V6_REGISTRY_ACK = `
CREATE TABLE IF NOT EXISTS registry_ack (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  registered_at INTEGER NOT NULL
);
`;

/**
 * Version 7, tenancy (CONTRACT §4 "Tenancy"): a job's company is fixed by the first event that
 * names one, and kept on the job row (src/ledger/tenancy.ts). Until now the summary showed the
 * newest event's company; an object written before is given the company of its first event (in
 * arrival order) that named one.
 */
const V7_JOB_COMPANY = `
ALTER TABLE job ADD COLUMN company_id TEXT;
UPDATE job SET company_id = (SELECT company_id FROM events WHERE company_id IS NOT NULL ORDER BY arrival LIMIT 1);
`;

/**
 * Version 8, linked keys in scope (CONTRACT §5): a file pushes its company with its status, so a
 * job's detail shows each file only to tokens that may read it. Links made before are asked again
 * once (as step 5's were), which brings their company.
 */
const V8_LINK_COMPANY = `
ALTER TABLE links ADD COLUMN company_id TEXT;
UPDATE links SET status_version = NULL WHERE rel = 'file';
`;

/**
 * Version 9, receipt times (CONTRACT §8, the console's deliveries): each event keeps the receipt times
 * of its last {@link RECEIPTS_KEPT} deliveries, milliseconds since the epoch as a JSON array, oldest
 * first. An event stored before knows only its first receipt (`received_at`); the repeats it had then
 * have no time, and the list starts with the first receipt.
 */
const V9_RECEIPTS = `
ALTER TABLE events ADD COLUMN receipts TEXT NOT NULL DEFAULT '[]';
UPDATE events SET receipts = json_array(received_at);
`;

const STEPS: ((sql: SqlStorage) => void)[] = [
  (sql) => sql.exec(SCHEMA_V1),
  (sql) => {
    sql.exec(V2);
    backfillState(sql);
  },
  (sql) => sql.exec(V3),
  (sql) => {
    sql.exec(V4);
    backfillState(sql);
  },
  (sql) => sql.exec(V5),
  (sql) => sql.exec(V6_REGISTRY_ACK),
  (sql) => sql.exec(V7_JOB_COMPANY),
  (sql) => sql.exec(V8_LINK_COMPANY),
  (sql) => sql.exec(V9_RECEIPTS),
];

/**
 * The schema every step above builds, written at once for a new object: a ledger is created per
 * job, so a new job pays for its schema on its first delivery, and six steps of DDL (with a state
 * backfill over empty tables) cost it about as much as storing the event. Columns are in the order
 * the steps add them; `schema.test.ts` checks that this and the steps give the same tables,
 * columns and indexes. A new step must change this too.
 */
const CURRENT_SCHEMA = `
CREATE TABLE events (
  event_id TEXT PRIMARY KEY,
  arrival INTEGER NOT NULL,
  event_type TEXT NOT NULL,
  status TEXT,
  vendor_status TEXT,
  terminal INTEGER NOT NULL,
  rank INTEGER NOT NULL,
  occurred_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  deliveries INTEGER NOT NULL,
  company_id TEXT,
  company_name TEXT,
  name TEXT,
  stage TEXT,
  retries INTEGER,
  failure TEXT,
  summary TEXT NOT NULL,
  raw_size INTEGER NOT NULL,
  raw BLOB,
  auth TEXT,
  order_at INTEGER NOT NULL DEFAULT 0,
  receipts TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX events_in_order_v4 ON events (order_at, terminal, rank, arrival);
CREATE TABLE raw_chunks (
  event_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (event_id, idx)
);
CREATE TABLE job (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  job_key TEXT NOT NULL,
  source TEXT NOT NULL,
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  role TEXT NOT NULL,
  event_count INTEGER NOT NULL,
  delivery_count INTEGER NOT NULL,
  first_event_at INTEGER NOT NULL,
  last_event_at INTEGER NOT NULL,
  last_received_at INTEGER NOT NULL,
  version INTEGER NOT NULL,
  flush_attempts INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL DEFAULT '{}',
  projected_version INTEGER NOT NULL DEFAULT 0,
  company_id TEXT
);
CREATE TABLE links (
  rel TEXT NOT NULL,
  job_key TEXT NOT NULL,
  occurred_at INTEGER NOT NULL,
  last_status TEXT,
  status_version INTEGER,
  company_id TEXT,
  PRIMARY KEY (rel, job_key)
);
CREATE TABLE outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  target TEXT,
  created_at INTEGER NOT NULL
);
CREATE TABLE registry_ack (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  registered_at INTEGER NOT NULL
);
`;

/** The schema version this code writes. */
export const LEDGER_SCHEMA_VERSION = STEPS.length;

/**
 * Brings the object's schema up to date, in one transaction, and says whether it was `created` (a
 * new object: today's schema in one go, nothing stored yet), `migrated` (steps run after the
 * stored version) or already `current`. An object created before versioning has the version-1
 * tables and no version row: step 1 is idempotent, so it runs again. One read finds which case
 * it is.
 */
export function migrateLedger(storage: DurableObjectStorage): "created" | "migrated" | "current" {
  const sql = storage.sql;
  const tables = new Set(
    sql
      .exec<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('schema_version', 'events')",
      )
      .toArray()
      .map((row) => row.name),
  );
  const current = tables.has("schema_version")
    ? (sql.exec<{ version: number }>("SELECT version FROM schema_version").toArray()[0]?.version ?? 0)
    : 0;
  if (current >= STEPS.length) return "current";
  const fresh = current === 0 && !tables.has("events");
  storage.transactionSync(() => {
    sql.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    if (fresh) sql.exec(CURRENT_SCHEMA);
    else for (let version = current; version < STEPS.length; version++) STEPS[version]?.(sql);
    sql.exec("DELETE FROM schema_version");
    sql.exec("INSERT INTO schema_version (version) VALUES (?)", STEPS.length);
  });
  return fresh ? "created" : "migrated";
}
