/**
 * Fuzzing the vendor parsers (issue 16) with fast-check: the properties of test/fuzz/properties.ts
 * over hostile deliveries of every Extend and Alfred event type and of Standard Webhooks bodies of
 * any type (test/fuzz/arbitraries.ts).
 *
 * In `npm test` this is a small, fixed-seed run: a few hundred bodies per parser and about ninety
 * deliveries through the Worker. `npm run fuzz -- --minutes N [--seed S]` (scripts/fuzz.mjs) runs
 * the same file with `FUZZ_MINUTES`, which vitest.config.ts provides here as `fuzz`: then it runs
 * rounds of the three properties with seeds drawn from S until the time is up, printing progress
 * every minute and, on a failure, the counterexample and how to replay it.
 */
import fc from "fast-check";
import { beforeAll, describe, inject, it } from "vitest";
import type { BodyOptions } from "./fuzz/arbitraries";
import {
  alfredParserProperty,
  extendParserProperty,
  standardParserProperty,
  workerProperty,
} from "./fuzz/properties";
import { createToken } from "./helpers";

declare module "vitest" {
  export interface ProvidedContext {
    /** Set by `npm run fuzz`: a long run of `minutes` from `seed`. */
    fuzz: { minutes: number; seed: number } | null;
  }
}

const long = inject("fuzz");

/** The seed of the bounded run in `npm test`: fixed, so a failure there is a failure every time. */
const SEED = 160_016;
const QUICK: BodyOptions = { maxDepth: 2_000 };
const LONG: BodyOptions = { maxDepth: 20_000 };

let readToken: string;
beforeAll(async () => {
  readToken = await createToken();
});

/** Runs a property; throws fast-check's report (counterexample, seed, path) if it fails. */
async function check<T>(
  property: fc.IAsyncProperty<[T]>,
  parameters: fc.Parameters<[T]>,
): Promise<fc.RunDetails<[T]>> {
  const details = await fc.check(property, { includeErrorInReport: true, ...parameters });
  if (details.failed) throw new Error(fc.defaultReportMessage(details) ?? "the property failed");
  return details;
}

describe.skipIf(long !== null)("fuzzing, bounded (fixed seed)", () => {
  it("the Extend parser never throws and keeps its invariants (400 bodies)", async () => {
    await check(extendParserProperty(QUICK), { seed: SEED, numRuns: 400 });
  });

  it("the Alfred parser never throws and keeps its invariants (400 bodies)", async () => {
    await check(alfredParserProperty(QUICK), { seed: SEED, numRuns: 400 });
  });

  it("the Standard Webhooks parser never throws and keeps its invariants (400 bodies)", async () => {
    await check(standardParserProperty(QUICK), { seed: SEED, numRuns: 400 });
  });

  it("the Worker answers 60 signed or tokened fuzzed bodies (half sent twice) with 2xx or 4xx, never 5xx", async () => {
    await check(workerProperty(QUICK, readToken), { seed: SEED, numRuns: 60 });
  });
});

/** One round of a long run: each property, its own seed. */
const ROUND = [
  { name: "extend parser", runs: 1_000, property: () => extendParserProperty(LONG) },
  { name: "alfred parser", runs: 1_000, property: () => alfredParserProperty(LONG) },
  { name: "standard parser", runs: 1_000, property: () => standardParserProperty(LONG) },
  { name: "worker", runs: 60, property: () => workerProperty(LONG, readToken) },
] as const;

/** The seed of property `index` in round `round`, drawn from the run's seed. */
function roundSeed(seed: number, round: number, index: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 2_654_435_761) + round * 7_919 + index * 104_729) | 0;
}

// Registered only for `npm run fuzz`, so that `npm test` does not list a skipped test for ever.
if (long !== null)
  describe("fuzzing, long run (npm run fuzz)", () => {
    const { minutes, seed } = long;
    // The whole run, plus room for shrinking a counterexample and for a loaded machine.
    const budget = minutes * 60_000 + 10 * 60_000;

    it(
      `runs the properties for ${minutes} min from seed ${seed}`,
      async () => {
        const started = Date.now();
        const deadline = started + minutes * 60_000;
        const counts = new Map<string, number>(ROUND.map((step) => [step.name, 0]));
        const total = () => [...counts.values()].reduce((sum, n) => sum + n, 0);
        const tally = () => [...counts].map(([name, n]) => `${name} ${n}`).join(", ");
        console.log(`fuzz: start seed=${seed} minutes=${minutes} cases=0`);
        let lastReport = started;
        let round = 0;
        while (Date.now() < deadline) {
          for (const [index, step] of ROUND.entries()) {
            const stepSeed = roundSeed(seed, round, index);
            const details = await fc.check(step.property() as fc.IAsyncProperty<[unknown]>, {
              seed: stepSeed,
              numRuns: step.runs,
              includeErrorInReport: true,
              // A shrink that runs away is stopped; the counterexample found so far is reported.
              interruptAfterTimeLimit: 5 * 60_000,
            });
            counts.set(step.name, (counts.get(step.name) ?? 0) + details.numRuns);
            if (details.failed) {
              const report = fc.defaultReportMessage(details) ?? "the property failed";
              console.log(
                `fuzz: FAILED seed=${seed} round=${round} property="${step.name}" propertySeed=${stepSeed} cases=${total()} (${tally()})\n${report}`,
              );
              throw new Error(`${step.name} failed in round ${round} of seed ${seed}\n${report}`);
            }
          }
          round += 1;
          if (Date.now() - lastReport >= 60_000) {
            lastReport = Date.now();
            const elapsed = ((lastReport - started) / 60_000).toFixed(1);
            console.log(`fuzz: ${elapsed} min, round ${round}, cases=${total()} (${tally()})`);
          }
        }
        const elapsed = ((Date.now() - started) / 60_000).toFixed(1);
        console.log(
          `fuzz: done seed=${seed} minutes=${elapsed} rounds=${round} cases=${total()} (${tally()})`,
        );
      },
      budget,
    );
  });
