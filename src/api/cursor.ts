/**
 * @module Opaque keyset cursors: base64url of a small JSON position, never an offset, so walking
 * pages while events arrive never repeats a row (CONTRACT §5).
 */
import * as v from "valibot";

const positionSchema = v.strictObject({ t: v.pipe(v.number(), v.integer()), k: v.string() });
export type Position = v.InferOutput<typeof positionSchema>;

export function encodeCursor(position: Position): string {
  const bytes = new TextEncoder().encode(JSON.stringify(position));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The position in a cursor, or null if the cursor is not one of ours. */
export function decodeCursor(cursor: string): Position | null {
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
    const binary = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
    const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
    const parsed = v.safeParse(positionSchema, JSON.parse(new TextDecoder().decode(bytes)));
    return parsed.success ? parsed.output : null;
  } catch {
    return null;
  }
}
