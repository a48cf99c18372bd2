import { createHash } from "node:crypto";
import type { APIGatewayProxyEvent } from "aws-lambda";
import type { StorageSequence } from "../../sequence.ts";
import { publicBasePath } from "../base-path.ts";
import { type ConsoleIdentity, identityOrigin } from "../console-identity.ts";
import { header } from "../decode.ts";
import { pushOrigin } from "../push-url.ts";
import { dispatch, type HttpOptions, type HttpResult, httpHandler } from "../respond.ts";

/** A built web page (web/esbuild-pages.mjs): self-contained HTML and its inline code's CSP hashes. */
export interface Page {
  /**
   * The page, with `{{apiBase}}` where the API's public path prefix goes and (the widget)
   * `{{apiOrigins}}` where the allowed API origins go.
   */
  readonly html: string;
  readonly scriptHash: string;
  readonly styleHash: string;
}

export interface WebDeps extends HttpOptions {
  readonly pages: { readonly chat: Page; readonly agent: Page };
  /** The API origins the widget may be pointed at with `?api=` (PAGE_API_ORIGINS, lib/http/page-origins.ts). */
  readonly apiOrigins: readonly string[];
  /** Where the console signs agents in (lib/http/console-identity.ts), served as `/agent/config.json`. */
  readonly identity: ConsoleIdentity;
  /** The push channel's address (PUSH_URL, lib/http/push-url.ts), served to both pages. */
  readonly push: string;
}

/** The pages are static: no storage call at all. */
export const LONGEST_STORAGE_SEQUENCE: StorageSequence = [];

/**
 * What each page may do beyond its own origin. The customer widget is meant to be embedded in an
 * integrator's site, and may be pointed at the API on one of the origins the stage allows (`?api=`),
 * and at no other. Its Cross-Origin-Opener-Policy stays `unsafe-none`: sites open it as a popup and
 * keep a handle on that window (to focus or close it), which `same-origin` would cut; it holds no
 * credential, and COOP does not concern frames anyway. The agent console holds an agent's tokens: it
 * is never framed (clickjacking), no window of another origin that opened it keeps a handle on it
 * (COOP), and it talks to the origin that served it and to the identity provider it is configured
 * with, and to no other, so no link can make it send a password or a token elsewhere. Both open
 * their WebSocket to the stage's push channel, and to no other.
 */
function pagePolicy(apiOrigins: readonly string[], identity: ConsoleIdentity, push: string) {
  return {
    chat: { frameAncestors: "*", connectSrc: ["'self'", ...apiOrigins, pushOrigin(push)].join(" "), openerPolicy: "unsafe-none" },
    agent: { frameAncestors: "'none'", connectSrc: `'self' ${identityOrigin(identity)} ${pushOrigin(push)}`, openerPolicy: "same-origin" },
  } as const;
}

const ATTRIBUTE_ESCAPES: Record<string, string> = { "&": "&amp;", '"': "&quot;", "<": "&lt;", ">": "&gt;" };

function escapeAttribute(value: string): string {
  return value.replace(/[&"<>]/g, (c) => ATTRIBUTE_ESCAPES[c] ?? c);
}

/**
 * The web function's routes (its Lambda entry is handlers/web.ts): the customer chat widget
 * (`GET /chat/`) and the agent console (`GET /agent/`), static pages that use only the public API,
 * and their settings: the widget's (`GET /chat/config.json`: the push channel's address) and the
 * console's (`GET /agent/config.json`: the user pool's region and id, the console's app client, the
 * identity provider's endpoint when it is not Cognito's own, and the push channel's address).
 * Each is one HTML response with its script and styles inline, told the API's public path prefix
 * (`/<stage>` on the default endpoint) so its calls work wherever it is served, and (the widget)
 * the other API origins it may be pointed at. Revalidated on every load (ETag), so a deploy
 * applies at once.
 */
export function webHandler(deps: WebDeps) {
  const policy = pagePolicy(deps.apiOrigins, deps.identity, deps.push);
  // The pages' settings: the same for every request, so built once.
  const consoleConfig = {
    region: deps.identity.region,
    userPoolId: deps.identity.userPoolId,
    clientId: deps.identity.clientId,
    ...(deps.identity.endpoint === undefined ? {} : { endpoint: deps.identity.endpoint }),
    push: deps.push,
  };
  const widgetConfig = { push: deps.push };
  const config =
    (body: object, sameOrigin = false) =>
    async (): Promise<HttpResult> => ({
      status: 200,
      body,
      // Revalidated on every load, like the pages, so a redeployed pool or push channel applies at once.
      headers: { "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff" },
      sameOrigin,
    });
  const apiOrigins = escapeAttribute(deps.apiOrigins.join(" "));
  const rendered = new Map<string, { html: string; etag: string }>();
  const page =
    (name: keyof WebDeps["pages"]) =>
    async (event: APIGatewayProxyEvent): Promise<HttpResult> => {
      const basePath = publicBasePath(event);
      const key = `${name} ${basePath}`;
      let view = rendered.get(key);
      if (view === undefined) {
        const html = deps.pages[name].html.replaceAll("{{apiBase}}", escapeAttribute(basePath)).replaceAll("{{apiOrigins}}", apiOrigins);
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
          `connect-src ${policy[name].connectSrc}`,
          "img-src 'self' data:",
          "base-uri 'none'",
          "form-action 'none'",
          `frame-ancestors ${policy[name].frameAncestors}`,
        ].join("; "),
        "Cross-Origin-Opener-Policy": policy[name].openerPolicy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
      };
      if (header(event, "if-none-match") === view.etag) return { status: 304, headers };
      return { status: 200, text: view.html, headers };
    };
  return httpHandler(
    dispatch({
      "/chat": { GET: page("chat") },
      "/chat/config.json": { GET: config(widgetConfig) },
      "/agent": { GET: page("agent") },
      // The console is served from here only: no page of another site reads where its agents sign in.
      "/agent/config.json": { GET: config(consoleConfig, true) },
    }),
    deps,
  );
}
