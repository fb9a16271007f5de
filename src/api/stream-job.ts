/**
 * @module `GET /v1/jobs/:jobKey/stream` — a live view of one job as Server-Sent Events (CONTRACT §7):
 * `event: snapshot` with the job detail exactly as `GET /v1/jobs/:jobKey` answers it, then one
 * `event: change` (`id: <version>`, data `{summary, entry}`) per accepted delivery, in version
 * order, and a comment line every {@link HEARTBEAT_MS}. The Worker holds the client's connection;
 * the job's Durable Object only holds a hibernatable WebSocket to it (docs/API.md, "Live view of a job").
 * The stream asks again whether its token lives every {@link TOKEN_RECHECK_MS} and ends with
 * `event: closed` (data: the error envelope saying why) once it does not (CONTRACT §5).
 */
import type { ApiError } from "../http/errors";
import type { LedgerGateway } from "../ingest/ledger-gateway";
import type { StreamMessage } from "../ledger/job-ledger";
import type { LedgerDetail } from "../ledger/types";
import { TOKEN_RECHECK_MS, type TokenWatch, verdictError } from "./revocation";

/** Comment lines keep idle connections (and proxies in between) open; the contract asks ≤ 30 s. */
export const HEARTBEAT_MS = 15_000;

type Change = Extract<StreamMessage, { type: "change" }>;

export interface StreamOptions {
  /** How often an idle stream gets a comment line (default {@link HEARTBEAT_MS}). */
  heartbeatMs?: number;
  /** How often `token` is asked again (default {@link TOKEN_RECHECK_MS}). */
  recheckMs?: number;
  /** The request's token: the stream ends once it is no longer live. */
  token?: TokenWatch;
  /** What the token is shown of the snapshot's detail (src/api/job-view.ts); as it is by default. */
  present?: (detail: LedgerDetail | null) => unknown;
}

/** Answers the stream of a job that exists and is in the token's scope. */
export async function streamJob(
  ledgers: LedgerGateway,
  jobKey: string,
  options: StreamOptions = {},
): Promise<Response> {
  const heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
  const recheckMs = options.recheckMs ?? TOKEN_RECHECK_MS;
  const present = options.present ?? ((detail: LedgerDetail | null) => detail);
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
    clearTimeout(recheck);
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
  // The server ends the stream: one last event saying why, then the end of the body.
  const end = (error: ApiError) => {
    send(
      `event: closed\ndata: ${JSON.stringify({ error: { code: error.code, message: error.message } })}\n\n`,
    );
    close();
  };
  // Each question is asked an interval after the last answer, so a slow D1 never piles them up.
  let recheck: number | null = null;
  const scheduleRecheck = (token: TokenWatch) => {
    recheck = setTimeout(async () => {
      const verdict = await token.check();
      if (closed) return;
      if (verdict === "live") scheduleRecheck(token);
      else end(verdictError(verdict));
    }, recheckMs);
  };
  if (options.token !== undefined) scheduleRecheck(options.token);

  return new Response(readable, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      "x-accel-buffering": "no",
    },
  });
}
