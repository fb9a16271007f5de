/**
 * @module The D1 projection of job summaries: the batched, version-guarded write the projection
 * queue's consumer makes, the version read a ledger's safety check makes, and the keyset query
 * `GET /v1/jobs` reads (CONTRACT §3.3 "Consistency", §5). One description of the row
 * ({@link summaryToRow} / {@link rowToSummary}) serves every direction.
 */
import {
  type JobSummary,
  type ProjectionMessage,
  SUMMARY_COLUMNS,
  type SummaryRow,
  summaryToRow,
} from "../core/summary";
import type { Source, Status } from "../core/vocabulary";
import { ADD_DELIVERIES, COUNT_BY_BATCH, COUNT_BY_TRIGGERS, MOVE_JOB_COUNTS } from "./counters";
import { MAX_STATEMENT_JSON_BYTES, packJson } from "./pack";

/** One row of D1 `jobs`: a summary's columns and its place in the change sequence. */
export type JobRow = SummaryRow & { seq: number };

/**
 * Many rows in one statement: the rows travel as one bound JSON text, read back with `json_each`
 * (D1 takes at most 100 bound parameters per statement). Only a newer `version` replaces a row,
 * so a replayed or reordered batch changes nothing. Each row takes the next number of the change
 * sequence (CONTRACT §6): the counter's value plus its place in the array; the statement after it
 * moves the counter past them, in the same transaction. `WHERE true` resolves SQLite's parsing
 * ambiguity between `SELECT … FROM json_each(?)` and the upsert's `ON CONFLICT`.
 */
/** An upsert of the rows in `?1` (a JSON array) that replaces a row only `where` it holds. */
function upsertFromJson(where: string): string {
  return `INSERT INTO jobs (${SUMMARY_COLUMNS.join(", ")}, seq)
SELECT ${SUMMARY_COLUMNS.map((column) => `json_extract(value, '$.${column}')`).join(", ")},
  (SELECT seq FROM change_sequence) + key + 1
FROM json_each(?1) WHERE true
ON CONFLICT (job_key) DO UPDATE SET
  ${SUMMARY_COLUMNS.filter((column) => column !== "job_key")
    .map((column) => `${column} = excluded.${column}`)
    .join(", ")}, seq = excluded.seq
WHERE ${where}`;
}
const UPSERT_FROM_JSON = upsertFromJson("excluded.version > jobs.version");
const ADVANCE_SEQUENCE = "UPDATE change_sequence SET seq = seq + ?1";
const CURRENT_SEQUENCE = "SELECT seq FROM change_sequence";

/** The newest message per job: a batch writes each job once, at the highest version it holds. */
export function latestPerJob(messages: Iterable<ProjectionMessage>): ProjectionMessage[] {
  const latest = new Map<string, ProjectionMessage>();
  for (const message of messages) {
    const kept = latest.get(message.jobKey);
    if (kept === undefined || message.version > kept.version) latest.set(message.jobKey, message);
  }
  return [...latest.values()];
}

/** What one projection write cost, from D1's own `meta`, and where it left the change sequence. */
export interface ProjectionWrite {
  jobs: number;
  statements: number;
  rowsWritten: number;
  /** The change sequence after the write: every row it changed has a number at most this. */
  sequence: number;
}

/**
 * Writes the newest summary of each job in `messages` to D1 in one transaction (`batch()`), one
 * `json_each` statement per ~90 KB of rows. Before each, in the same transaction, the overview's
 * counters move by what that statement is about to change (src/projection/counters.ts): jobs
 * between status counters, deliveries into their buckets — with the upsert's own version guard, so
 * a replayed batch moves nothing. The `jobs` triggers, which count other writes row by row, stand
 * aside meanwhile.
 */
export async function writeSummaries(
  db: D1Database,
  messages: Iterable<ProjectionMessage>,
): Promise<ProjectionWrite> {
  const rows = latestPerJob(messages).map((message) => summaryToRow(message.summary));
  if (rows.length === 0) return { jobs: 0, statements: 0, rowsWritten: 0, sequence: 0 };
  const packs = packJson(rows, MAX_STATEMENT_JSON_BYTES);
  const statements = [
    db.prepare(COUNT_BY_BATCH),
    ...packs.flatMap(({ json, count }) => [
      db.prepare(MOVE_JOB_COUNTS).bind(json),
      db.prepare(ADD_DELIVERIES).bind(json),
      db.prepare(UPSERT_FROM_JSON).bind(json),
      db.prepare(ADVANCE_SEQUENCE).bind(count),
    ]),
    db.prepare(COUNT_BY_TRIGGERS),
  ];
  const results = await db.batch<{ seq: number }>([...statements, db.prepare(CURRENT_SEQUENCE)]);
  return {
    jobs: rows.length,
    statements: statements.length,
    rowsWritten: results.reduce((sum, result) => sum + (result.meta.rows_written ?? 0), 0),
    sequence: results.at(-1)?.results[0]?.seq ?? 0,
  };
}

/** Whether a row differs from the summary `excluded` holds in any column. */
const DIFFERS = SUMMARY_COLUMNS.filter((column) => column !== "job_key")
  .map((column) => `jobs.${column} IS NOT excluded.${column}`)
  .join(" OR ");

/**
 * Reprojection's write (docs/OPERATING.md): the ledger is the truth, so its summary replaces a row
 * that differs in some column — but, like the consumer's write, never one at a higher version: a
 * newer summary may have landed since the ledger was read, and writing the older one would take D1
 * back until the job's next delivery. A row that claims a higher version than its ledger may also
 * be corrupted: those are answered (`ahead`) for {@link replaceIfUnchanged}. Only rows written take
 * change-sequence numbers (the counter moves only as far as they need), so the change feed shows
 * each repaired job once and a second run changes nothing, not even the counter.
 */
const REPAIR_FROM_JSON = `${upsertFromJson(`excluded.version >= jobs.version AND (${DIFFERS})`)}
RETURNING job_key`;
/** The rows of the keys in `?1` (a JSON array) that hold a higher version than `?2` gives each. */
const AHEAD_OF = `SELECT jobs.job_key AS job_key, jobs.version AS version
FROM json_each(?1) AS given JOIN jobs ON jobs.job_key = json_extract(given.value, '$.job_key')
WHERE jobs.version > json_extract(given.value, '$.version')`;
/** Moves the counter to the highest number the repair gave out: unchanged when it changed nothing. */
const CATCH_UP_SEQUENCE =
  "UPDATE change_sequence SET seq = max(seq, (SELECT coalesce(max(seq), 0) FROM jobs))";

/** A D1 row that holds a higher version than its ledger's summary. */
export interface AheadRow {
  jobKey: string;
  version: number;
}

/**
 * Writes each summary over what D1 holds for its job where that differs and is not newer, in one
 * transaction, and returns the keys whose row it changed (inserted or replaced), the rows left
 * alone because they claim a higher version, and where it left the change sequence.
 */
export async function repairSummaries(
  db: D1Database,
  summaries: readonly JobSummary[],
): Promise<{ repaired: string[]; ahead: AheadRow[]; sequence: number }> {
  if (summaries.length === 0) return { repaired: [], ahead: [], sequence: await currentSequence(db) };
  const packs = packJson(summaries.map(summaryToRow), MAX_STATEMENT_JSON_BYTES);
  const statements = packs.flatMap(({ json }) => [
    db.prepare(REPAIR_FROM_JSON).bind(json),
    db.prepare(CATCH_UP_SEQUENCE),
  ]);
  const versions = JSON.stringify(
    summaries.map((summary) => ({ job_key: summary.jobKey, version: summary.version })),
  );
  const results = await db.batch<{ job_key?: string; seq?: number; version?: number }>([
    ...statements,
    db.prepare(AHEAD_OF).bind(versions),
    db.prepare(CURRENT_SEQUENCE),
  ]);
  const repaired = results
    .filter((_, n) => n < statements.length && n % 2 === 0)
    .flatMap((result) => result.results.map((row) => String(row.job_key)));
  const ahead = (results.at(-2)?.results ?? []).map((row) => ({
    jobKey: String(row.job_key),
    version: Number(row.version),
  }));
  return { repaired, ahead, sequence: results.at(-1)?.results[0]?.seq ?? 0 };
}

/**
 * Replaces rows that claimed a higher version than their ledger — corrupted, since the ledger,
 * read again, is still behind them — but each only if it still holds the version seen: a row
 * that moved since is left to its newer writer. Returns the keys replaced and the sequence.
 */
export async function replaceIfUnchanged(
  db: D1Database,
  replacements: readonly { summary: JobSummary; seenVersion: number }[],
): Promise<{ repaired: string[]; sequence: number }> {
  if (replacements.length === 0) return { repaired: [], sequence: await currentSequence(db) };
  const set = SUMMARY_COLUMNS.filter((column) => column !== "job_key").map((column) => `${column} = ?`);
  const statements = replacements.flatMap(({ summary, seenVersion }) => {
    const row = summaryToRow(summary);
    const values = SUMMARY_COLUMNS.filter((column) => column !== "job_key").map((column) => row[column]);
    return [
      db
        .prepare(
          `UPDATE jobs SET ${set.join(", ")}, seq = (SELECT seq FROM change_sequence) + 1
           WHERE job_key = ? AND version = ? RETURNING job_key`,
        )
        .bind(...values, summary.jobKey, seenVersion),
      db.prepare(CATCH_UP_SEQUENCE),
    ];
  });
  const results = await db.batch<{ job_key?: string; seq?: number }>([
    ...statements,
    db.prepare(CURRENT_SEQUENCE),
  ]);
  const repaired = results
    .filter((_, n) => n < statements.length && n % 2 === 0)
    .flatMap((result) => result.results.map((row) => String(row.job_key)));
  return { repaired, sequence: results.at(-1)?.results[0]?.seq ?? 0 };
}

/** A job's source and company as D1 holds them, or null when D1 has no row for it (yet). */
export async function jobScope(
  db: D1Database,
  jobKey: string,
): Promise<{ source: string; companyId: string | null } | null> {
  const row = await db
    .prepare("SELECT source, company_id FROM jobs WHERE job_key = ?")
    .bind(jobKey)
    .first<{ source: string; company_id: string | null }>();
  return row === null ? null : { source: row.source, companyId: row.company_id };
}

/** The change sequence's current end. */
export async function currentSequence(db: D1Database): Promise<number> {
  return (await db.prepare(CURRENT_SEQUENCE).first<{ seq: number }>())?.seq ?? 0;
}

export interface JobFilters {
  sources: Source[] | null;
  kinds: string[] | null;
  statuses: Status[] | null;
  companies: string[] | null;
  /** Runs only, configuration resources only, or both (null). */
  category?: JobCategory | null;
}

/** Runs or configuration resources, and which kinds of which source are the resources. */
export interface JobCategory {
  only: "run" | "resource";
  resourceKinds: readonly { source: string; kinds: readonly string[] }[];
}

/**
 * The condition a {@link JobCategory} puts on `jobs`: `(source = ? AND kind IN (…)) OR …` for the
 * resources, its negation for the runs. Built from the source and kind columns, as those filters are.
 */
function categoryCondition(category: JobCategory): { sql: string; params: string[] } {
  const parts = category.resourceKinds.map(
    ({ kinds }) => `(source = ? AND kind IN (${kinds.map(() => "?").join(", ")}))`,
  );
  const params = category.resourceKinds.flatMap(({ source, kinds }) => [source, ...kinds]);
  const resources = parts.length === 0 ? "0" : `(${parts.join(" OR ")})`;
  return { sql: category.only === "resource" ? resources : `NOT ${resources}`, params };
}

/**
 * Jobs whose latest change has a sequence number in `(after, upTo]`, in sequence order: the change
 * feed's page (CONTRACT §6). A job appears once, at its latest change.
 */
export async function listChanges(
  db: D1Database,
  query: JobFilters & { after: number; upTo: number; limit: number },
): Promise<(JobRow & { seq: number })[]> {
  const where = ["seq > ?", "seq <= ?"];
  const params: (string | number)[] = [query.after, query.upTo];
  for (const [column, values] of [
    ["source", query.sources],
    ["kind", query.kinds],
    ["status", query.statuses],
    ["company_id", query.companies],
  ] as const) {
    if (values === null) continue;
    where.push(`${column} IN (${values.map(() => "?").join(", ")})`);
    params.push(...values);
  }
  if (query.category) {
    const condition = categoryCondition(query.category);
    where.push(condition.sql);
    params.push(...condition.params);
  }
  params.push(query.limit);
  const result = await db
    .prepare(`SELECT * FROM jobs WHERE ${where.join(" AND ")} ORDER BY seq LIMIT ?`)
    .bind(...params)
    .all<JobRow & { seq: number }>();
  return result.results;
}

export interface JobQuery extends JobFilters {
  updatedAfter: number | null;
  updatedBefore: number | null;
  limit: number;
  /** Keyset position: the last row of the previous page. */
  after: { lastEventAt: number; jobKey: string } | null;
}

/**
 * The list query, newest first, keyset-paginated on `(last_event_at DESC, job_key ASC)`. The
 * position is written `last_event_at <= ? AND (last_event_at < ? OR job_key > ?)` so SQLite seeks
 * into the index; the equivalent `(a < ? OR (a = ? AND k > ?))` makes it scan from the top.
 */
export function listJobsStatement(query: JobQuery): { sql: string; params: (string | number)[] } {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const inList = (column: string, values: string[] | null) => {
    if (values === null) return;
    where.push(`${column} IN (${values.map(() => "?").join(", ")})`);
    params.push(...values);
  };
  inList("source", query.sources);
  inList("kind", query.kinds);
  inList("status", query.statuses);
  inList("company_id", query.companies);
  if (query.category) {
    const condition = categoryCondition(query.category);
    where.push(condition.sql);
    params.push(...condition.params);
  }
  if (query.updatedAfter !== null) {
    where.push("last_event_at > ?");
    params.push(query.updatedAfter);
  }
  if (query.updatedBefore !== null) {
    where.push("last_event_at < ?");
    params.push(query.updatedBefore);
  }
  if (query.after !== null) {
    where.push("last_event_at <= ? AND (last_event_at < ? OR job_key > ?)");
    params.push(query.after.lastEventAt, query.after.lastEventAt, query.after.jobKey);
  }
  const sql = `SELECT * FROM jobs ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
    ORDER BY last_event_at DESC, job_key ASC LIMIT ?`;
  params.push(query.limit);
  return { sql, params };
}

export async function listJobs(db: D1Database, query: JobQuery): Promise<JobRow[]> {
  const { sql, params } = listJobsStatement(query);
  const result = await db
    .prepare(sql)
    .bind(...params)
    .all<JobRow>();
  return result.results;
}
