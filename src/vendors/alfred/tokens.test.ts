import { describe, expect, it } from "vitest";
import { bindingAllows, findUrlToken, parseUrlToken } from "./tokens";

describe("parseUrlToken", () => {
  it.each([
    ["tok", { token: "tok", companies: null }],
    ["tok=co-1", { token: "tok", companies: ["co-1"] }],
    ["tok=co-1|co-2", { token: "tok", companies: ["co-1", "co-2"] }],
    ["tok = co-1 | co-2 ", { token: "tok", companies: ["co-1", "co-2"] }],
    // Base64 padding is part of the token, not an empty binding.
    ["dG9rZW4=", { token: "dG9rZW4=", companies: null }],
    ["dG9rZQ==", { token: "dG9rZQ==", companies: null }],
    // The binding follows the last `=`.
    ["dG9rZQ==co-1", { token: "dG9rZQ=", companies: ["co-1"] }],
    // Bound to nothing: that URL takes no event (fails closed).
    ["tok=|", { token: "tok", companies: [] }],
    ["=co-1", { token: "=co-1", companies: null }],
  ])("%j", (entry, expected) => {
    expect(parseUrlToken(entry)).toEqual(expected);
  });
});

describe("bindingAllows", () => {
  it("an unbound token takes any company, or none; a bound one only its own", () => {
    expect(bindingAllows(parseUrlToken("t"), "x")).toBe(true);
    expect(bindingAllows(parseUrlToken("t"), null)).toBe(true);
    expect(bindingAllows(parseUrlToken("t=a|b"), "b")).toBe(true);
    expect(bindingAllows(parseUrlToken("t=a|b"), "c")).toBe(false);
    expect(bindingAllows(parseUrlToken("t=a|b"), null)).toBe(false);
    expect(bindingAllows(parseUrlToken("t=|"), "a")).toBe(false);
  });
});

describe("findUrlToken", () => {
  it("finds the entry by its token, never by the whole entry", async () => {
    const entries = ["a", "b=co-1"].map(parseUrlToken);
    expect(await findUrlToken("b", entries)).toEqual({ token: "b", companies: ["co-1"] });
    expect(await findUrlToken("b=co-1", entries)).toBeNull();
    expect(await findUrlToken("", entries)).toBeNull();
  });
});
