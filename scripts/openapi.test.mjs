// docs/openapi.json, which test/openapi.test.ts keeps equal to what GET /openapi.json serves, is a
// valid OpenAPI 3.1 document. Here in Node, not in workerd: the validator reads its meta-schemas
// from its package folder on disk, which the Workers runtime cannot read.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { ROOT } from "./lib.mjs";

// One validator for both tests: each compiles the OpenAPI meta-schema once (about half a second).
const validator = new Validator();

describe("docs/openapi.json", () => {
  it("is a valid OpenAPI 3.1 document whose $refs all resolve", async () => {
    const document = JSON.parse(await readFile(path.join(ROOT, "docs", "openapi.json"), "utf8"));
    const result = await validator.validate(document);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("refuses one with a $ref to nothing, so the check above can fail", async () => {
    const document = JSON.parse(await readFile(path.join(ROOT, "docs", "openapi.json"), "utf8"));
    document.paths["/v1/jobs"].get.responses["200"].content["application/json"].schema = {
      $ref: "#/components/schemas/NoSuchShape",
    };
    const result = await validator.validate(document);
    expect(result.valid).toBe(false);
  });
});
