/**
 * Receipt times per delivery: each history entry carries `receipts`, the times of its event's last
 * five deliveries, oldest first and newest last, beside `deliveries` (every one counted), in the
 * job's detail. Each test uses ids of its own (storage may be shared).
 */
import { describe, expect, it } from "vitest";
import { apiGet, createToken, extendEvent, sendExtend } from "./helpers";

interface Entry {
  eventId: string;
  receivedAt: string;
  deliveries: number;
  receipts: string[];
}

describe("receipt times per delivery", () => {
  it("keeps the last 5 receipt times of an event, newest last, and counts every delivery", async () => {
    const token = await createToken();
    const id = `exr_receipts_${crypto.randomUUID().slice(0, 8)}`;
    const event = extendEvent("extract_run.processed", { object: "extract_run", id });
    const other = extendEvent("extract_run.failed", { object: "extract_run", id });
    const key = encodeURIComponent(`extend:extract_run:${id}`);
    const history = async () => {
      const detail = (await (await apiGet(`/v1/jobs/${key}`, token)).json()) as { history: Entry[] };
      const byId = new Map(detail.history.map((entry) => [entry.eventId, entry]));
      return { first: byId.get(event.eventId) as Entry, second: byId.get(other.eventId) as Entry };
    };

    expect((await sendExtend(event)).status).toBe(200);
    expect((await sendExtend(other)).status).toBe(200);
    const once = await history();
    expect(once.first.deliveries).toBe(1);
    expect(once.first.receipts).toEqual([once.first.receivedAt]);

    const sentAt: number[] = [];
    for (let n = 2; n <= 7; n++) {
      sentAt.push(Date.now());
      expect(await (await sendExtend(event)).json()).toMatchObject({ duplicate: true });
    }
    const { first, second } = await history();
    expect(first.deliveries).toBe(7);
    expect(first.receivedAt).toBe(once.first.receivedAt);
    expect(first.receipts).toHaveLength(5);
    const times = first.receipts.map((time) => Date.parse(time));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    // The last five of the repeats: the first two receipts are gone from the list.
    expect(times[0]).toBeGreaterThanOrEqual(sentAt[1] as number);
    expect(times[0]).toBeGreaterThan(Date.parse(first.receivedAt) - 1);
    for (const time of first.receipts) expect(time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // The other event's entry is untouched.
    expect(second).toMatchObject({ deliveries: 1, receipts: [second.receivedAt] });
  });
});
