/** Pure parts of the projection fan-in: send-batch limits and the consumer's retry delays. */
import { describe, expect, it } from "vitest";
import type { ProjectionMessage } from "./jobs";
import { retryDelaySeconds, SEND_BATCH_BYTES, SEND_BATCH_MESSAGES, sendBatches } from "./queue";

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

describe("sendBatches", () => {
  it("keeps each sendBatch within 100 messages and 256 KB, and loses none", () => {
    const small = Array.from({ length: 250 }, (_, n) => message(n));
    expect(sendBatches(small).map((batch) => batch.length)).toEqual([
      SEND_BATCH_MESSAGES,
      SEND_BATCH_MESSAGES,
      50,
    ]);
    const large = Array.from({ length: 30 }, (_, n) => message(n, 40_000));
    const batches = sendBatches(large);
    expect(batches.flat()).toHaveLength(30);
    for (const batch of batches) {
      expect(new TextEncoder().encode(JSON.stringify(batch)).byteLength).toBeLessThanOrEqual(
        SEND_BATCH_BYTES + 1000,
      );
    }
  });
});

describe("retryDelaySeconds", () => {
  it("doubles with the attempts and stops at a minute", () => {
    expect([1, 2, 3, 4, 7, 8, 50].map(retryDelaySeconds)).toEqual([1, 2, 4, 8, 60, 60, 60]);
  });
});
