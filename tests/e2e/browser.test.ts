import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page, Request, Route } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { chatIdOf } from "../../lib/session/ids.ts";
import { DEFAULT_DEV_USERS } from "../../scripts/local/identity.ts";
import type { LocalStack } from "../../scripts/local/launch.ts";
import { STACK_ADMIN_KEY } from "../../scripts/local/stack.ts";
import {
  findChromium,
  fitsWidth,
  launchChromium,
  launchChromiumRefusingThirdPartyStorage,
  unlabelledControls,
  watchForErrors,
} from "../support/browser.ts";
import { LOCAL_USERS, signIn as signInAs } from "../support/identity.ts";
import { entry, goReady, passwordOf, say, signIn, startChat } from "../support/pages.ts";
import { adminCall, letAgentsPick, startTestStack, type TestStack } from "../support/stack.ts";

/**
 * The customer widget (/chat/) and the agent console (/agent/) in a real headless Chromium, against
 * `npm start`'s stack with no availability seeded: only a ready agent opens the service. The stack
 * allows the widget one more API origin (PAGE_API_ORIGINS): a gateway in front of it, as a custom
 * domain would be. Agents sign in as users of the stack's local identity provider: the default ones,
 * one per test that needs its own presence, and one with a temporary password.
 *
 * Needs an installed Chromium (Debian's `chromium` package; `.ci/run` installs it). Elsewhere,
 * without one, the suite is reported as skipped, unless GMS_REQUIRE_BROWSER=1 (set by `.ci/run`)
 * makes a missing browser a failure. GMS_SCREENSHOT_DIR=docs/screenshots (`npm run screenshots`)
 * keeps the screenshots of the key states for the README.
 */
const chromiumPath = findChromium();
if (chromiumPath === undefined && process.env.GMS_REQUIRE_BROWSER === "1") {
  throw new Error("No Chromium found: install Debian's chromium package or set CHROMIUM_PATH");
}
if (chromiumPath === undefined) console.warn("browser tests skipped: no Chromium found (install chromium or set CHROMIUM_PATH)");

/** The consoles' users: each test's agents are its own, so no presence of one test reaches another. */
const AGENTS = ["cara", "dan", "pia", "gil", "ivy", "noa", "gail", "mira", "otto"];
const TEMPORARY = { username: "tina", password: "Tina-temp-1", newPassword: "Tina-chosen-2" };
const DEV_USERS = [
  DEFAULT_DEV_USERS,
  // Each serves the endpoints these tests open (an agent reads only its profile's queues).
  ...AGENTS.map((name) => `${name}:${passwordOf(name)}:agent@gms_builtin|paging_q/3`),
  `${TEMPORARY.username}:${TEMPORARY.password}:agent:temporary`,
].join(",");
const PHONE = { width: 390, height: 780 };
const DESKTOP = { width: 1100, height: 760 };
let local: TestStack;
let stack: LocalStack;
let gateway: Server;
let gatewayOrigin: string;
/** Another site that the stack allows to call it through CORS (CORS_ALLOWED_ORIGINS), serving `siteHtml`. */
let site: Server;
let siteOrigin: string;
let siteHtml = "";
let browser: Browser;
let shots: string;
const errors: string[] = [];
const contexts: BrowserContext[] = [];

/** Starts `server` on a free port of 127.0.0.1, which `localhost` also reaches, and returns the port. */
async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/** The API on another origin, as a custom domain puts it: each request goes on to `target` unchanged. */
function gatewayTo(target: () => string): Server {
  return createServer((request, response) => {
    const onward = httpRequest(`${target()}${request.url}`, { method: request.method, headers: request.headers }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    onward.on("error", () => response.destroy());
    request.pipe(onward);
  });
}

/**
 * Every text node of the page that contains `name`: where it is, and whether the element holding
 * it holds the name alone, isolated from the words around it (`<bdi>`, or `dir`), so that its
 * right-to-left letters or bidi controls cannot reorder them.
 */
function placesOf(page: Page, name: string) {
  return page.evaluate<{ where: string; isolated: boolean }[]>(`(() => {
    const name = ${JSON.stringify(name)};
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const places = [];
    for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
      if (!node.data.includes(name)) continue;
      const holder = node.parentElement;
      places.push({
        where: holder.closest("[id]")?.id ?? "",
        isolated: getComputedStyle(holder).unicodeBidi === "isolate" && holder.textContent === name,
      });
    }
    return places;
  })()`);
}

describe.skipIf(chromiumPath === undefined)("the pages in Chromium", () => {
  beforeAll(async () => {
    shots = process.env.GMS_SCREENSHOT_DIR ?? (await mkdtemp(join(tmpdir(), "gms-chat-screenshots-")));
    await mkdir(shots, { recursive: true });
    gateway = gatewayTo(() => stack.baseUrl);
    gatewayOrigin = `http://127.0.0.1:${await listen(gateway)}`;
    site = createServer((_request, response) => response.writeHead(200, { "Content-Type": "text/html" }).end(siteHtml));
    siteOrigin = `http://127.0.0.1:${await listen(site)}`;
    [local, browser] = await Promise.all([
      startTestStack({
        GMS_SEED_AVAILABILITY: "false",
        PAGE_API_ORIGINS: gatewayOrigin,
        CORS_ALLOWED_ORIGINS: siteOrigin,
        GMS_DEV_USERS: DEV_USERS,
      }),
      launchChromium(chromiumPath!),
    ]);
    stack = local.stack;
    // These tests' agents pick their chats from the queue (the offers' console test sets its own endpoint).
    await letAgentsPick(stack, ["gms_builtin", "paging_q"]);
  });
  afterAll(async () => {
    await browser?.close();
    if (gateway !== undefined) await close(gateway);
    if (site !== undefined) await close(site);
    await local?.stop();
    if (process.env.GMS_SCREENSHOT_DIR === undefined) await rm(shots, { recursive: true, force: true });
  });

  // Each test's consoles and widgets close with it: nothing keeps polling into the next test.
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
    errors.length = 0;
  });

  async function newPage(viewport: { width: number; height: number }): Promise<Page> {
    const context = await browser.newContext({ viewport });
    contexts.push(context);
    context.setDefaultTimeout(20_000);
    const page = await context.newPage();
    watchForErrors(page, errors);
    return page;
  }

  async function open(path: string, viewport: { width: number; height: number }): Promise<Page> {
    const page = await newPage(viewport);
    await page.goto(`${stack.baseUrl}${path}`);
    return page;
  }

  /** One call of Cognito's JSON protocol to the local identity provider, from outside the browser. */
  function cognito(operation: string, body: object) {
    return fetch(stack.identity.endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": `AWSCognitoIdentityProviderService.${operation}` },
      body: JSON.stringify({ ClientId: stack.identity.clientId, ...body }),
    });
  }

  /**
   * Answers the console's agent API calls in the browser itself, as the API would for a ready agent
   * with an empty queue, and records them: the sign-in tests are about the console and the identity
   * provider, not the API.
   */
  async function agentApiStub(page: Page) {
    const seen: { method: string; path: string; headers: Record<string, string> }[] = [];
    await page.route(`${stack.baseUrl}/genesys/1/agent/**`, async (route: Route) => {
      const request = route.request();
      const path = new URL(request.url()).pathname;
      seen.push({ method: request.method(), path, headers: await request.allHeaders() });
      // Ready once the console says so (a PUT), not ready before.
      const state = new URLSearchParams(request.postData() ?? "").get("state") ?? "not_ready";
      const presence = { agentId: "anna", state, reason: null, endpoints: ["gms_builtin"], nickname: "Anna", maxChats: 3 };
      const body = path.endsWith("/queue")
        ? { endpoint: "gms_builtin", routing: "pick", chats: [] }
        : path.endsWith("/offers")
          ? { offers: [] }
          : { ...presence, since: null, expiresAt: null, chats: [], offers: [] };
      await route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify(body) });
    });
    return seen;
  }

  /** Every request a page sends, with its headers. */
  function everyRequest(page: Page) {
    const seen: Promise<{ url: string; headers: Record<string, string> }>[] = [];
    page.on("request", (request: Request) => {
      seen.push(request.allHeaders().then((headers) => ({ url: request.url(), headers })));
    });
    return () => Promise.all(seen);
  }

  const focused = (page: Page) => page.evaluate<string>("document.activeElement?.id ?? ''");

  async function shot(page: Page, name: string) {
    await page.screenshot({ path: join(shots, `${name}.png`) });
  }

  /** The API calls a page makes: path after /genesys/1/, form fields, and the Origin the browser sent. */
  function calls(page: Page) {
    const seen: { request: Request; path: string; fields: URLSearchParams; origin: Promise<string | undefined> }[] = [];
    page.on("request", (request: Request) => {
      const url = new URL(request.url());
      if (!url.pathname.startsWith("/genesys/1/")) return;
      const origin = request.allHeaders().then(
        (headers) => headers.origin,
        () => undefined,
      );
      seen.push({ request, path: url.pathname.slice("/genesys/1/".length), fields: new URLSearchParams(request.postData() ?? ""), origin });
    });
    return seen;
  }

  it("signs in with a user name and password, keeps the tokens in the tab, sends only a bearer token, and revokes it on sign-out", {
    timeout: 90_000,
  }, async () => {
    const agent = await newPage(DESKTOP);
    const agentCalls = await agentApiStub(agent);
    const requests = everyRequest(agent);
    const sockets: string[] = [];
    agent.on("websocket", (socket) => sockets.push(socket.url()));
    await agent.goto(`${stack.baseUrl}/agent/`);

    // A wrong password: a clear message, still on the form, nothing kept.
    await signIn(agent, "anna", "Anna", "not-the-password");
    await agent.locator("#signin-error", { hasText: "The user name or password is incorrect." }).waitFor();
    expect(await agent.locator("#desk").isHidden()).toBe(true);
    expect(await agent.evaluate<number>("sessionStorage.length")).toBe(0);
    expect(await agent.evaluate<string>("document.activeElement?.id ?? ''")).toBe("password");

    await signIn(agent, "anna", "Anna");
    await agent.locator("#desk").waitFor();
    await agent.locator("#who", { hasText: "(anna) on gms_builtin" }).waitFor();
    await goReady(agent);
    await agent.getByText("No chats are waiting.").waitFor();
    // The tokens are in this tab's session storage only; the password is nowhere.
    const session = JSON.parse(await agent.evaluate<string>('sessionStorage.getItem("gms-agent:session") ?? "{}"')) as {
      tokens?: { username: string; accessToken: string; refreshToken: string };
    };
    const tokens = session.tokens!;
    expect(tokens.username).toBe("anna");
    expect(await agent.evaluate<number>("localStorage.length")).toBe(0);
    expect(await agent.evaluate<string>("JSON.stringify(sessionStorage)")).not.toContain(passwordOf("anna"));

    // The agent API gets the access token, for the signed-in user's own id.
    expect(agentCalls.length).toBeGreaterThan(1);
    for (const call of agentCalls) {
      expect(call.path).toMatch(/^\/genesys\/1\/agent\/anna\//);
      expect(call.headers.authorization).toBe(`Bearer ${tokens.accessToken}`);
    }

    // A reload picks the desk up again, signed in.
    await agent.reload();
    await agent.locator("#who", { hasText: "(anna)" }).waitFor();
    await agent.getByText("No chats are waiting.").waitFor();

    // Signing out goes not ready and revokes the refresh token, which then no longer works.
    const revoked = agent.waitForResponse(
      (response) =>
        response.url().startsWith(stack.identity.endpoint) &&
        response.request().headers()["x-amz-target"]?.endsWith(".RevokeToken") === true,
    );
    const notReady = agent.waitForRequest(
      (request) => request.method() === "PUT" && request.url().endsWith("/genesys/1/agent/anna/presence"),
    );
    const signedOut = agent.waitForRequest(
      (request) => request.method() === "POST" && request.url().endsWith("/genesys/1/agent/anna/sign-out"),
    );
    await agent.getByRole("button", { name: "Sign out" }).click();
    expect((await revoked).status()).toBe(200);
    expect(new URLSearchParams((await notReady).postData() ?? "").get("state")).toBe("not_ready");
    // The sign-in ends for the API too, after going not ready (tests/e2e/agent-auth.test.ts: its tokens then refused).
    expect((await signedOut).headers().authorization).toBe(`Bearer ${tokens.accessToken}`);
    expect(agentCalls.map((call) => `${call.method} ${call.path}`).slice(-2)).toEqual([
      "PUT /genesys/1/agent/anna/presence",
      "POST /genesys/1/agent/anna/sign-out",
    ]);
    await agent.locator("#signin").waitFor();
    expect(await agent.evaluate<number>("sessionStorage.length")).toBe(0);
    const refresh = await cognito("InitiateAuth", {
      AuthFlow: "REFRESH_TOKEN_AUTH",
      AuthParameters: { REFRESH_TOKEN: tokens.refreshToken },
    });
    expect(refresh.status).toBe(400);

    // Never an API key; passwords and tokens go to the identity provider and the API's own origin
    // only, and the access token to the stack's push channel, in the subscription of the agent's socket.
    for (const request of await requests()) {
      expect(request.headers, request.url).not.toHaveProperty("x-api-key");
      expect([stack.baseUrl, stack.identity.endpoint]).toContain(new URL(request.url).origin);
    }
    expect(sockets.length).toBeGreaterThan(0);
    for (const socket of sockets) expect(new URL(socket).origin).toBe(new URL(stack.pushUrl).origin);
    // The identity provider answers a wrong password with a 400, which Chromium logs.
    expect(errors.filter((error) => !error.includes("status of 400"))).toEqual([]);
  });

  it("asks a user with a temporary password to choose a new one, then signs in with it", { timeout: 60_000 }, async () => {
    const agent = await newPage(DESKTOP);
    await agentApiStub(agent);
    await agent.goto(`${stack.baseUrl}/agent/`);
    await signIn(agent, TEMPORARY.username, "Tina", TEMPORARY.password);
    await agent.getByRole("heading", { name: "Choose a new password" }).waitFor();
    expect(await agent.evaluate<string>("document.activeElement?.id ?? ''")).toBe("new-password-input");
    await agent.getByRole("textbox", { name: "New password" }).fill(TEMPORARY.newPassword);
    await agent.getByRole("button", { name: "Set the password and sign in" }).click();
    await agent.locator("#who", { hasText: "(tina)" }).waitFor();
    const revoking = agent.waitForRequest((request) => request.headers()["x-amz-target"]?.endsWith(".RevokeToken") === true);
    await agent.getByRole("button", { name: "Sign out" }).click();
    await revoking;
    await agent.locator("#signin").waitFor();
    // The new password is the user's now; the temporary one is not.
    expect(
      (
        await cognito("InitiateAuth", {
          AuthFlow: "USER_PASSWORD_AUTH",
          AuthParameters: { USERNAME: "tina", PASSWORD: TEMPORARY.newPassword },
        })
      ).status,
    ).toBe(200);
    // The emulator keeps no record of the refresh token it issues on RespondToAuthChallenge (Cognito
    // does), so it may answer that RevokeToken with a 400, which Chromium logs.
    expect(errors.filter((error) => !error.includes("status of 400"))).toEqual([]);
  });

  it("runs a whole chat: the widget waits, an agent goes ready, both talk and type, the agent ends it", { timeout: 120_000 }, async () => {
    const customer = await newPage(PHONE);
    const customerCalls = calls(customer);
    await customer.goto(`${stack.baseUrl}/chat/`);
    await customer.locator("#availability", { hasText: "All our agents are busy" }).waitFor();
    expect(await customer.locator("#start").isDisabled()).toBe(true);
    expect(await customer.locator("#availability").textContent()).toContain("check again in 10 seconds");
    await shot(customer, "widget-waiting");

    const agent = await open("/agent/", DESKTOP);
    await signIn(agent, "anna", "Anna");
    await goReady(agent);
    await agent.locator("#queue-status", { hasText: "No chats are waiting." }).waitFor();
    await shot(agent, "console-ready");

    // The widget re-checks by itself, after the Retry-After request-chat sent with its 503.
    await startChat(customer, "Bob Smith", "Delivery");
    const checks = customerCalls.filter((call) => call.path === "service/request-chat");
    expect(checks.length).toBeGreaterThanOrEqual(2);
    // Measured by the browser's own clock: when each request started.
    const gap = checks[1]!.request.timing().startTime - checks[0]!.request.timing().startTime;
    expect(gap).toBeGreaterThanOrEqual(10_000);
    expect(gap).toBeLessThan(20_000);
    await customer.locator("#chat-status", { hasText: "Waiting for an agent" }).waitFor();

    await agent.locator("#queue li", { hasText: "Bob Smith" }).waitFor();
    expect(await agent.locator("#queue li").textContent()).toContain("Delivery");
    await shot(agent, "console-queue");
    await agent.getByRole("button", { name: "Accept the chat with Bob Smith" }).click();
    await entry(agent, "You joined the chat").waitFor();
    await entry(customer, "Anna joined the chat").waitFor();
    await customer.locator("#chat-status", { hasText: "You are chatting with Anna." }).waitFor();

    // Typing notices both ways, then messages sent with Enter.
    await customer.locator("#message").pressSequentially("Where is my parcel?");
    await agent.locator("#typing", { hasText: "Bob Smith is typing" }).waitFor();
    await customer.locator("#message").press("Enter");
    await entry(agent, "Where is my parcel?").waitFor();
    await agent.locator("#typing:empty").waitFor({ state: "attached" });
    await entry(customer, "Where is my parcel?").waitFor();

    await agent.locator("#message").pressSequentially("It ships today.");
    await customer.locator("#typing", { hasText: "Anna is typing" }).waitFor();
    await shot(customer, "widget-typing");
    await agent.locator("#message").press("Enter");
    await entry(customer, "It ships today.").waitFor();
    await shot(agent, "console-chat");

    await agent.getByRole("button", { name: "Disconnect" }).click();
    await entry(customer, "Anna left the chat").waitFor();
    await customer.locator("#chat-status", { hasText: "The chat has ended." }).waitFor();
    expect(await customer.locator("#message").isDisabled()).toBe(true);
    await customer.getByRole("button", { name: "Start a new chat" }).waitFor();
    // The composer is gone; the focus moves on to what comes next, on both sides.
    expect(await focused(customer)).toBe("restart");
    await agent.getByRole("button", { name: "Close this chat" }).waitFor();
    expect(await focused(agent)).toBe("next");
    await shot(customer, "widget-ended");

    // The chat came over the push channel (tests/e2e/push-pages.test.ts counts its requests); any
    // refresh the widget made was from the position it had reached, never going back.
    const positions = customerCalls
      .filter((call) => call.path.endsWith("/ixn/chat/refresh"))
      .map((call) => Number(call.fields.get("transcriptPosition")));
    expect(positions).toEqual([...positions].sort((a, b) => a - b));

    await agent.getByRole("button", { name: "Close this chat" }).click();
    await agent.locator("#queue-view").waitFor();

    // A new chat is a new session: the ended one's Idempotency-Key is not reused.
    const firstSession = customerCalls.find((call) => call.path.endsWith("/ixn/chat"))!.path.split("/")[1];
    const reopened = customer.waitForResponse((response) => response.url().endsWith("/genesys/1/service/request-chat"));
    await customer.getByRole("button", { name: "Start a new chat" }).click();
    const second = (await (await reopened).json()) as { _id: string };
    expect(second._id).not.toBe(firstSession);
    await customer.locator("#start:enabled").waitFor();
    expect(errors).toEqual([]);
  });

  it("lets the faster of two agents have a chat, tells the other one, and keeps renewing presence", { timeout: 90_000 }, async () => {
    const fast = await open("/agent/", DESKTOP);
    await signIn(fast, "cara", "Cara");
    await goReady(fast);
    // The slower console hears of the accept late: its push of it is held back, so its queue still
    // offers the chat. Its clock is ours, to run its presence renewal forward.
    const slow = await newPage(DESKTOP);
    await slow.clock.install();
    await slow.routeWebSocket(
      (url) => url.port === String(stack.ports.websocket),
      (socket) => {
        const server = socket.connectToServer();
        server.onMessage((frame) => {
          if (!/"\/gms\/queue".*"ACCEPTED"/.test(String(frame))) socket.send(frame);
        });
      },
    );
    await slow.goto(`${stack.baseUrl}/agent/`);
    await signIn(slow, "dan", "Dan");
    await goReady(slow);

    const customer = await open("/chat/", PHONE);
    await startChat(customer, "Eve", "Refund");
    await fast.locator("#queue li", { hasText: "Eve" }).waitFor();
    await slow.locator("#queue li", { hasText: "Eve" }).waitFor();

    await fast.getByRole("button", { name: "Accept the chat with Eve" }).click();
    await entry(customer, "Cara joined the chat").waitFor();
    await slow.getByRole("button", { name: "Accept the chat with Eve" }).click();
    await slow.locator("#desk-error", { hasText: "Another agent accepted that chat first." }).waitFor();
    // The console stays on the queue, which no longer offers the chat.
    expect(await slow.locator("#queue-view").isVisible()).toBe(true);
    await slow.locator("#queue li", { hasText: "Eve" }).waitFor({ state: "detached" });
    await shot(slow, "console-lost-race");

    // While the console is open it renews the agent's presence (lapsing after 60 s) every 20 s.
    const renewal = slow.waitForRequest((request) => request.method() === "PUT" && request.url().endsWith("/genesys/1/agent/dan/presence"));
    await slow.clock.runFor(20_000);
    expect(new URLSearchParams((await renewal).postData() ?? "").get("state")).toBe("ready");
    expect(errors).toEqual([]);
  });

  it("keeps an agent signed in who names an endpoint its profile does not give it, and says why neither its queue nor ready works", {
    timeout: 60_000,
  }, async () => {
    const agent = await open("/agent/", DESKTOP);
    await signIn(agent, "ivy", "Ivy", passwordOf("ivy"), "elsewhere_q");
    await agent.locator("#desk-error", { hasText: "You do not serve elsewhere_q" }).waitFor();
    await agent.getByRole("button", { name: "Ready", exact: true, pressed: false }).click();
    await agent
      .locator("#desk-error", { hasText: "You do not serve elsewhere_q: your profile's endpoints are gms_builtin, paging_q" })
      .waitFor();
    expect(await agent.locator("#desk").isVisible()).toBe(true);
    expect(await agent.locator('#presence[aria-pressed="false"]').count()).toBe(1);
    // The service's 403s, which Chromium logs.
    expect(errors.filter((error) => !error.includes("status of 403"))).toEqual([]);
  });

  it("pages through a long queue, so a chat behind 20 others is one click away", { timeout: 90_000 }, async () => {
    const admin = { "x-api-key": STACK_ADMIN_KEY, "content-type": "application/x-www-form-urlencoded" };
    const put = (path: string, body: string) => fetch(`${stack.baseUrl}/genesys/1/admin/${path}`, { method: "PUT", headers: admin, body });
    expect((await put("services/paging", "_chat_endpoint=paging_q")).ok).toBe(true);
    expect((await put("availability/paging_q", "available=true")).ok).toBe(true);
    const form = { "content-type": "application/x-www-form-urlencoded" };
    for (let i = 1; i <= 21; i += 1) {
      const opened = (await (await fetch(`${stack.baseUrl}/genesys/1/service/paging`, { method: "POST", headers: form })).json()) as Record<
        string,
        string
      >;
      const create = await fetch(`${stack.baseUrl}${opened["_chatIxnAPI-CREATE-URL"]}`, {
        method: "POST",
        headers: form,
        body: `firstName=Waiting${i}`,
      });
      expect(create.status).toBe(200);
    }
    const agent = await open("/agent/", DESKTOP);
    await signIn(agent, "pia", "Pia", passwordOf("pia"), "paging_q");
    await agent.locator("#queue-status", { hasText: "20 waiting, the oldest; more after these" }).waitFor();
    expect(await agent.locator("#queue li", { hasText: "Waiting21" }).count()).toBe(0);
    await agent.getByRole("button", { name: "Later chats" }).click();
    await agent.locator("#queue li", { hasText: "Waiting21" }).waitFor();
    await agent.locator("#queue-status", { hasText: "1 waiting, later ones" }).waitFor();
    await agent.getByRole("button", { name: "Back to the oldest" }).click();
    await agent.locator("#queue li", { hasText: "Waiting1" }).first().waitFor();
    expect(errors).toEqual([]);
  });

  it("works from another origin, through CORS, pointed with ?api= at an API origin the stage allows", { timeout: 90_000 }, async () => {
    // Another web server, which the stack lets call it, serves the same page; the browser then calls the API cross-origin.
    siteHtml = await (await fetch(`${stack.baseUrl}/chat/`)).text();
    // An agent signed in as itself, as the console does.
    const agentKey = (await signInAs(stack, ...LOCAL_USERS.ben)).authorization;
    const presence = await fetch(`${stack.baseUrl}/genesys/1/agent/ben/presence`, {
      method: "PUT",
      headers: agentKey,
      body: new URLSearchParams({ endpoint: "gms_builtin", state: "ready", nickname: "Finn" }),
    });
    expect(presence.status).toBe(200);

    const customer = await newPage(PHONE);
    const answers: { url: string; allowOrigin: string | undefined }[] = [];
    customer.on("response", (response) => {
      if (response.url().startsWith(gatewayOrigin))
        answers.push({ url: response.url(), allowOrigin: response.headers()["access-control-allow-origin"] });
    });
    const customerCalls = calls(customer);
    await customer.goto(`${siteOrigin}/?api=${encodeURIComponent(gatewayOrigin)}`);
    await startChat(customer, "Gus", "Cross-origin");

    // An agent answers through the API; the widget on the other origin shows it.
    const create = customerCalls.find((call) => call.path.endsWith("/ixn/chat"))!;
    const id = create.path.split("/")[1]!;
    const agentChat = `${stack.baseUrl}/genesys/1/agent/ben/chats/${chatIdOf(id)}`;
    expect((await fetch(`${agentChat}/accept`, { method: "POST", headers: agentKey })).status).toBe(200);
    expect(
      (await fetch(`${agentChat}/send`, { method: "POST", headers: agentKey, body: new URLSearchParams({ message: "Hello from Finn" }) }))
        .status,
    ).toBe(200);
    await entry(customer, "Hello from Finn").waitFor();
    // The push of the message can show it before its send is answered: the reload waits for both.
    const sent = customer.waitForResponse((response) => response.url().endsWith("/ixn/chat/send"));
    await customer.locator("#message").fill("Thanks!");
    await customer.locator("#message").press("Enter");
    await entry(customer, "Thanks!").waitFor();
    await sent;

    // A reload in the middle of the chat shows the whole transcript again and carries on.
    await customer.reload();
    await entry(customer, "Hello from Finn").waitFor();
    await entry(customer, "Thanks!").waitFor();
    await customer.locator("#message").fill("Still here");
    await customer.locator("#message").press("Enter");
    await entry(customer, "Still here").waitFor();

    expect(customerCalls.length).toBeGreaterThan(3);
    let answered = 0;
    for (const call of customerCalls) {
      expect(call.request.url(), call.path).toMatch(new RegExp(`^${gatewayOrigin}/`));
      // A request the reload cancelled (a typing notice on its way) has no headers to read.
      if ((await call.request.response()) === null) continue;
      answered += 1;
      expect(await call.origin, call.path).toBe(siteOrigin);
    }
    expect(answered).toBeGreaterThan(3);
    expect(answers.length).toBeGreaterThan(3);
    for (const answer of answers) expect(answer.allowOrigin, answer.url).toBeDefined();
    expect(errors).toEqual([]);
  });

  it("lets no page of another site read the console's settings, sign anyone in, or use a token it minted with the emulator's published key", {
    timeout: 60_000,
  }, async () => {
    const attacker: Server = createServer((_request, response) =>
      response.writeHead(200, { "Content-Type": "text/html" }).end("<!doctype html><title>A page on the web</title>"),
    );
    const attackerOrigin = `http://localhost:${await listen(attacker)}`;
    try {
      const page = await newPage(DESKTOP);
      await page.goto(`${attackerOrigin}/`);
      const published = JSON.parse(await readFile("node_modules/cognito-local/lib/keys/cognitoLocal.private.json", "utf8")) as {
        jwk: object;
      };
      const target = {
        api: stack.baseUrl,
        identity: stack.identity.endpoint,
        issuer: stack.identity.issuer,
        clientId: stack.identity.clientId,
        jwk: published.jwk,
      };
      // What the attack did, from the page: read /agent/config.json, mint an admin's token with
      // WebCrypto, list and write through the admin API, sign a user in.
      const { outcome, token } = await page.evaluate<{ outcome: Record<string, string>; token: string }, typeof target>(async (target) => {
        const outcome: Record<string, string> = {};
        const attempt = async (name: string, run: () => Promise<Response>) => {
          try {
            outcome[name] = `answered ${(await run()).status}`;
          } catch {
            outcome[name] = "blocked";
          }
        };
        await attempt("config", () => fetch(`${target.api}/agent/config.json`));
        const key = await crypto.subtle.importKey("jwk", target.jwk, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["sign"]);
        const base64url = (bytes: ArrayBuffer | Uint8Array) =>
          btoa(String.fromCharCode(...new Uint8Array(bytes)))
            .replace(/\+/g, "-")
            .replace(/\//g, "_")
            .replace(/=+$/, "");
        const encode = (value: object) => base64url(new TextEncoder().encode(JSON.stringify(value)));
        const now = Math.floor(Date.now() / 1000);
        const header = encode({ alg: "RS256", typ: "JWT", kid: "CognitoLocal" });
        const claims = encode({
          sub: "00000000-0000-0000-0000-000000000000",
          iss: target.issuer,
          client_id: target.clientId,
          token_use: "access",
          scope: "aws.cognito.signin.user.admin",
          "cognito:groups": ["admin"],
          username: "admin",
          auth_time: now,
          iat: now,
          exp: now + 3600,
          jti: "minted",
        });
        const signature = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, new TextEncoder().encode(`${header}.${claims}`));
        const token = `${header}.${claims}.${base64url(signature)}`;
        const bearer = { authorization: `Bearer ${token}` };
        await attempt("admin list", () => fetch(`${target.api}/genesys/1/admin/services`, { headers: bearer }));
        await attempt("admin write", () =>
          fetch(`${target.api}/genesys/1/admin/services/minted`, {
            method: "PUT",
            headers: { ...bearer, "content-type": "application/x-www-form-urlencoded" },
            body: "_chat_endpoint=minted_q",
          }),
        );
        await attempt("sign-in", () =>
          fetch(target.identity, {
            method: "POST",
            headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "AWSCognitoIdentityProviderService.InitiateAuth" },
            body: JSON.stringify({
              AuthFlow: "USER_PASSWORD_AUTH",
              ClientId: target.clientId,
              AuthParameters: { USERNAME: "admin", PASSWORD: "Admin-local-1" },
            }),
          }),
        );
        return { outcome, token };
      }, target);
      expect(outcome).toEqual({ config: "blocked", "admin list": "blocked", "admin write": "blocked", "sign-in": "blocked" });
      // Sent from anywhere else (no browser to stop it), the minted token opens nothing either, and nothing was written.
      expect((await fetch(`${stack.baseUrl}/genesys/1/admin/services`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(
        401,
      );
      const written = await fetch(`${stack.baseUrl}/genesys/1/admin/services/minted`, { headers: { "x-api-key": STACK_ADMIN_KEY } });
      expect(written.status).toBe(404);
      // The browser reports each refused call on the console; they are the test's, not the pages'.
      errors.length = 0;
    } finally {
      await close(attacker);
    }
  });

  it("keeps the console's token and the customer's words on the API that served them, whatever origin a link names in ?api=", {
    timeout: 90_000,
  }, async () => {
    // A server that would collect whatever reaches it.
    const reached: string[] = [];
    const foreign: Server = createServer((request, response) => {
      reached.push(`${request.method} ${request.url} ${request.headers.authorization ?? ""}`);
      response
        .writeHead(200, { "Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "*", "Content-Type": "application/json" })
        .end("{}");
    });
    const foreignApi = encodeURIComponent(`http://127.0.0.1:${await listen(foreign)}`);
    try {
      const agent = await newPage(DESKTOP);
      const agentCalls = calls(agent);
      await agent.goto(`${stack.baseUrl}/agent/?api=${foreignApi}`);
      await signIn(agent, "gil", "Gil");
      await goReady(agent);
      await agent.getByText("No chats are waiting.").waitFor();

      // The widget ignores the origin it was given and works on its own: pre-chat, a chat, messages.
      const customer = await newPage(PHONE);
      const customerCalls = calls(customer);
      await customer.goto(`${stack.baseUrl}/chat/?api=${foreignApi}`);
      await startChat(customer, "Kim", "Card details");
      await agent.getByRole("button", { name: "Accept the chat with Kim" }).click();
      await entry(customer, "Gil joined the chat").waitFor();
      await say(customer, "My card ends in 4242");
      await entry(agent, "My card ends in 4242").waitFor();

      expect(reached).toEqual([]);
      expect(agentCalls.length).toBeGreaterThan(1);
      expect(customerCalls.length).toBeGreaterThan(3);
      for (const call of [...agentCalls, ...customerCalls]) expect(call.request.url(), call.path).toMatch(new RegExp(`^${stack.baseUrl}/`));
      expect(errors).toEqual([]);
    } finally {
      await close(foreign);
    }
  });

  it("works in a frame on another site that the browser refuses storage to, keeping the chat in memory", { timeout: 120_000 }, async () => {
    // The stack is on 127.0.0.1; the site that embeds the widget is on localhost, another site.
    const site: Server = createServer((_request, response) =>
      response
        .writeHead(200, { "Content-Type": "text/html" })
        .end(`<!doctype html><title>A shop</title><iframe title="Chat" src="${stack.baseUrl}/chat/" width="400" height="700"></iframe>`),
    );
    const siteUrl = `http://localhost:${await listen(site)}/`;
    const profile = await mkdtemp(join(tmpdir(), "gms-chat-profile-"));
    let refusing: BrowserContext | undefined;
    try {
      const agent = await open("/agent/", DESKTOP);
      await signIn(agent, "ivy", "Ivy");
      await goReady(agent);

      refusing = await launchChromiumRefusingThirdPartyStorage(chromiumPath!, profile);
      refusing.setDefaultTimeout(20_000);
      const shop = refusing.pages()[0] ?? (await refusing.newPage());
      watchForErrors(shop, errors);
      await shop.goto(siteUrl);
      const widget = shop.frames().find((frame) => frame.url().startsWith(`${stack.baseUrl}/chat/`));
      if (widget === undefined) throw new Error("the widget's frame is missing");
      // The browser does refuse the frame its storage.
      expect(
        await widget.evaluate<string>(`(() => {
          try { return String(sessionStorage.length); } catch (error) { return error.message; }
        })()`),
      ).toMatch(/Access is denied/);

      await startChat(widget, "Jo", "Embedded");
      await agent.getByRole("button", { name: "Accept the chat with Jo" }).click();
      await entry(widget, "Ivy joined the chat").waitFor();
      await say(widget, "Hello from the shop");
      await entry(agent, "Hello from the shop").waitFor();
      await say(agent, "Hello Jo");
      await entry(widget, "Hello Jo").waitFor();

      await widget.getByRole("button", { name: "End chat" }).click();
      await entry(agent, "Jo left the chat").waitFor();
      await widget.locator("#chat-status", { hasText: "The chat has ended." }).waitFor();
      await widget.getByRole("button", { name: "Start a new chat" }).click();
      await widget.locator("#start:enabled").waitFor();
      expect(errors).toEqual([]);
    } finally {
      await refusing?.close();
      await rm(profile, { recursive: true, force: true });
      await close(site);
    }
  });

  it("shows every name isolated, so that right-to-left letters in it cannot reorder the words around it", { timeout: 90_000 }, async () => {
    // Layla Haddad in Arabic letters, and Noa in Hebrew ones.
    const customerName = "ليلى حداد";
    const agentName = "נועה";
    const places: { where: string; isolated: boolean }[] = [];
    const look = async (page: Page, name: string) => places.push(...(await placesOf(page, name)));
    const agent = await open("/agent/", DESKTOP);
    await signIn(agent, "noa", agentName);
    await goReady(agent);
    const customer = await open("/chat/", PHONE);
    await startChat(customer, customerName, "Order 1234");
    await agent.locator("#queue li", { hasText: customerName }).waitFor();
    await look(agent, customerName);

    await agent.getByRole("button", { name: `Accept the chat with ${customerName}` }).click();
    await entry(customer, `${agentName} joined the chat`).waitFor();
    await customer.locator("#message").pressSequentially("Hello");
    await agent.locator("#typing", { hasText: `${customerName} is typing` }).waitFor();
    await look(agent, customerName);
    await customer.locator("#message").press("Enter");
    await entry(agent, "Hello").waitFor();
    await agent.locator("#message").pressSequentially("Hi");
    await customer.locator("#typing", { hasText: `${agentName} is typing` }).waitFor();
    await look(customer, agentName);
    await agent.locator("#message").press("Enter");
    await entry(customer, "Hi").waitFor();
    await agent.locator("#chat-status", { hasText: customerName }).waitFor();
    await customer.locator("#chat-status", { hasText: agentName }).waitFor();

    await look(agent, customerName);
    await look(agent, agentName);
    await look(customer, customerName);
    await look(customer, agentName);
    for (const where of ["queue", "chat-title", "chat-status", "transcript", "who", "typing"]) {
      expect(places.map((place) => place.where)).toContain(where);
    }
    expect(places.filter((place) => !place.isolated)).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("runs a multi-chat session on an offering endpoint: offers with a countdown, two chats as tabs, one transferred, the other finished", {
    timeout: 120_000,
  }, async () => {
    // Mira takes two chats at once on multi_q, whose chats are offered; otto serves multi_sales.
    for (const [path, form] of [
      ["services/multi", { _chat_endpoint: "multi_q" }],
      ["services/multi_sales", { _chat_endpoint: "multi_sales" }],
      ["agents/mira", { endpoints: "multi_q", maxChats: "2" }],
      ["agents/otto", { endpoints: "multi_sales", maxChats: "1" }],
    ] as const) {
      expect((await adminCall(stack, path, form)).status).toBeLessThan(300);
    }
    const otto = await signInAs(stack, "otto", passwordOf("otto"));
    const ottoCall = (path: string, init: RequestInit = {}) =>
      fetch(`${stack.baseUrl}/genesys/1/agent/otto/${path}`, { ...init, headers: otto.authorization });
    expect((await ottoCall("presence", { method: "PUT", body: new URLSearchParams({ state: "ready" }) })).status).toBe(200);

    const agent = await open("/agent/", DESKTOP);
    await signIn(agent, "mira", "Mira", passwordOf("mira"), "multi_q");
    await goReady(agent);
    await agent.locator("#offers-status", { hasText: "No chat is offered to you." }).waitFor();

    const first = await open("/chat/?service=multi", PHONE);
    await startChat(first, "Olga First", "Refund");
    // The offer: the customer's name and subject, a countdown, Accept and Reject; the title flashes.
    const offer = agent.locator("#offers li", { hasText: "Olga First" });
    await offer.waitFor();
    expect(await offer.textContent()).toContain("Refund");
    await offer.locator(".countdown", { hasText: /\d+ s left/ }).waitFor();
    await expect.poll(() => agent.title()).toContain("Chat offered");
    await shot(agent, "console-offer");
    await agent.getByRole("button", { name: "Accept the chat with Olga First" }).click();
    await entry(agent, "You joined the chat").waitFor();
    await entry(first, "Mira joined the chat").waitFor();
    await expect.poll(() => agent.title()).toBe("Agent console");

    const second = await open("/chat/?service=multi", PHONE);
    await startChat(second, "Paul Second", "Invoice");
    await agent.getByRole("button", { name: "Accept the chat with Paul Second" }).click();
    await entry(second, "Mira joined the chat").waitFor();
    // Two tabs; the one not shown counts its customer's messages.
    const tabs = agent.getByRole("tab");
    await expect.poll(() => tabs.count()).toBe(2);
    await say(first, "Are you still there?");
    await agent.getByRole("tab", { name: /Olga First.*1 unread/ }).waitFor();
    await shot(agent, "console-tabs");
    await agent.getByRole("tab", { name: /Olga First/ }).click();
    await entry(agent, "Are you still there?").waitFor();
    await agent.getByRole("tab", { name: /Olga First/, selected: true }).waitFor();
    expect(await agent.getByRole("tab", { name: /unread/ }).count()).toBe(0);

    // Olga's chat goes to multi_sales: her tab closes, she keeps her chat, otto is offered it.
    await agent.getByLabel("Transfer to").selectOption("endpoint");
    await agent.getByLabel("Endpoint or agent").fill("multi_sales");
    await agent.getByRole("button", { name: "Transfer" }).click();
    await expect.poll(() => tabs.count()).toBe(1);
    await entry(first, "transferred the chat").waitFor();
    await expect
      .poll(async () => ((await (await ottoCall("offers")).json()) as { offers: { nickname: string }[] }).offers.map((o) => o.nickname))
      .toEqual(["Olga First"]);

    // Paul's chat, finished from the console; going not ready meanwhile stops new offers only.
    await agent.getByRole("tab", { name: /Paul Second/ }).click();
    await agent.getByRole("button", { name: "Ready", exact: true, pressed: true }).click();
    await agent.locator('#presence[aria-pressed="false"]').waitFor();
    await say(agent, "Your invoice is on its way.");
    await entry(second, "Your invoice is on its way.").waitFor();
    await agent.getByRole("button", { name: "Disconnect" }).click();
    await entry(second, "Mira left the chat").waitFor();
    await agent.getByRole("button", { name: "Close this chat" }).click();
    await expect.poll(() => tabs.count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it("works from the keyboard alone, labels every control and fits a 320 px phone screen", { timeout: 60_000 }, async () => {
    const small = { width: 320, height: 640 };
    const customer = await open("/chat/", small);
    const agent = await open("/agent/", small);
    const problems: string[] = [];
    const check = async (page: Page, view: string) => {
      for (const control of await unlabelledControls(page)) problems.push(`${view}: unlabelled ${control}`);
      if (!(await fitsWidth(page))) problems.push(`${view}: wider than the screen`);
    };
    await check(customer, "widget start");
    await check(agent, "console sign-in");

    // The console: the user name field has the focus; Tab moves on, Enter signs in, Space toggles Ready.
    expect(await focused(agent)).toBe("username");
    await agent.keyboard.type("gail");
    for (const value of [passwordOf("gail"), "Gail", "gms_builtin"]) {
      await agent.keyboard.press("Tab");
      await agent.keyboard.press("ControlOrMeta+A");
      await agent.keyboard.type(value);
    }
    await agent.keyboard.press("Enter");
    await agent.locator("#desk").waitFor();
    expect(await focused(agent)).toBe("presence");
    await agent.keyboard.press("Space");
    await agent.locator('#presence[aria-pressed="true"]').waitFor();
    await check(agent, "console desk");

    // The widget: Tab reaches "Chat with us", Enter opens the form with the name focused.
    await customer.locator("#start:enabled").waitFor({ timeout: 25_000 });
    await customer.keyboard.press("Tab");
    expect(await focused(customer)).toBe("start");
    await customer.keyboard.press("Enter");
    expect(await focused(customer)).toBe("name");
    await customer.keyboard.type("Hal");
    await customer.keyboard.press("Enter");
    await entry(customer, "You joined the chat").waitFor();
    expect(await focused(customer)).toBe("message");
    await check(customer, "widget chat");
    expect(problems).toEqual([]);
    expect(errors).toEqual([]);
  });
});
