// @ts-check
/**
 * The web pages (customer chat widget, agent console) as esbuild sees them: each page is an HTML
 * template (`web/<page>/index.html`) whose script (`web/<page>/main.ts`, browser TypeScript, with
 * the CSS it imports) is bundled, minified and inlined, so a page is one self-contained response.
 *
 * The `web` function imports a page as `import chat from "page:chat"`: this plugin (listed in
 * serverless.yml's `custom.esbuild.plugins`) answers such imports with the built page, so
 * `serverless deploy`, `serverless offline` and `serverless package` all bundle the pages into the
 * function with no separate build step. Plain JavaScript because serverless-esbuild loads it with
 * Node's `require`, without a TypeScript loader.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const webDir = dirname(fileURLToPath(import.meta.url));
const SCRIPT_SLOT = "<!--gms:script-->";
const STYLE_SLOT = "<!--gms:style-->";

/** @param {string} text */
function sha256(text) {
  return `sha256-${createHash("sha256").update(text, "utf8").digest("base64")}`;
}

/**
 * Builds one page: its HTML with the script and styles inlined, and their hashes for the
 * Content-Security-Policy (no 'unsafe-inline' needed).
 * @param {string} name a folder under web/
 * @returns {Promise<import("../lib/http/routes/web.ts").Page>}
 */
export async function buildPage(name) {
  if (!/^[a-z]+$/.test(name)) throw new Error(`page:${name}: page names are lower-case letters`);
  const dir = join(webDir, name);
  const result = await build({
    entryPoints: [join(dir, "main.ts")],
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: ["es2022", "chrome110", "firefox110", "safari16"],
    write: false,
    outdir: "out",
    logLevel: "silent",
    legalComments: "none",
  });
  const script = result.outputFiles.find((file) => file.path.endsWith(".js"))?.text ?? "";
  const style = result.outputFiles.find((file) => file.path.endsWith(".css"))?.text ?? "";
  // An inline script ends at the first `</script`, wherever it stands.
  if (/<\/script/i.test(script) || /<\/style/i.test(style)) throw new Error(`page:${name}: the bundle contains a closing tag`);
  // `<!--gms:include name-->` stands for web/shared/name.html: markup both pages share.
  const template = (await readFile(join(dir, "index.html"), "utf8")).replace(/<!--gms:include ([a-z-]+)-->/g, (_, part) =>
    readFileSync(join(webDir, "shared", `${part}.html`), "utf8").trimEnd(),
  );
  if (!template.includes(SCRIPT_SLOT) || !template.includes(STYLE_SLOT))
    throw new Error(`page:${name}: index.html needs ${SCRIPT_SLOT} and ${STYLE_SLOT}`);
  const html = template
    .replace(STYLE_SLOT, () => `<style>${style}</style>`)
    .replace(SCRIPT_SLOT, () => `<script type="module">${script}</script>`);
  return { html, scriptHash: sha256(script), styleHash: sha256(style) };
}

/** @type {import("esbuild").Plugin} */
export const pagesPlugin = {
  name: "gms-pages",
  setup(build) {
    build.onResolve({ filter: /^page:/ }, (args) => ({ path: args.path.slice("page:".length), namespace: "gms-page" }));
    build.onLoad({ filter: /.*/, namespace: "gms-page" }, async (args) => {
      const page = await buildPage(args.path);
      return {
        contents: `export default ${JSON.stringify(page)};`,
        loader: "js",
        // Rebuild when any page source changes (serverless-offline --reloadHandler, watch mode).
        watchDirs: [webDir],
      };
    });
  },
};

export default [pagesPlugin];
