import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { buildPage } from "../../web/esbuild-pages.mjs";

/**
 * The widget and the console load on phones: each page, script and styles inline, stays under
 * 50 KB gzipped. Measured 2026-11-30, with the push client: 7.4 KB (chat) and 10.4 KB (agent).
 */
const BUDGET_GZIP_KB = 50;

describe("page budgets", () => {
  it.each(["chat", "agent"])("keeps the %s page under 50 KB gzipped", async (name) => {
    const { html } = await buildPage(name);
    expect(gzipSync(html, { level: 9 }).length / 1024).toBeLessThan(BUDGET_GZIP_KB);
  });
});
