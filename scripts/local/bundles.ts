import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { type BuildOptions, build, type Plugin } from "esbuild";
import { SERVERLESS_BIN, SERVERLESS_ENV } from "./processes.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

export interface Bundle {
  readonly name: string;
  readonly file: string;
  readonly bytes: number;
  readonly gzipBytes: number;
}

interface PrintedConfig {
  custom: { esbuild: Record<string, unknown> };
  functions: Record<string, { handler: string }>;
}

/** serverless-esbuild's own keys; the rest of `custom.esbuild` goes to esbuild as is. */
const PLUGIN_KEYS = [
  "plugins",
  "exclude",
  "outputFileExtension",
  "outputWorkFolder",
  "outputBuildFolder",
  "packager",
  "packagerOptions",
  "watch",
  "keepOutputDirectory",
  "nativeZip",
  "zipConcurrency",
  "installExtraArgs",
  "external",
];

/**
 * Builds each function's bundle exactly as `serverless package` does: the esbuild options are read
 * from the resolved serverless.yml (`serverless print`), so the figures and budgets can never drift
 * from what is deployed.
 */
export async function buildFunctionBundles(outDir: string): Promise<Bundle[]> {
  const { stdout } = await promisify(execFile)(process.execPath, [SERVERLESS_BIN, "print", "--format", "json"], {
    cwd: root,
    env: { ...process.env, ...SERVERLESS_ENV },
    maxBuffer: 16 * 1024 * 1024,
  });
  const config = JSON.parse(stdout) as PrintedConfig;
  const options = Object.fromEntries(Object.entries(config.custom.esbuild).filter(([key]) => !PLUGIN_KEYS.includes(key))) as BuildOptions;
  // serverless-esbuild loads `plugins` from the file it names, whose default export is the list.
  const pluginsFile = config.custom.esbuild.plugins;
  if (typeof pluginsFile === "string") options.plugins = ((await import(join(root, pluginsFile))) as { default: Plugin[] }).default;
  const extension = String(config.custom.esbuild.outputFileExtension ?? ".js");
  const bundles: Bundle[] = [];
  for (const [name, fn] of Object.entries(config.functions)) {
    const source = `${fn.handler.slice(0, fn.handler.lastIndexOf("."))}.ts`;
    bundles.push(await buildOne(name, { ...options, entryPoints: [join(root, source)] }, join(outDir, `${name}${extension}`)));
  }
  return bundles;
}

export async function buildOne(name: string, options: BuildOptions, outfile: string): Promise<Bundle> {
  await build({ ...options, outfile, logLevel: "error" });
  const code = await readFile(outfile);
  return { name, file: outfile, bytes: code.length, gzipBytes: gzipSync(code, { level: 9 }).length };
}
