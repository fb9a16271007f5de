/**
 * @module The live view of a job (CONTRACT §7): what the ledger sends the WebSockets of its
 * watchers, which the Worker turns into Server-Sent Events (src/api/stream-job.ts). A change's
 * message is built only when someone watches.
 */
import type { HistoryEntry, JobSummary } from "../core/summary";
import { isoTime } from "../core/vocabulary";
import type { LedgerDetail, StoredEvent } from "./types";

/** What the ledger sends its watchers. */
export type StreamMessage =
  | { type: "snapshot"; detail: LedgerDetail | null }
  | { type: "change"; summary: JobSummary; entry: HistoryEntry };

/** The history entry of an event just stored for the first time: what the insert wrote. */
export function firstEntry(event: StoredEvent): HistoryEntry {
  return {
    eventId: event.eventId,
    eventType: event.eventType,
    status: event.status,
    vendorStatus: event.vendorStatus,
    occurredAt: isoTime(event.occurredAt),
    receivedAt: isoTime(event.receivedAt),
    deliveries: 1,
    receipts: [isoTime(event.receivedAt)],
    summary: JSON.parse(event.summaryJson) as Record<string, unknown>,
  };
}

/** Sends `message` to each socket; one that went away is finished by its close handler. */
export function sendToWatchers(sockets: readonly WebSocket[], message: StreamMessage): void {
  const text = JSON.stringify(message);
  for (const socket of sockets) {
    try {
      socket.send(text);
    } catch {
      // A watcher that went away.
    }
  }
}

/**
 * Accepts a watcher's WebSocket with the Hibernation API — an idle watcher does not keep the
 * object awake — and then sends it the snapshot, so no change can fall between the two: a change
 * the snapshot already holds arrives with a version the Worker skips.
 */
export async function acceptWatcher(
  ctx: DurableObjectState,
  request: Request,
  snapshot: () => Promise<LedgerDetail | null>,
): Promise<Response> {
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return new Response("Expected a WebSocket upgrade.", { status: 426 });
  }
  const { 0: client, 1: server } = new WebSocketPair();
  ctx.acceptWebSocket(server);
  server.send(JSON.stringify({ type: "snapshot", detail: await snapshot() } satisfies StreamMessage));
  return new Response(null, { status: 101, webSocket: client });
}

/**
 * The watchers of one ledger. Whether one may be connected is kept in memory — false once a change
 * found none, true again on a watch — so a change of an unwatched job builds no message.
 */
export class Watchers {
  private readonly ctx: DurableObjectState;
  private watched: boolean;

  constructor(ctx: DurableObjectState) {
    this.ctx = ctx;
    this.watched = ctx.getWebSockets().length > 0;
  }

  /** Accepts a watcher (`acceptWatcher`). */
  accept(request: Request, snapshot: () => Promise<LedgerDetail | null>): Promise<Response> {
    this.watched = true;
    return acceptWatcher(this.ctx, request, snapshot);
  }

  /** Sends a change to the watchers, building it only if there are some. */
  broadcast(message: () => StreamMessage | null): void {
    if (!this.watched) return;
    const sockets = this.ctx.getWebSockets();
    this.watched = sockets.length > 0;
    const built = this.watched ? message() : null;
    if (built !== null) sendToWatchers(sockets, built);
  }

  count(): number {
    return this.ctx.getWebSockets().length;
  }
}
