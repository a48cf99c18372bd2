import { createHash } from "node:crypto";
import type { APIGatewayProxyEvent } from "aws-lambda";
import type { StorageSequence } from "../../storage.ts";
import { publicBasePath } from "../base-path.ts";
import { header } from "../decode.ts";
import { dispatch, type HttpOptions, type HttpResult, httpHandler } from "../respond.ts";

/** A built web page (web/esbuild-pages.mjs): self-contained HTML and its inline code's CSP hashes. */
export interface Page {
  /** The page, with `{{apiBase}}` where the API's public path prefix goes. */
  readonly html: string;
  readonly scriptHash: string;
  readonly styleHash: string;
}

export interface WebDeps extends HttpOptions {
  readonly pages: { readonly chat: Page; readonly agent: Page };
}

/** The pages are static: no storage call at all. */
export const LONGEST_STORAGE_SEQUENCE: StorageSequence = [];

/**
 * What each page may do beyond its own origin. The customer widget is meant to be embedded in an
 * integrator's site, and can be pointed at the API on another origin (`?api=`). The agent console
 * holds an API key: it is never framed (clickjacking) and talks to no origin but the one that
 * served it, so no link can make it send the key elsewhere.
 */
const PAGE_POLICY = {
  chat: { frameAncestors: "*", connectSrc: "'self' http: https:" },
  agent: { frameAncestors: "'none'", connectSrc: "'self'" },
} as const;

const ATTRIBUTE_ESCAPES: Record<string, string> = { "&": "&amp;", '"': "&quot;", "<": "&lt;", ">": "&gt;" };

/**
 * The web function's routes (its Lambda entry is handlers/web.ts): the customer chat widget
 * (`GET /chat/`) and the agent console (`GET /agent/`), static pages that use only the public API.
 * Each is one HTML response with its script and styles inline, told the API's public path prefix
 * (`/<stage>` on the default endpoint) so its calls work wherever it is served. Revalidated on
 * every load (ETag), so a deploy applies at once.
 */
export function webHandler(deps: WebDeps) {
  const rendered = new Map<string, { html: string; etag: string }>();
  const page =
    (name: keyof WebDeps["pages"]) =>
    async (event: APIGatewayProxyEvent): Promise<HttpResult> => {
      const basePath = publicBasePath(event);
      const key = `${name} ${basePath}`;
      let view = rendered.get(key);
      if (view === undefined) {
        const html = deps.pages[name].html.replaceAll(
          "{{apiBase}}",
          basePath.replace(/[&"<>]/g, (c) => ATTRIBUTE_ESCAPES[c] ?? c),
        );
        view = { html, etag: `"${createHash("sha256").update(html).digest("base64url")}"` };
        rendered.set(key, view);
      }
      const { scriptHash, styleHash } = deps.pages[name];
      const headers = {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-cache",
        ETag: view.etag,
        "Content-Security-Policy": [
          "default-src 'none'",
          `script-src '${scriptHash}'`,
          `style-src '${styleHash}'`,
          `connect-src ${PAGE_POLICY[name].connectSrc}`,
          "img-src 'self' data:",
          "base-uri 'none'",
          "form-action 'none'",
          `frame-ancestors ${PAGE_POLICY[name].frameAncestors}`,
        ].join("; "),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
      };
      if (header(event, "if-none-match") === view.etag) return { status: 304, headers };
      return { status: 200, text: view.html, headers };
    };
  return httpHandler(dispatch({ "/chat": { GET: page("chat") }, "/agent": { GET: page("agent") } }), deps);
}
