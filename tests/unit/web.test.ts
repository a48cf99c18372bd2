import { createHash } from "node:crypto";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { corsPolicy } from "../../lib/http/cors.ts";
import { pageApiOrigins } from "../../lib/http/page-origins.ts";
import { type Page, webHandler } from "../../lib/http/routes/web.ts";
import { buildPage } from "../../web/esbuild-pages.mjs";
import { httpEvent } from "../support/events.ts";

/**
 * The page routes with the real pages, built as the `web` function's bundle builds them, on a stage
 * that lets the widget use two more API origins.
 */
const API_ORIGINS = "https://api.example.com, http://localhost:8080";
let pages: { chat: Page; agent: Page };
let handler: ReturnType<typeof webHandler>;

beforeAll(async () => {
  pages = { chat: await buildPage("chat"), agent: await buildPage("agent") };
  handler = webHandler({ pages, cors: corsPolicy("*"), apiOrigins: pageApiOrigins(API_ORIGINS) });
});

function get(path: string, overrides: Partial<APIGatewayProxyEvent> = {}, routes = handler) {
  return routes(httpEvent({ httpMethod: "GET", resource: path.replace(/\/$/, ""), path, ...overrides }));
}

/** The sources of one CSP directive. */
function directive(csp: unknown, name: string): string[] {
  const found = String(csp)
    .split(";")
    .map((part) => part.trim().split(/\s+/))
    .find(([directiveName]) => directiveName === name);
  if (found === undefined) throw new Error(`no ${name} in ${String(csp)}`);
  return found.slice(1);
}

describe("pageApiOrigins", () => {
  it("reads none when unset or empty: the pages use only the origin that served them", () => {
    expect(pageApiOrigins(undefined)).toEqual([]);
    expect(pageApiOrigins("")).toEqual([]);
    expect(pageApiOrigins(" , ")).toEqual([]);
  });
  it("reads a comma-separated list of origins, once each", () => {
    expect(pageApiOrigins(" https://api.example.com,http://localhost:8080, https://api.example.com ,http://[::1]:3000")).toEqual([
      "https://api.example.com",
      "http://localhost:8080",
      "http://[::1]:3000",
    ]);
  });
  it.each([
    "*",
    "api.example.com",
    "https://api.example.com/",
    "https://api.example.com/prod",
    "https://API.example.com",
    "https://api.example.com:443",
    "https://user@api.example.com",
    "ftp://api.example.com",
    "https://api.example.com;script-src *",
    "https://api example.com",
    "https://api.example.com 'unsafe-inline'",
    "'self'",
  ])("refuses the setting %j at init", (setting) => {
    expect(() => pageApiOrigins(setting)).toThrow(/PAGE_API_ORIGINS/);
  });
});

function inline(html: string, tag: "script" | "style"): string {
  const match = new RegExp(`<${tag}[^>]*>([\\s\\S]*?)</${tag}>`).exec(html);
  if (match === null) throw new Error(`no inline ${tag}`);
  return match[1]!;
}

const sha256 = (text: string) => `sha256-${createHash("sha256").update(text, "utf8").digest("base64")}`;

describe("the page routes", () => {
  it.each(["chat", "agent"] as const)(
    "serves /%s/ as one HTML page whose inline code the CSP allows by hash, and nothing else",
    async (name) => {
      const response = await get(`/${name}/`);
      expect(response.statusCode).toBe(200);
      expect(response.headers?.["Content-Type"]).toBe("text/html; charset=utf-8");
      const csp = String(response.headers?.["Content-Security-Policy"]);
      expect(csp).toContain(`script-src '${sha256(inline(response.body, "script"))}'`);
      expect(csp).toContain(`style-src '${sha256(inline(response.body, "style"))}'`);
      expect(csp).toContain("default-src 'none'");
      expect(csp).not.toContain("unsafe-inline");
      expect(response.body).not.toContain("{{");
      expect(response.body).not.toContain("<!--gms:");
    },
  );

  it("lets integrators frame the widget but never the console, which holds an API key", async () => {
    expect(String((await get("/chat/")).headers?.["Content-Security-Policy"])).toContain("frame-ancestors *");
    expect(String((await get("/agent/")).headers?.["Content-Security-Policy"])).toContain("frame-ancestors 'none'");
  });

  it("lets the widget reach exactly its own origin and the stage's API origins, and the console only its own", async () => {
    const chat = await get("/chat/");
    expect(directive(chat.headers?.["Content-Security-Policy"], "connect-src")).toEqual([
      "'self'",
      "https://api.example.com",
      "http://localhost:8080",
    ]);
    expect(chat.body).toContain('<meta name="gms-api-origins" content="https://api.example.com http://localhost:8080">');
    expect(directive((await get("/agent/")).headers?.["Content-Security-Policy"], "connect-src")).toEqual(["'self'"]);

    const alone = webHandler({ pages, cors: corsPolicy("*"), apiOrigins: pageApiOrigins(undefined) });
    const served = await get("/chat/", {}, alone);
    expect(directive(served.headers?.["Content-Security-Policy"], "connect-src")).toEqual(["'self'"]);
    expect(served.body).toContain('<meta name="gms-api-origins" content="">');
  });

  it("cuts the console off from any window of another origin that opened it, and leaves the widget to the sites that open it", async () => {
    expect((await get("/agent/")).headers?.["Cross-Origin-Opener-Policy"]).toBe("same-origin");
    expect((await get("/chat/")).headers?.["Cross-Origin-Opener-Policy"]).toBe("unsafe-none");
  });

  it("tells the page the API's public path prefix (/<stage> on API Gateway's default endpoint), escaped", async () => {
    const root = await get("/chat/", { requestContext: { path: "/chat/" } as APIGatewayProxyEvent["requestContext"] });
    expect(root.body).toContain('<meta name="gms-api-base" content="">');
    const staged = await get("/chat/", { requestContext: { path: "/prod/chat/" } as APIGatewayProxyEvent["requestContext"] });
    expect(staged.body).toContain('<meta name="gms-api-base" content="/prod">');
    const odd = await get("/agent", { requestContext: { path: '/a"b<c>/agent' } as APIGatewayProxyEvent["requestContext"] });
    expect(odd.body).toContain('<meta name="gms-api-base" content="/a&quot;b&lt;c&gt;">');
  });

  it("answers a revalidation with 304 and no body while the page is unchanged", async () => {
    const first = await get("/chat/");
    const etag = String(first.headers?.ETag);
    expect(first.headers?.["Cache-Control"]).toBe("no-cache");
    const again = await get("/chat/", { headers: { "If-None-Match": etag } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe("");
    expect(again.headers).not.toHaveProperty("Content-Type");
    const other = await get("/agent/", { headers: { "If-None-Match": etag } });
    expect(other.statusCode).toBe(200);
  });

  it("answers other methods with the GMS error shape", async () => {
    const response = await get("/chat/", { httpMethod: "POST" });
    expect(response.statusCode).toBe(405);
    expect(JSON.parse(response.body)).toEqual({ message: expect.any(String), exception: "MethodNotAllowedException" });
  });
});
