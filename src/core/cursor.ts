/**
 * @module Opaque cursors: base64url of a small JSON position, never an offset. The list's keyset
 * position (CONTRACT §5), the change feed's sequence position (§6), the job detail's history and
 * files positions (and reprojection's, src/api/cursor.ts) have different shapes, so a cursor of
 * one route or list is refused by the others. Neutral: the ledger writes the detail's cursors,
 * the API reads them back.
 */
import * as v from "valibot";

const positionSchema = v.strictObject({ t: v.pipe(v.number(), v.integer()), k: v.string() });
export type Position = v.InferOutput<typeof positionSchema>;

const changePositionSchema = v.strictObject({ c: v.pipe(v.number(), v.integer(), v.minValue(0)) });
export type ChangePosition = v.InferOutput<typeof changePositionSchema>;

/**
 * A place in a job's history: the history-order key of the last entry a page held — the ledger's
 * four order columns (`order_at, terminal, rank, arrival`), in its order. All are integers, and
 * `arrival` makes the key unique.
 */
const historyPositionSchema = v.strictObject({
  h: v.pipe(v.array(v.pipe(v.number(), v.safeInteger())), v.length(4)),
});
export type HistoryPosition = v.InferOutput<typeof historyPositionSchema>;

/** A place in a job's files: the key of the last file a page held (files are in key order). */
const filesPositionSchema = v.strictObject({ f: v.string() });
export type FilesPosition = v.InferOutput<typeof filesPositionSchema>;

/** A position as cursor text. */
export function encode(value: unknown): string {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The position a cursor holds, if it is one of `schema`'s shape. */
export function decode<S extends v.GenericSchema>(schema: S, cursor: string): v.InferOutput<S> | null {
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
    const binary = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
    const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
    const parsed = v.safeParse(schema, JSON.parse(new TextDecoder().decode(bytes)));
    return parsed.success ? parsed.output : null;
  } catch {
    return null;
  }
}

export function encodeCursor(position: Position): string {
  return encode(position);
}

/** The position in a list cursor, or null if the cursor is not one of ours. */
export function decodeCursor(cursor: string): Position | null {
  return decode(positionSchema, cursor);
}

export function encodeChangeCursor(position: ChangePosition): string {
  return encode(position);
}

/** The position in a change-feed cursor, or null if the cursor is not one of the feed's. */
export function decodeChangeCursor(cursor: string): ChangePosition | null {
  return decode(changePositionSchema, cursor);
}

export function encodeHistoryCursor(position: HistoryPosition): string {
  return encode(position);
}

/** The position in a history cursor, or null if the cursor is not one of the detail's history. */
export function decodeHistoryCursor(cursor: string): HistoryPosition | null {
  return decode(historyPositionSchema, cursor);
}

export function encodeFilesCursor(position: FilesPosition): string {
  return encode(position);
}

/** The position in a files cursor, or null if the cursor is not one of the detail's files. */
export function decodeFilesCursor(cursor: string): FilesPosition | null {
  return decode(filesPositionSchema, cursor);
}
