// The deployed Worker's configuration, as wrangler reads it (wrangler.jsonc).
import path from "node:path";
import { describe, expect, it } from "vitest";
import { experimental_readRawConfig } from "wrangler";

const { rawConfig } = experimental_readRawConfig({
  config: path.join(import.meta.dirname, "..", "wrangler.jsonc"),
});

describe("wrangler.jsonc", () => {
  it("keeps the product's logs but not Cloudflare's invocation logs, which record URLs (Alfred's token)", () => {
    expect(rawConfig.observability).toMatchObject({ enabled: true, logs: { invocation_logs: false } });
  });

  it("caps vendor clocks at 24 h by default (CONTRACT §4 'Clocks')", () => {
    expect(rawConfig.vars?.FUTURE_HORIZON_SECONDS).toBe("86400");
  });
});
