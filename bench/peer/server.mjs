/**
 * @module The peer: the Extend receiver a team would write instead of runledger, to measure
 * runledger against. Express 5, the vendor SDK's own verifier (`webhooks.verifyAndParse` of
 * extend-ai, vendors/extend.md §2.7), and one better-sqlite3 transaction per delivery that stores
 * the event once (dedup on the job and event id) and upserts the job's summary. SQLite in WAL mode,
 * on tmpfs like runledger's state. Run as a child process by bench/peer-target.mjs.
 *
 * Env: PEER_STATE_DIR, EXTEND_SIGNING_SECRET. Output: one IPC message {url}.
 */
import path from "node:path";
import Database from "better-sqlite3";
import express from "express";
import { ExtendClient } from "extend-ai";

const secret = process.env.EXTEND_SIGNING_SECRET ?? "";
// verifyAndParse needs no API access; the client only wants a token to be constructed.
const extend = new ExtendClient({ token: "unused" });

const db = new Database(path.join(process.env.PEER_STATE_DIR ?? ".", "peer.sqlite"));
db.pragma("journal_mode = WAL");
db.exec(`
  CREATE TABLE IF NOT EXISTS events (
    job_key TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    deliveries INTEGER NOT NULL DEFAULT 1,
    body TEXT NOT NULL,
    PRIMARY KEY (job_key, event_id)
  );
  CREATE TABLE IF NOT EXISTS jobs (
    job_key TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    event_count INTEGER NOT NULL,
    delivery_count INTEGER NOT NULL,
    first_event_at INTEGER NOT NULL,
    last_event_at INTEGER NOT NULL,
    last_received_at INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS jobs_by_last_event ON jobs (last_event_at DESC, job_key);
`);

const insertEvent =
  db.prepare(`INSERT INTO events (job_key, event_id, event_type, occurred_at, received_at, body)
  VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (job_key, event_id) DO NOTHING`);
const countRepeat = db.prepare(
  "UPDATE events SET deliveries = deliveries + 1 WHERE job_key = ? AND event_id = ?",
);
const upsertJob = db.prepare(`INSERT INTO jobs (job_key, status, event_count, delivery_count, first_event_at,
    last_event_at, last_received_at)
  VALUES (@jobKey, @status, @events, 1, @occurredAt, @occurredAt, @receivedAt)
  ON CONFLICT (job_key) DO UPDATE SET
    status = CASE WHEN excluded.last_event_at >= jobs.last_event_at THEN excluded.status ELSE jobs.status END,
    event_count = jobs.event_count + excluded.event_count,
    delivery_count = jobs.delivery_count + 1,
    first_event_at = min(jobs.first_event_at, excluded.first_event_at),
    last_event_at = max(jobs.last_event_at, excluded.last_event_at),
    last_received_at = excluded.last_received_at`);

/** Stores one delivery; returns whether it was a repeat. One transaction: both writes or none. */
const store = db.transaction((event, raw, receivedAt) => {
  const [kind] = event.eventType.split(".");
  const jobKey = `extend:${kind}:${event.payload.id}`;
  const occurredAt = Date.parse(event.payload.updatedAt ?? "") || receivedAt;
  const fresh =
    insertEvent.run(jobKey, event.eventId, event.eventType, occurredAt, receivedAt, raw).changes === 1;
  if (!fresh) countRepeat.run(jobKey, event.eventId);
  const status = event.eventType.split(".").at(-1);
  upsertJob.run({ jobKey, status, events: fresh ? 1 : 0, occurredAt, receivedAt });
  return { jobKey, duplicate: !fresh };
});

const app = express();
app.get("/healthz", (_req, res) => {
  res.json({ ok: true });
});
app.post("/webhooks/extend", express.raw({ type: () => true, limit: "5mb" }), (req, res) => {
  const raw = req.body.toString("utf8");
  let event;
  try {
    event = extend.webhooks.verifyAndParse(raw, req.headers, secret);
  } catch (error) {
    res.status(401).json({ error: { code: "invalid_signature", message: String(error) } });
    return;
  }
  if (typeof event?.payload?.id !== "string" || typeof event.eventId !== "string") {
    res.status(400).json({ error: { code: "invalid_event", message: "no eventId or payload.id" } });
    return;
  }
  const { jobKey, duplicate } = store(event, raw, Date.now());
  res.json({ ok: true, eventId: event.eventId, jobKey, duplicate });
});

const server = app.listen(0, "127.0.0.1", () => {
  process.send({ url: `http://127.0.0.1:${server.address().port}` });
});
// Keep-alive connections would hold server.close() open; the database is all there is to close.
const shutdown = () => {
  db.close();
  process.exit(0);
};
process.on("SIGTERM", shutdown);
process.on("disconnect", shutdown);
