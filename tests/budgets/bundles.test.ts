import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Bundle, buildFunctionBundles } from "../../scripts/local/bundles.ts";

/**
 * Bundle budgets: each function's deployed bundle (built with serverless.yml's own esbuild options)
 * must stay within its budget, since module load grows with it and every cold start pays it.
 * Measured 2026-11-25: 221-231 KB minified; web (both pages, no SDK) 36 KB. Raise a budget only with a reason.
 */
const BUDGET_KB: Record<string, number> = { requestChat: 250, chat: 250, agent: 250, admin: 250, seed: 250, web: 50 };
let dir: string;
let bundles: Bundle[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gms-chat-bundles-"));
  bundles = await buildFunctionBundles(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("bundle budgets", () => {
  it("covers every function", () => {
    expect(bundles.map((b) => b.name).sort()).toEqual(Object.keys(BUDGET_KB).sort());
  });

  it.each(Object.entries(BUDGET_KB))("keeps %s within %d KB minified", (name, budget) => {
    const bundle = bundles.find((b) => b.name === name)!;
    expect(bundle.bytes / 1024).toBeLessThanOrEqual(budget);
  });
});
