import { describe, expect, it } from "vitest";
import { TOKEN_RECHECK_MS, UNCONFIRMED_LIMIT, watchToken } from "./revocation";

/** A clock the test moves by hand, and a token check that answers as the test says. */
function setup(recheckMs = 1_000) {
  const clock = { now: 0 };
  const asked: number[] = [];
  let answer: () => Promise<boolean> = async () => true;
  const watch = watchToken(
    () => {
      asked.push(clock.now);
      return answer();
    },
    { recheckMs, now: () => clock.now },
  );
  return {
    clock,
    asked,
    watch,
    answer: (next: () => Promise<boolean>) => {
      answer = next;
    },
  };
}

describe("watchToken", () => {
  it("the defaults end a revoked token's requests well inside the contract's 60 s", () => {
    // A revocation just after a question is seen at the next one, an interval later, answered
    // within a question's limit (5 s); a token D1 cannot confirm is given up once the next question
    // would fall past UNCONFIRMED_LIMIT intervals, so at most an interval and a question later.
    expect(TOKEN_RECHECK_MS + 5_000).toBeLessThanOrEqual(30_000);
    expect(TOKEN_RECHECK_MS * UNCONFIRMED_LIMIT + 5_000).toBeLessThan(60_000);
  });

  it("checkIfDue asks only once an interval has passed since the last question", async () => {
    const { clock, asked, watch } = setup();
    clock.now = 999;
    expect(await watch.checkIfDue()).toBe("live");
    expect(asked).toEqual([]);
    clock.now = 1_000;
    expect(await watch.checkIfDue()).toBe("live");
    clock.now = 1_500;
    expect(await watch.checkIfDue()).toBe("live");
    expect(asked).toEqual([1_000]);
    expect(await watch.check()).toBe("live");
    expect(asked).toEqual([1_000, 1_500]);
  });

  it("a revoked token is revoked for good, and not asked about again", async () => {
    const { clock, asked, watch, answer } = setup();
    answer(async () => false);
    clock.now = 1_000;
    expect(await watch.checkIfDue()).toBe("revoked");
    answer(async () => true);
    expect(await watch.checkIfDue()).toBe("revoked");
    expect(await watch.check()).toBe("revoked");
    expect(asked).toEqual([1_000]);
  });

  it("questions that fail or hang keep the token while the next is due within UNCONFIRMED_LIMIT intervals of its last confirmation", async () => {
    const { clock, watch, answer } = setup(20);
    answer(() => Promise.reject(new Error("D1 unreachable")));
    clock.now = 20;
    expect(await watch.check()).toBe("live");
    // A question that never answers counts as failed once its own limit (the interval) is up.
    answer(() => new Promise<boolean>(() => undefined));
    clock.now = 20 * (UNCONFIRMED_LIMIT - 1);
    expect(await watch.check()).toBe("live");
    clock.now = 20 * (UNCONFIRMED_LIMIT - 1) + 1;
    expect(await watch.check()).toBe("unconfirmed");
    // D1 answers again: the token is confirmed and the count starts over.
    answer(async () => true);
    expect(await watch.check()).toBe("live");
    answer(() => Promise.reject(new Error("D1 unreachable")));
    clock.now += 20;
    expect(await watch.check()).toBe("live");
  });

  it("asks one question at a time", async () => {
    const { clock, asked, watch, answer } = setup();
    let release: (live: boolean) => void = () => undefined;
    answer(() => new Promise<boolean>((resolve) => (release = resolve)));
    clock.now = 1_000;
    const both = Promise.all([watch.check(), watch.check()]);
    release(true);
    expect(await both).toEqual(["live", "live"]);
    expect(asked).toEqual([1_000]);
  });
});
