import { createHash } from "node:crypto";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { type ConsoleIdentity, consoleIdentityFromEnv } from "../../lib/http/console-identity.ts";
import { corsPolicy } from "../../lib/http/cors.ts";
import { pageApiOrigins } from "../../lib/http/page-origins.ts";
import { pushOrigin, pushUrl, requiredPushUrl } from "../../lib/http/push-url.ts";
import { type Page, webHandler } from "../../lib/http/routes/web.ts";
import { settingProblems } from "../../lib/http/settings.ts";
import { buildPage } from "../../web/esbuild-pages.mjs";
import { httpEvent } from "../support/events.ts";

/**
 * The page routes with the real pages, built as the `web` function's bundle builds them, on a stage
 * that lets the widget use two more API origins.
 */
const API_ORIGINS = "https://api.example.com, http://localhost:8080";
/** A deployed stage's console sign-in: Amazon Cognito itself. */
const COGNITO: ConsoleIdentity = { region: "eu-west-1", userPoolId: "eu-west-1_AbC123", clientId: "1example23456789abcdefghij" };
/** `npm start`'s: the local identity provider. */
const LOCAL: ConsoleIdentity = { region: "local", userPoolId: "local_5x-Q_9", clientId: "localclient", endpoint: "http://127.0.0.1:9229" };
/** A deployed stage's push channel (API Gateway's WebSocket API), and `npm start`'s. */
const DEPLOYED_PUSH = "wss://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod";
const LOCAL_PUSH = "ws://localhost:3001";
let pages: { chat: Page; agent: Page };
let handler: ReturnType<typeof webHandler>;

beforeAll(async () => {
  pages = { chat: await buildPage("chat"), agent: await buildPage("agent") };
  handler = webHandler({ pages, cors: corsPolicy("*"), apiOrigins: pageApiOrigins(API_ORIGINS), identity: COGNITO, push: DEPLOYED_PUSH });
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

  it("lets integrators frame the widget but never the console, which holds an agent's tokens", async () => {
    expect(String((await get("/chat/")).headers?.["Content-Security-Policy"])).toContain("frame-ancestors *");
    expect(String((await get("/agent/")).headers?.["Content-Security-Policy"])).toContain("frame-ancestors 'none'");
  });

  it("lets the widget reach exactly its own origin, the stage's API origins and its push channel, and the console its own, its identity provider's and the push channel", async () => {
    const chat = await get("/chat/");
    expect(directive(chat.headers?.["Content-Security-Policy"], "connect-src")).toEqual([
      "'self'",
      "https://api.example.com",
      "http://localhost:8080",
      "wss://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
    ]);
    expect(chat.body).toContain('<meta name="gms-api-origins" content="https://api.example.com http://localhost:8080">');
    // Deployed: Cognito's endpoint in the pool's region, the WebSocket API, and no API origin of the widget's.
    expect(directive((await get("/agent/")).headers?.["Content-Security-Policy"], "connect-src")).toEqual([
      "'self'",
      "https://cognito-idp.eu-west-1.amazonaws.com",
      "wss://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
    ]);

    const alone = webHandler({ pages, cors: corsPolicy("*"), apiOrigins: pageApiOrigins(undefined), identity: LOCAL, push: LOCAL_PUSH });
    const served = await get("/chat/", {}, alone);
    expect(directive(served.headers?.["Content-Security-Policy"], "connect-src")).toEqual(["'self'", "ws://localhost:3001"]);
    expect(served.body).toContain('<meta name="gms-api-origins" content="">');
    // Locally: the local identity provider and serverless-offline's WebSocket port, and nothing else.
    expect(directive((await get("/agent/", {}, alone)).headers?.["Content-Security-Policy"], "connect-src")).toEqual([
      "'self'",
      "http://127.0.0.1:9229",
      "ws://localhost:3001",
    ]);
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

describe("the console's sign-in settings (GET /agent/config.json)", () => {
  it("names the pool's region and id and the console's client, deployed, no endpoint (Cognito's own), and the push channel", async () => {
    const response = await get("/agent/config.json");
    expect(response.statusCode).toBe(200);
    expect(response.headers?.["Content-Type"]).toMatch(/^application\/json/);
    expect(response.headers?.["Cache-Control"]).toBe("no-cache");
    expect(JSON.parse(response.body)).toEqual({
      region: "eu-west-1",
      userPoolId: "eu-west-1_AbC123",
      clientId: "1example23456789abcdefghij",
      push: DEPLOYED_PUSH,
    });
  });

  it("adds the local identity provider's endpoint when it has one", async () => {
    const local = webHandler({ pages, cors: corsPolicy("*"), apiOrigins: [], identity: LOCAL, push: LOCAL_PUSH });
    const response = await get("/agent/config.json", {}, local);
    expect(JSON.parse(response.body)).toEqual({ ...LOCAL, push: LOCAL_PUSH });
  });

  it("answers other methods with the GMS error shape", async () => {
    const response = await get("/agent/config.json", { httpMethod: "POST" });
    expect(response.statusCode).toBe(405);
  });

  const env = {
    CONSOLE_IDENTITY_REGION: "eu-west-1",
    CONSOLE_USER_POOL_ID: "eu-west-1_AbC123",
    CONSOLE_CLIENT_ID: "1example23456789abcdefghij",
  };

  it("reads the settings at init, the endpoint only when given", () => {
    expect(consoleIdentityFromEnv(env)).toEqual(COGNITO);
    expect(consoleIdentityFromEnv({ ...env, CONSOLE_IDENTITY_ENDPOINT: "" })).toEqual(COGNITO);
    expect(
      consoleIdentityFromEnv({
        CONSOLE_IDENTITY_REGION: "local",
        CONSOLE_USER_POOL_ID: "local_5x-Q_9",
        CONSOLE_CLIENT_ID: "localclient",
        CONSOLE_IDENTITY_ENDPOINT: "http://127.0.0.1:9229",
      }),
    ).toEqual(LOCAL);
  });

  it.each([
    [{ ...env, CONSOLE_CLIENT_ID: "" }, /must all be set/],
    [{ CONSOLE_IDENTITY_ENDPOINT: "http://127.0.0.1:9229" }, /must all be set/],
    [{ ...env, CONSOLE_USER_POOL_ID: "us-east-1_AbC123" }, /is not a pool of eu-west-1/],
    [{ ...env, CONSOLE_IDENTITY_REGION: "eu west 1" }, /CONSOLE_IDENTITY_REGION/],
    [{ ...env, CONSOLE_IDENTITY_REGION: "[object Object]" }, /CONSOLE_IDENTITY_REGION/],
    [{ ...env, CONSOLE_USER_POOL_ID: "[object Object]" }, /CONSOLE_USER_POOL_ID/],
    [{ ...env, CONSOLE_CLIENT_ID: "a b" }, /CONSOLE_CLIENT_ID/],
    [{ ...env, CONSOLE_IDENTITY_ENDPOINT: "http://idp.example.com" }, /CONSOLE_IDENTITY_ENDPOINT/],
    [{ ...env, CONSOLE_IDENTITY_ENDPOINT: "https://idp.example.com/" }, /CONSOLE_IDENTITY_ENDPOINT/],
    [{ ...env, CONSOLE_IDENTITY_ENDPOINT: "https://idp.example.com;script-src *" }, /CONSOLE_IDENTITY_ENDPOINT/],
    [{ ...env, CONSOLE_IDENTITY_ENDPOINT: "https://IDP.example.com" }, /CONSOLE_IDENTITY_ENDPOINT/],
  ])("refuses %j at init", (settings, message) => {
    expect(() => consoleIdentityFromEnv(settings)).toThrow(message);
  });

  it("fails packaging on a malformed setting, and leaves a pool's ids that only deploying resolves to the init", () => {
    expect(settingProblems({ CONSOLE_IDENTITY_ENDPOINT: "http://idp.example.com" })).toEqual([
      expect.stringContaining("CONSOLE_IDENTITY_ENDPOINT"),
    ]);
    expect(settingProblems({ CONSOLE_USER_POOL_ID: "not a pool" })).toEqual([expect.stringContaining("CONSOLE_USER_POOL_ID")]);
    expect(settingProblems({ CONSOLE_IDENTITY_REGION: "eu-west-1" })).toEqual([]);
  });
});

describe("the widget's settings (GET /chat/config.json) and the pages' push address (PUSH_URL)", () => {
  it("names the push channel, revalidated on every load, like the console's settings", async () => {
    const response = await get("/chat/config.json");
    expect(response.statusCode).toBe(200);
    expect(response.headers?.["Content-Type"]).toMatch(/^application\/json/);
    expect(response.headers?.["Cache-Control"]).toBe("no-cache");
    expect(response.headers?.["X-Content-Type-Options"]).toBe("nosniff");
    expect(JSON.parse(response.body)).toEqual({ push: DEPLOYED_PUSH });
    expect((await get("/chat/config.json", { httpMethod: "POST" })).statusCode).toBe(405);
  });

  it("reads a WebSocket address: wss anywhere, ws on this machine only, with an optional stage path", () => {
    for (const url of [
      DEPLOYED_PUSH,
      "wss://push.example.com",
      "wss://push.example.com:8443/a/b",
      LOCAL_PUSH,
      "ws://127.0.0.1:3001",
      "ws://[::1]:3001",
    ])
      expect(pushUrl(url)).toBe(url);
    expect(pushUrl(undefined)).toBeUndefined();
    expect(pushUrl("")).toBeUndefined();
    expect(pushOrigin(DEPLOYED_PUSH)).toBe("wss://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com");
    expect(pushOrigin(LOCAL_PUSH)).toBe("ws://localhost:3001");
  });

  it.each([
    "ws://push.example.com",
    "https://push.example.com",
    "push.example.com",
    "wss://push.example.com/",
    "wss://PUSH.example.com",
    "wss://push.example.com:443",
    "wss://user@push.example.com",
    "wss://push.example.com/prod?x=1",
    "wss://push.example.com/prod#x",
    "wss://push.example.com;script-src *",
    "wss://push.example.com 'unsafe-inline'",
    "[object Object]",
  ])("refuses %j at init", (url) => {
    expect(() => pushUrl(url)).toThrow(/PUSH_URL/);
  });

  it("is required by the web function, and a malformed one fails packaging", () => {
    expect(() => requiredPushUrl(undefined)).toThrow(/PUSH_URL must be set/);
    expect(requiredPushUrl(LOCAL_PUSH)).toBe(LOCAL_PUSH);
    expect(settingProblems({ PUSH_URL: "ws://push.example.com" })).toEqual([expect.stringContaining("PUSH_URL")]);
    expect(settingProblems({})).toEqual([]);
  });
});
