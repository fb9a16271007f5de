/**
 * @module Many rows in one D1 statement: rows travel as one bound JSON text, read back with
 * `json_each` (D1 takes at most 100 bound parameters and 100 KB per statement).
 */

/** D1 refuses statements over 100 KB; rows are packed into JSON texts below this many bytes. */
export const MAX_STATEMENT_JSON_BYTES = 90_000;

/** Splits items into JSON arrays whose serialised size stays under `maxBytes` (at least one each). */
export function packJson<T>(items: readonly T[], maxBytes: number): { json: string; count: number }[] {
  const encoder = new TextEncoder();
  const packs: { json: string; count: number }[] = [];
  let current: string[] = [];
  let size = 2;
  const close = () => packs.push({ json: `[${current.join(",")}]`, count: current.length });
  for (const item of items) {
    const text = JSON.stringify(item);
    const bytes = encoder.encode(text).byteLength + 1;
    if (current.length > 0 && size + bytes > maxBytes) {
      close();
      current = [];
      size = 2;
    }
    current.push(text);
    size += bytes;
  }
  if (current.length > 0) close();
  return packs;
}
