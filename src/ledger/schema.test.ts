/**
 * The ledger's storage migrations: an object written by the first release (schema version 1: no
 * version row, the summary rebuilt from history on every read) is brought to the current schema
 * the first time the new code touches it, with the same summary, history and raw bodies.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { JobLedger } from "./job-ledger";
import { LEDGER_SCHEMA_VERSION, migrateLedger, SCHEMA_V1 } from "./schema";

const JOB_KEY = "alfred:job:migrated-job";

/** Replaces the object's storage with what the first release wrote for one Alfred job. */
function writeVersion1(sql: SqlStorage): void {
  for (const table of ["events", "raw_chunks", "job", "links", "outbox", "schema_version"]) {
    sql.exec(`DROP TABLE IF EXISTS ${table}`);
  }
  sql.exec(SCHEMA_V1);
  const insert = `INSERT INTO events (event_id, arrival, event_type, status, vendor_status, terminal, rank, occurred_at,
    received_at, deliveries, company_id, company_name, name, stage, retries, failure, summary, raw_size)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
  // Arrival order: finished (t=300), then a late stage update (t=200), then the start (t=100).
  sql.exec(
    insert,
    "e-fin",
    1,
    "job_finished",
    "succeeded",
    null,
    1,
    6,
    300_000,
    10,
    1,
    "co-9",
    null,
    null,
    null,
    null,
    null,
    "{}",
    2,
  );
  sql.exec(
    insert,
    "e-stage",
    2,
    "job_stage_update",
    "processing",
    "ocr",
    0,
    2,
    200_000,
    11,
    2,
    "co-9",
    "Acme",
    null,
    "ocr",
    1,
    null,
    '{"stage":"ocr"}',
    2,
  );
  sql.exec(
    insert,
    "e-start",
    3,
    "job_start",
    "processing",
    null,
    0,
    1,
    100_000,
    12,
    1,
    null,
    null,
    "scan.pdf",
    null,
    null,
    null,
    "{}",
    2,
  );
  for (const id of ["e-fin", "e-stage", "e-start"]) {
    sql.exec(
      "INSERT INTO raw_chunks (event_id, idx, data) VALUES (?, 0, ?)",
      id,
      new TextEncoder().encode("{}"),
    );
  }
  sql.exec(
    `INSERT INTO job (singleton, job_key, source, kind, id, role, event_count, delivery_count, first_event_at,
      last_event_at, last_received_at, version) VALUES (1, ?, 'alfred', 'job', 'migrated-job', 'job', 3, 4, 100000, 300000, 12, 4)`,
    JOB_KEY,
  );
  sql.exec("INSERT INTO outbox (kind, target, created_at) VALUES ('project', NULL, 12)");
}

describe("ledger schema migrations", () => {
  it("brings a version-1 object to the current schema with the same job", async () => {
    const stub: DurableObjectStub<JobLedger> = env.JOBS.get(env.JOBS.idFromName(JOB_KEY));
    const { detail, projection } = await runInDurableObject(stub, async (_instance, state) => {
      writeVersion1(state.storage.sql);
      migrateLedger(state.storage);
      const version = state.storage.sql
        .exec<{ version: number }>("SELECT version FROM schema_version")
        .one().version;
      expect(version).toBe(LEDGER_SCHEMA_VERSION);
      // Running it again changes nothing.
      expect(migrateLedger(state.storage)).toBe("current");
      // The object was new when this test wrote into it: read the job as a restarted object would.
      const restarted = new JobLedger(state, env);
      return { detail: await restarted.detail(), projection: await restarted.projectionState() };
    });
    expect(detail).toMatchObject({
      jobKey: JOB_KEY,
      status: "succeeded",
      terminal: true,
      vendorStatus: "job_finished",
      companyId: "co-9",
      companyName: "Acme",
      name: "scan.pdf",
      stage: "ocr",
      retries: 1,
      eventCount: 3,
      deliveryCount: 4,
      version: 4,
    });
    expect(detail?.history.map((entry) => entry.eventId)).toEqual(["e-start", "e-stage", "e-fin"]);
    // Receipt times were not kept before version 9: each event lists its first receipt only.
    expect(detail?.history.map((entry) => entry.receipts)).toEqual([
      [new Date(12).toISOString()],
      [new Date(11).toISOString()],
      [new Date(10).toISOString()],
    ]);
    expect(new TextDecoder().decode((await stub.rawEvent("e-stage")) ?? undefined)).toBe("{}");
    // The old per-delivery outbox rows are gone; the projection is now the ledger's version.
    expect(projection).toEqual({ version: 4, projectedVersion: 0, pendingLinks: 0 });
  });
});

/** Every table's columns (name, type, not null, default, key) and every index's columns, by name. */
function shape(sql: SqlStorage) {
  const tables = sql
    .exec<{ name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name",
    )
    .toArray()
    .map(({ name }) => name);
  return Object.fromEntries(
    tables.map((table) => [
      table,
      {
        columns: sql
          .exec(`SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info('${table}')`)
          .toArray(),
        indexes: sql
          .exec<{ name: string }>(
            `SELECT name FROM pragma_index_list('${table}') WHERE origin = 'c' ORDER BY name`,
          )
          .toArray()
          .map(({ name }) => ({
            name,
            columns: sql
              .exec<{ name: string }>(`SELECT name FROM pragma_index_info('${name}') ORDER BY seqno`)
              .toArray()
              .map((column) => column.name),
          })),
      },
    ]),
  );
}

describe("a new object's schema", () => {
  it("is the one the steps build, table by table, column by column, index by index", async () => {
    const fresh = env.JOBS.get(env.JOBS.idFromName("schema:fresh:one"));
    const stepped = env.JOBS.get(env.JOBS.idFromName("schema:stepped:one"));
    const freshShape = await runInDurableObject(fresh, (_, state) => shape(state.storage.sql));
    const steppedShape = await runInDurableObject(stepped, (_, state) => {
      writeVersion1(state.storage.sql);
      migrateLedger(state.storage);
      return shape(state.storage.sql);
    });
    expect(Object.keys(freshShape)).toEqual(
      expect.arrayContaining([
        "events",
        "job",
        "links",
        "outbox",
        "raw_chunks",
        "registry_ack",
        "schema_version",
      ]),
    );
    expect(freshShape.events?.indexes).toEqual([
      { name: "events_in_order_v4", columns: ["order_at", "terminal", "rank", "arrival"] },
    ]);
    expect(freshShape).toEqual(steppedShape);
  });
});
