/** The ordering rule (CONTRACT §4) and the job state it keeps, one event at a time. */
import { describe, expect, it } from "vitest";
import { applyEvent, compareEvents, EMPTY_STATE, type EventFacts, type JobState, orderTime } from "./order";

const key = (orderAt: number, rank = 0, terminal = false, arrival = 1) => ({
  orderAt,
  rank,
  terminal,
  arrival,
});

function facts(overrides: Partial<EventFacts>): EventFacts {
  return {
    eventType: "job_stage_update",
    status: "processing",
    vendorStatus: null,
    terminal: false,
    rank: 2,
    orderAt: 1_000,
    companyName: null,
    name: null,
    stage: null,
    retries: null,
    failure: null,
    ...overrides,
  };
}

function replay(events: EventFacts[]): JobState {
  return events.reduce((state, event, n) => applyEvent(state, event, n + 1), EMPTY_STATE);
}

describe("compareEvents: one order for history and status", () => {
  it("orders by time, then terminal after non-terminal, then lifecycle step, then arrival", () => {
    expect(compareEvents(key(1), key(2))).toBeLessThan(0);
    // Same time: a terminal event comes after a later lifecycle step that is not terminal.
    expect(compareEvents(key(5, 2, true), key(5, 3, false))).toBeGreaterThan(0);
    expect(compareEvents(key(5, 3, false), key(5, 2, false))).toBeGreaterThan(0);
    // Full ties fall to arrival.
    expect(compareEvents(key(5, 2, false, 1), key(5, 2, false, 2))).toBeLessThan(0);
  });
});

describe("orderTime: the future horizon", () => {
  const HOUR = 3_600_000;
  it("without a horizon, the vendor's time decides (CONTRACT §4)", () => {
    expect(orderTime(Date.parse("9999-12-31T00:00:00Z"), 1_000, null)).toBe(
      Date.parse("9999-12-31T00:00:00Z"),
    );
  });

  it("with one, believes an event's time up to the horizon after its receipt, and caps it there", () => {
    const received = 1_000_000;
    expect(orderTime(received - 5_000, received, HOUR)).toBe(received - 5_000);
    expect(orderTime(received + HOUR, received, HOUR)).toBe(received + HOUR);
    expect(orderTime(received + HOUR + 1, received, HOUR)).toBe(received + HOUR);
    expect(orderTime(Date.parse("9999-12-31T00:00:00Z"), received, HOUR)).toBe(received + HOUR);
  });

  it("so an event stamped in year 9999 no longer pins the status: a later real event still moves it", () => {
    const received = Date.parse("2026-11-27T10:00:00Z");
    const bogus = facts({ orderAt: orderTime(Date.parse("9999-01-01T00:00:00Z"), received, HOUR) });
    const later = received + 2 * HOUR;
    const finished = facts({
      eventType: "job_finished",
      status: "succeeded",
      terminal: true,
      rank: 5,
      orderAt: orderTime(later, later, HOUR),
    });
    expect(replay([bogus, finished]).status?.value.status).toBe("succeeded");
  });
});

describe("applyEvent", () => {
  it("a late older event never moves the status back, but its facts fill what newer events left empty", () => {
    const finished = facts({
      eventType: "job_finished",
      status: "succeeded",
      terminal: true,
      rank: 6,
      orderAt: 2_000,
    });
    const olderStage = facts({ orderAt: 1_000, stage: "ocr", companyName: "Acme" });
    const state = replay([finished, olderStage]);
    expect(state.status?.value).toMatchObject({
      status: "succeeded",
      terminal: true,
      vendorStatus: "job_finished",
    });
    expect(state.stage?.value).toBe("ocr");
    expect(state.companyName?.value).toBe("Acme");
    expect(state.latestType?.value).toBe("job_finished");
  });

  it("a newer value of a fact replaces an older one whatever the arrival order", () => {
    const a = facts({ orderAt: 1_000, stage: "ocr", retries: 1 });
    const b = facts({ orderAt: 3_000, stage: "classify", retries: 2 });
    for (const order of [
      [a, b],
      [b, a],
    ]) {
      const state = replay(order);
      expect([state.stage?.value, state.retries?.value]).toEqual(["classify", 2]);
    }
  });

  it("events without a status leave it as it is; the latest event type stands in as vendor status", () => {
    const tag = facts({ eventType: "file_tag_create", status: null, orderAt: 5_000 });
    expect(replay([tag]).status).toBeNull();
    expect(replay([tag]).latestType?.value).toBe("file_tag_create");
    const done = facts({ eventType: "file_done", status: "succeeded", terminal: true, orderAt: 4_000 });
    expect(replay([done, tag]).status?.value.status).toBe("succeeded");
  });

  it("gives the same state for every arrival order of the same events", () => {
    const events = [
      facts({ eventType: "job_create", status: "pending", rank: 0, orderAt: 1_000 }),
      facts({ eventType: "job_start", status: "processing", rank: 1, orderAt: 1_000, name: "doc.pdf" }),
      facts({ orderAt: 2_000, stage: "ocr" }),
      facts({ eventType: "job_failed", status: "failed", rank: 4, orderAt: 3_000, retries: 1 }),
      facts({ eventType: "job_finished", status: "succeeded", terminal: true, rank: 6, orderAt: 3_000 }),
    ];
    const strip = (state: JobState) =>
      Object.fromEntries(
        Object.entries(state).map(([name, fact]) => [name, (fact as { value: unknown } | null)?.value]),
      );
    const expected = strip(replay(events));
    expect(expected).toMatchObject({ name: "doc.pdf", stage: "ocr", retries: 1, latestType: "job_finished" });
    const permutations = (items: EventFacts[]): EventFacts[][] =>
      items.length <= 1
        ? [items]
        : items.flatMap((item, i) =>
            permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
          );
    for (const order of permutations(events)) expect(strip(replay(order))).toEqual(expected);
  });
});
