/** Pure parts of the projection fan-in: send-batch limits and the consumer's retry delays. */
import { describe, expect, it } from "vitest";
import type { ProjectionMessage } from "../core/summary";
import {
  BUNDLE_BYTES,
  BUNDLE_SUMMARIES,
  bundles,
  retryDelaySeconds,
  SEND_BATCH_BYTES,
  SEND_BATCH_MESSAGES,
  sendBatches,
} from "./queue";

function message(n: number, padding = 0): ProjectionMessage {
  return {
    jobKey: `extend:extract_run:exr_${n}`,
    version: 1,
    summary: {
      jobKey: `extend:extract_run:exr_${n}`,
      name: "x".repeat(padding),
    } as unknown as ProjectionMessage["summary"],
  };
}

describe("bundles and sendBatches", () => {
  it("packs summaries into queue messages within 100 summaries and 100 KB, and loses none", () => {
    const small = Array.from({ length: 250 }, (_, n) => message(n));
    const packed = bundles(small);
    expect(packed.map(({ bundle }) => bundle.summaries.length)).toEqual([
      BUNDLE_SUMMARIES,
      BUNDLE_SUMMARIES,
      50,
    ]);
    expect(sendBatches(packed)).toHaveLength(1);

    const large = Array.from({ length: 30 }, (_, n) => message(n, 40_000));
    const big = bundles(large);
    expect(big.flatMap(({ bundle }) => bundle.summaries)).toHaveLength(30);
    const size = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).byteLength;
    for (const { bundle, bytes } of big) {
      expect(size(bundle)).toBeLessThanOrEqual(BUNDLE_BYTES + 1000);
      // The size kept for each bundle is what it serialises to.
      expect(bytes).toBe(size(bundle));
    }
    const calls = sendBatches(big);
    expect(calls.flat()).toHaveLength(big.length);
    for (const call of calls) {
      expect(call.length).toBeLessThanOrEqual(SEND_BATCH_MESSAGES);
      expect(size(call)).toBeLessThanOrEqual(SEND_BATCH_BYTES + 1000);
    }
  });
});

describe("retryDelaySeconds", () => {
  it("doubles with the attempts and stops at a minute", () => {
    expect([1, 2, 3, 4, 7, 8, 50].map(retryDelaySeconds)).toEqual([1, 2, 4, 8, 60, 60, 60]);
  });
});
