import type { D1Migration } from "cloudflare:test";
import type { Env as WorkerEnv } from "../src/env";

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {
      TEST_MIGRATIONS?: D1Migration[];
      /** `npm run fuzz`: a seed and a number of runs per property for the oracle properties. */
      ORACLE_SEED?: string;
      ORACLE_RUNS?: string;
    }
  }
}
