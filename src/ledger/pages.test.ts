/** The page rule of a job's detail (./pages): entry cap, byte cap, progress, lazy reading. */
import { describe, expect, it } from "vitest";
import { takePage } from "./pages";

/** Rows 0..n-1, counting how many were read. */
function rows(n: number): { rows: Iterable<number>; read: () => number } {
  let read = 0;
  return {
    rows: (function* () {
      for (let i = 0; i < n; i++) {
        read += 1;
        yield i;
      }
    })(),
    read: () => read,
  };
}

describe("takePage", () => {
  it("stops at the entry cap, says more follows, and reads one row past the page at most", () => {
    const source = rows(10);
    const page = takePage(source.rows, (row) => ({ row }), 4, Number.POSITIVE_INFINITY);
    expect(page).toEqual({ items: [0, 1, 2, 3].map((row) => ({ row })), last: 3, more: true });
    expect(source.read()).toBe(5);
  });

  it("takes everything when it fits, with no more to come", () => {
    expect(takePage(rows(3).rows, String, 3, 1_000)).toEqual({
      items: ["0", "1", "2"],
      last: 2,
      more: false,
    });
    expect(takePage(rows(0).rows, String, 3, 1_000)).toEqual({ items: [], last: null, more: false });
  });

  it("stops before the item that would pass the byte cap (UTF-8 bytes of its JSON)", () => {
    // Each item is `"中中中"`: 11 bytes of JSON, plus a separator; the array's brackets are 2.
    const page = takePage(rows(10).rows, () => "中中中", 100, 2 + 12 * 3);
    expect(page.items).toHaveLength(3);
    expect(page.more).toBe(true);
  });

  it("always takes the first item, however big, so every page moves the walk on", () => {
    const page = takePage(rows(2).rows, () => "x".repeat(1_000), 100, 10);
    expect(page).toEqual({ items: ["x".repeat(1_000)], last: 0, more: true });
  });
});
