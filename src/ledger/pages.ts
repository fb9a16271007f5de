/**
 * @module How a job's detail stays bounded however big the job (CONTRACT §5, docs/API.md, "Read API"):
 * its history and its files are read a page at a time, each page capped in entries and in bytes,
 * and continued from an opaque keyset cursor. A job of up to {@link HISTORY_WHOLE} entries always
 * gets its whole history in the default answer, as the contract requires.
 */

/** CONTRACT §5: a job with up to this many history entries gets them all in one answer. */
export const HISTORY_WHOLE = 100;
/** History entries in one page, unless `historyLimit` asks for fewer (or more, up to the max). */
export const HISTORY_PAGE = 500;
export const HISTORY_PAGE_MAX = 1_000;
/**
 * The JSON bytes of one answer of a job of more than {@link HISTORY_WHOLE} entries: its history
 * page gets what the summary, the links and a cursor leave of this. An entry is at most ~60 KB (a
 * 16 KB summary, 1 KB ids and texts, src/ledger/bounds.ts) and the rest at most ~350 KB, so a page
 * always has room for entries — and it always takes its first one.
 */
export const ANSWER_BYTES = 1_000_000;
/** Room kept for the history cursor itself (four integers, base64url). */
export const CURSOR_BYTES = 200;
/** Linked files in one page of a job's detail, and their JSON bytes (a file key is ≤ ~1 KB). */
export const FILES_PAGE = 500;
export const FILES_PAGE_BYTES = 128 * 1024;

/** The UTF-8 bytes of a value's JSON. */
export function jsonBytes(value: unknown): number {
  return encoder.encode(JSON.stringify(value)).byteLength;
}

const encoder = new TextEncoder();

export interface Page<R, T> {
  items: T[];
  /** The row of the last item taken: where the next page starts. */
  last: R | null;
  /** Whether a row was left for the next page. */
  more: boolean;
}

/**
 * Takes rows in order while the page has fewer than `limit` items and stays within `maxBytes` of
 * JSON; the first item is always taken, so every page moves the walk forward. `rows` is read
 * lazily: at most one row past the page is read, to tell whether there is more.
 */
export function takePage<R, T>(
  rows: Iterable<R>,
  toItem: (row: R) => T,
  limit: number,
  maxBytes: number,
): Page<R, T> {
  const items: T[] = [];
  let last: R | null = null;
  let bytes = 2;
  for (const row of rows) {
    if (items.length >= limit) return { items, last, more: true };
    const item = toItem(row);
    bytes += jsonBytes(item) + 1;
    if (items.length > 0 && bytes > maxBytes) return { items, last, more: true };
    items.push(item);
    last = row;
  }
  return { items, last, more: false };
}
