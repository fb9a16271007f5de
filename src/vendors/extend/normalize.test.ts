/** Extend's occurredAt (CONTRACT §4): `payload.updatedAt` when the API can show it, else the signature time. */
import { describe, expect, it } from "vitest";
import { normalizeExtendEvent } from "./normalize";

const SIGNED_AT = 1_770_000_000;

function occurredAt(updatedAt: unknown): number {
  const normalized = normalizeExtendEvent({
    eventId: "evt_1",
    eventType: "extractor.created",
    payload: { id: "ex_1", updatedAt },
    signedAt: SIGNED_AT,
    receivedAt: SIGNED_AT * 1000 + 5,
  });
  if (!normalized.ok) throw new Error(JSON.stringify(normalized.issues));
  return normalized.event.occurredAt;
}

describe("Extend occurredAt", () => {
  it("is payload.updatedAt when it is a time of years 0000 to 9999", () => {
    expect(occurredAt("2026-02-10T10:00:00Z")).toBe(Date.parse("2026-02-10T10:00:00Z"));
    expect(occurredAt("9999-12-31T23:59:59.999Z")).toBe(Date.parse("9999-12-31T23:59:59.999Z"));
    expect(occurredAt("0000-01-01T00:00:00Z")).toBe(Date.parse("0000-01-01T00:00:00Z"));
  });

  // Found by fuzzing (test/fuzz.test.ts): these parsed, and the API showed `+020000-01-01T00:00:00.000Z`.
  it.each([
    "Sat, 01 Jan 20000 00:00:00 GMT",
    "+020000-01-01T00:00:00Z",
    "+275760-09-13T00:00:00Z",
    "-000010-01-01T00:00:00Z",
    "-271821-04-20T00:00:00Z",
    "10000-01-01",
  ])("is the signature time when updatedAt %j lies outside years 0000 to 9999", (updatedAt) => {
    expect(occurredAt(updatedAt)).toBe(SIGNED_AT * 1000);
    expect(new Date(occurredAt(updatedAt)).toISOString()).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  it("is the signature time when updatedAt is not a time", () => {
    expect(occurredAt("...")).toBe(SIGNED_AT * 1000);
    expect(occurredAt(null)).toBe(SIGNED_AT * 1000);
  });
});
