import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * `npm test` lints the whole tree with Biome (`npm run lint`). This checks that the project's
 * configuration keeps the rules strict TypeScript needs: it lints a few seeded mistakes, under lib/
 * and under tests/, with a copy of biome.json, and expects each one to be reported.
 */
const root = fileURLToPath(new URL("../..", import.meta.url));
const BIOME = join(root, "node_modules/.bin/biome");
let dir: string;

const PROBE = `import { Deps } from "./storage.ts";
async function save(): Promise<void> {}
export function length(text?: string, deps?: Deps): number {
  save();
  return text!.length + (deps ? 1 : 0);
}
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gms-chat-lint-"));
  const config = JSON.parse(await readFile(join(root, "biome.json"), "utf8"));
  delete config.$schema;
  config.vcs = { enabled: false };
  await writeFile(join(dir, "biome.json"), JSON.stringify(config));
  for (const folder of ["lib", "tests"]) {
    await mkdir(join(dir, folder));
    await writeFile(join(dir, folder, "probe.ts"), PROBE);
    await writeFile(join(dir, folder, "storage.ts"), "export interface Deps {\n  readonly now: () => Date;\n}\n");
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function diagnostics(): Promise<string[]> {
  // Biome exits non-zero when it reports errors: its JSON report is what counts here.
  const run = await promisify(execFile)(BIOME, ["lint", "--reporter=json", "lib", "tests"], { cwd: dir }).catch(
    (error: { stdout: string }) => error,
  );
  const report: { diagnostics: { category: string; location: { path: string } }[] } = JSON.parse(run.stdout);
  return report.diagnostics.map((d) => `${d.location.path} ${d.category}`).sort();
}

describe("the linter", () => {
  it("reports floating promises and value imports of types everywhere, non-null assertions outside tests", async () => {
    expect(await diagnostics()).toEqual([
      "lib/probe.ts lint/nursery/noFloatingPromises",
      "lib/probe.ts lint/style/noNonNullAssertion",
      "lib/probe.ts lint/style/useImportType",
      "tests/probe.ts lint/nursery/noFloatingPromises",
      "tests/probe.ts lint/style/useImportType",
    ]);
  });
});
