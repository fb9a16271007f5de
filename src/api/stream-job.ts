/**
 * @module `GET /v1/jobs/:jobKey/stream` — a live view of one job as Server-Sent Events (CONTRACT §7):
 * `event: snapshot` with the job detail exactly as `GET /v1/jobs/:jobKey` answers it, then one
 * `event: change` (`id: <version>`, data `{summary, entry}`) per accepted delivery, in version
 * order, and a comment line every {@link HEARTBEAT_MS}. The Worker holds the client's connection;
 * the job's Durable Object only holds a hibernatable WebSocket to it (README, "Live view").
 */
import type { LedgerGateway } from "../ingest/ledger-gateway";
import type { StreamMessage } from "../ledger/job-ledger";
import type { LedgerDetail } from "../ledger/types";

/** Comment lines keep idle connections (and proxies in between) open; the contract asks ≤ 30 s. */
export const HEARTBEAT_MS = 15_000;

type Change = Extract<StreamMessage, { type: "change" }>;

/**
 * Answers the stream of a job that exists and is in the token's scope; `present` makes the
 * snapshot what the token is shown of the detail (src/api/job-view.ts).
 */
export async function streamJob(
  ledgers: LedgerGateway,
  jobKey: string,
  heartbeatMs = HEARTBEAT_MS,
  present: (detail: LedgerDetail | null) => unknown = (detail) => detail,
): Promise<Response> {
  const socket = await ledgers.watch(jobKey);
  const encoder = new TextEncoder();
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  let closed = false;
  let snapshotVersion: number | null = null;
  // Changes the ledger sent before its snapshot (a delivery while the snapshot was being read).
  let early: Change[] = [];

  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    try {
      socket.close(1000, "stream closed");
    } catch {
      // Already closed.
    }
    writer.close().catch(() => undefined);
  };
  // A write fails once the client has gone: that is how a closed client is noticed.
  const send = (text: string) => {
    if (!closed) writer.write(encoder.encode(text)).catch(close);
  };
  const sendChange = (change: Change) => {
    if (snapshotVersion !== null && change.summary.version <= snapshotVersion) return;
    send(
      `event: change\nid: ${change.summary.version}\ndata: ${JSON.stringify({ summary: change.summary, entry: change.entry })}\n\n`,
    );
  };

  socket.accept();
  socket.addEventListener("message", (message) => {
    const parsed = JSON.parse(String(message.data)) as StreamMessage;
    if (parsed.type === "snapshot") {
      snapshotVersion = parsed.detail?.version ?? 0;
      send(`event: snapshot\ndata: ${JSON.stringify(present(parsed.detail))}\n\n`);
      for (const change of early) sendChange(change);
      early = [];
    } else if (snapshotVersion === null) {
      early.push(parsed);
    } else {
      sendChange(parsed);
    }
  });
  socket.addEventListener("close", close);
  socket.addEventListener("error", close);
  const heartbeat = setInterval(() => send(": keep-alive\n\n"), heartbeatMs);

  return new Response(readable, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      "x-accel-buffering": "no",
    },
  });
}
