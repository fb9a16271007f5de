import type { D1Migration } from "cloudflare:test";

// The Worker's bindings are generated from wrangler.jsonc (`npm run types`,
// worker-configuration.d.ts); the tests add the D1 migrations vitest.config.ts provides.
declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS?: D1Migration[];
    }
  }
}
