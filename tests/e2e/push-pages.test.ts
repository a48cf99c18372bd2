import type { Browser, BrowserContext, Page, Request, WebSocketRoute } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { chatIdOf } from "../../lib/session/ids.ts";
import type { LocalStack } from "../../scripts/local/launch.ts";
import { STACK_ADMIN_KEY } from "../../scripts/local/stack.ts";
import { findChromium, launchChromium, watchForErrors } from "../support/browser.ts";
import { entry, goReady, passwordOf, say, signIn, startChat } from "../support/pages.ts";
import { letAgentsPick, startTestStack, type TestStack } from "../support/stack.ts";

/**
 * The widget and the console on the push channel (docs/push.md), in Chromium against `npm start`'s
 * stack: a whole chat with the polling timers idle while the sockets are up (every request each page
 * makes is counted), sockets dropped mid-chat on either side with every event shown exactly once,
 * and the fall back to polling while the WebSocket port cannot be reached, then back to push. Each
 * test has a service and endpoint of its own, so no queue of one test reaches another.
 *
 * Needs an installed Chromium, as tests/e2e/browser.test.ts does.
 */
const chromiumPath = findChromium();
if (chromiumPath === undefined && process.env.GMS_REQUIRE_BROWSER === "1") {
  throw new Error("No Chromium found: install Debian's chromium package or set CHROMIUM_PATH");
}

const AGENTS = ["rosa", "tom", "uma", "vic", "wes"];
const ENDPOINTS: Record<string, string> = {
  rosa: "push_whole_q",
  tom: "push_drop_q",
  uma: "push_down_q",
  vic: "push_queue_q",
  wes: "push_late_q",
};
const RECONNECTING = "Reconnecting...";
const PHONE = { width: 390, height: 780 };
const DESKTOP = { width: 1100, height: 760 };
let local: TestStack;
let stack: LocalStack;
let browser: Browser;
const errors: string[] = [];
const contexts: BrowserContext[] = [];

// biome-ignore lint/suspicious/noExplicitAny: frames are JSON, checked by the assertions.
type Frame = { channel: string; data: Record<string, any> };

describe.skipIf(chromiumPath === undefined)("the pages on the push channel", () => {
  beforeAll(async () => {
    [local, browser] = await Promise.all([
      // Each agent serves its test's endpoint.
      startTestStack({ GMS_DEV_USERS: AGENTS.map((name) => `${name}:${passwordOf(name)}:agent@${ENDPOINTS[name]}/3`).join(",") }),
      launchChromium(chromiumPath!),
    ]);
    stack = local.stack;
    // These consoles pick their chats from the queue.
    await letAgentsPick(stack, Object.values(ENDPOINTS));
  });
  afterAll(async () => {
    await browser?.close();
    await local?.stop();
  });
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

  /** A service of the test's own, on an endpoint of its own that is kept available. */
  async function openService(name: string, endpoint: string) {
    const admin = { "x-api-key": STACK_ADMIN_KEY, "content-type": "application/x-www-form-urlencoded" };
    const put = (path: string, body: string) => fetch(`${stack.baseUrl}/genesys/1/admin/${path}`, { method: "PUT", headers: admin, body });
    expect((await put(`services/${name}`, `_chat_endpoint=${endpoint}`)).ok).toBe(true);
    expect((await put(`availability/${endpoint}`, "available=true")).ok).toBe(true);
  }

  /**
   * Every request a page makes, by kind, each marked with whether the test had declared the page's
   * socket up (`up`) when it was made.
   */
  function countRequests(page: Page) {
    const seen: { kind: string; up: boolean }[] = [];
    const state = { up: false };
    page.on("request", (request: Request) => {
      const { pathname } = new URL(request.url());
      const kind = pathname.startsWith("/genesys/1/")
        ? `${request.method()} ${pathname.replace(/^.*\/(ixn\/chat|chats\/[^/]+|agent\/[^/]+|service)\/?/, "")}`
        : `${request.method()} ${pathname}`;
      seen.push({ kind, up: state.up });
    });
    return {
      state,
      /** The kinds of request made while up, and how many of each. */
      whileUp: () => tally(seen.filter((request) => request.up).map((request) => request.kind)),
      all: () => tally(seen.map((request) => request.kind)),
    };
  }

  /** The frames a page's sockets received, and what they sent, as the page's own WebSocket saw them. */
  function watchSockets(page: Page) {
    const received: Frame[] = [];
    const sent: Record<string, unknown>[] = [];
    let wake: (() => void) | undefined;
    page.on("websocket", (socket) => {
      socket.on("framereceived", ({ payload }) => {
        received.push(JSON.parse(String(payload)) as Frame);
        wake?.();
      });
      socket.on("framesent", ({ payload }) => sent.push(JSON.parse(String(payload)) as Record<string, unknown>));
    });
    return {
      received,
      sent,
      /** Resolves once `count` subscriptions are in force (the page then stops polling). */
      async subscribed(count = 1): Promise<void> {
        while (received.filter((frame) => frame.channel === "/gms/subscribed").length < count) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
        // One round trip, so that the page has handled the frame the test saw.
        await page.evaluate("0");
      },
    };
  }

  /**
   * The page's push connections, through a proxy in the browser that the test controls: it can
   * refuse every new connection (as an unreachable port would), drop the connections open (as a
   * network would), and repeat every frame it passes on (which the page must show once).
   */
  async function pushProxy(page: Page, options: { refuse: boolean; repeat: boolean }) {
    const state = { refuse: options.refuse, attempts: 0 };
    const received: Frame[] = [];
    const open: WebSocketRoute[] = [];
    let wake: (() => void) | undefined;
    await page.routeWebSocket(
      (url) => url.port === String(stack.ports.websocket),
      (socket) => {
        state.attempts += 1;
        wake?.();
        if (state.refuse) return void socket.close({ code: 1011, reason: "unreachable" });
        const server = socket.connectToServer();
        server.onMessage((message) => {
          received.push(JSON.parse(String(message)) as Frame);
          socket.send(message);
          if (options.repeat) socket.send(message);
          wake?.();
        });
        open.push(socket);
      },
    );
    const until = async (done: () => boolean) => {
      while (!done()) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    };
    return {
      state,
      received,
      /** Resolves once `count` subscriptions are in force, and the page has handled the last. */
      async subscribed(count: number): Promise<void> {
        await until(() => received.filter((frame) => frame.channel === "/gms/subscribed").length >= count);
        await page.evaluate("0");
      },
      /** Resolves once the page has tried `count` connections in all. */
      attempts: (count: number) => until(() => state.attempts >= count),
      /** Closes every connection open, on both sides, with API Gateway's "going away". */
      async drop(): Promise<void> {
        await Promise.all(open.splice(0).map((socket) => socket.close({ code: 1001, reason: "going away" })));
      },
    };
  }

  const reconnecting = (page: Page) => page.locator("#push-status", { hasText: RECONNECTING }).waitFor();
  const reconnected = (page: Page) => page.locator("#push-status:empty").waitFor({ state: "attached" });

  /** Each text is shown once in the page's transcript, no more, no less. */
  async function shownOnce(page: Page, texts: readonly string[]): Promise<void> {
    const transcript = await page.locator("#transcript li p").allTextContents();
    for (const text of texts)
      expect(
        transcript.filter((shown) => shown === text),
        text,
      ).toHaveLength(1);
  }

  it("runs a whole chat over push, with no refresh or queue polling while the sockets are up, and presence still renewed", {
    timeout: 120_000,
  }, async () => {
    await openService("push-whole", "push_whole_q");
    // Both pages on a clock the test can run forward: any polling timer would fire.
    const agent = await newPage(DESKTOP);
    await agent.clock.install();
    const agentRequests = countRequests(agent);
    const agentSocket = watchSockets(agent);
    await agent.goto(`${stack.baseUrl}/agent/`);
    await signIn(agent, "rosa", "Rosa", passwordOf("rosa"), "push_whole_q");
    await goReady(agent);
    await agentSocket.subscribed();
    await agent.locator("#queue-status", { hasText: "No chats are waiting." }).waitFor();
    agentRequests.state.up = true;

    const customer = await newPage(PHONE);
    await customer.clock.install();
    const customerRequests = countRequests(customer);
    const customerSocket = watchSockets(customer);
    await customer.goto(`${stack.baseUrl}/chat/?service=push-whole`);
    await startChat(customer, "Walt", "Over push");
    await customerSocket.subscribed();
    customerRequests.state.up = true;
    const id = String(customerSocket.sent.find((message) => message.action === "subscribe")?.chat);

    // The queue learns of the chat from its push, and ten seconds of the page's time read it no more.
    await agent.locator("#queue li", { hasText: "Walt" }).waitFor();
    const reads = agentRequests.all()["GET queue"];
    await agent.clock.runFor(10_000);
    await agent.evaluate("0");
    expect(agentRequests.all()["GET queue"]).toBe(reads);
    await agent.getByRole("button", { name: "Accept the chat with Walt" }).click();
    await entry(customer, "Rosa joined the chat").waitFor();
    await agentSocket.subscribed(2);

    // Each write waits for the one before, so that the frames come in order (see inOrder).
    await customer.locator("#message").pressSequentially("Is it pushed?");
    await agent.locator("#typing", { hasText: "Walt is typing" }).waitFor();
    const sent = customer.waitForResponse((response) => response.url().endsWith("/ixn/chat/send"));
    await customer.locator("#message").press("Enter");
    await sent;
    await entry(agent, "Is it pushed?").waitFor();
    await entry(customer, "Is it pushed?").waitFor();
    // Half a minute on both pages: presence is renewed (every 20 s), nothing is polled.
    const renewed = agent.waitForRequest((request) => request.method() === "PUT" && request.url().endsWith("/agent/rosa/presence"));
    await Promise.all([agent.clock.runFor(30_000), customer.clock.runFor(30_000)]);
    await renewed;
    const answered = agent.waitForResponse((response) => response.url().endsWith(`/chats/${chatIdOf(id)}/send`));
    await say(agent, "Yes, every word.");
    await answered;
    await entry(customer, "Yes, every word.").waitFor();
    await agent.getByRole("button", { name: "Disconnect" }).click();
    await entry(customer, "Rosa left the chat").waitFor();
    await customer.locator("#chat-status", { hasText: "The chat has ended." }).waitFor();
    await agent.getByRole("button", { name: "Close this chat" }).waitFor();
    agentRequests.state.up = false;
    customerRequests.state.up = false;

    // Every event once, on both sides.
    for (const page of [customer, agent]) {
      for (const text of ["joined the chat", "Is it pushed?", "Yes, every word.", "left the chat"]) {
        expect(await entry(page, text).count(), text).toBe(text === "joined the chat" ? 2 : 1);
      }
    }
    // While up, each page sent only what the people did, and the console read the queue at most
    // once per queue frame and renewed presence (its liveness, not a poll). A refresh fills a gap
    // only: none while the frames came in order, each the next event (the writes above wait for
    // one another, so they do unless a post overtakes another).
    const customerWhileUp = customerRequests.whileUp();
    const agentWhileUp = agentRequests.whileUp();
    const { "POST refresh": customerRefreshes = 0, ...customerRest } = customerWhileUp;
    const {
      "POST refresh": agentRefreshes = 0,
      "GET queue": queueReads = 0,
      "GET offers": offerReads = 0,
      "PUT presence": renewals = 0,
      ...agentRest
    } = agentWhileUp;
    expect(customerRest).toEqual({ "POST startTyping": 1, "POST send": 1 });
    expect(agentRest).toEqual({ "POST accept": 1, "POST startTyping": 1, "POST send": 1, "POST disconnect": 1 });
    expect(customerRefreshes).toBeLessThanOrEqual(inOrder(customerSocket.received, id) ? 0 : 2);
    expect(agentRefreshes).toBeLessThanOrEqual(inOrder(agentSocket.received, id) ? 0 : 2);
    // (And one as each subscription came into force: the first, which the test may see after it
    // declared it up, and each the console made again, as when it showed the accepted chat; the
    // offers are read then too, never polled.)
    const subscriptions = agentSocket.received.filter((frame) => frame.channel === "/gms/subscribed").length;
    expect(queueReads).toBeLessThanOrEqual(
      agentSocket.received.filter((frame) => frame.channel === "/gms/queue").length + subscriptions + 1,
    );
    expect(offerReads).toBeLessThanOrEqual(subscriptions + 1);
    expect(renewals).toBeGreaterThanOrEqual(1);
    // And the pages never said they were reconnecting.
    for (const page of [customer, agent]) expect(await page.locator("#push-status").textContent()).toBe("");
    expect(errors).toEqual([]);
  });

  it("shows every event exactly once when either side's socket drops mid-chat, polling while it is down, and says so", {
    timeout: 120_000,
  }, async () => {
    await openService("push-drop", "push_drop_q");
    const agent = await newPage(DESKTOP);
    const agentPush = await pushProxy(agent, { refuse: false, repeat: true });
    await agent.goto(`${stack.baseUrl}/agent/`);
    await signIn(agent, "tom", "Tom", passwordOf("tom"), "push_drop_q");
    await goReady(agent);
    await agentPush.subscribed(1);
    const customer = await newPage(PHONE);
    const customerPush = await pushProxy(customer, { refuse: false, repeat: true });
    await customer.goto(`${stack.baseUrl}/chat/?service=push-drop`);
    await startChat(customer, "Vera", "Dropped");
    await customerPush.subscribed(1);
    await agent.getByRole("button", { name: "Accept the chat with Vera" }).click();
    await entry(customer, "Tom joined the chat").waitFor();
    await say(customer, "one");
    await entry(agent, "one").waitFor();

    // The widget's socket drops, and stays down a while: it says so, and polls.
    customerPush.state.refuse = true;
    await customerPush.drop();
    await reconnecting(customer);
    await say(agent, "two");
    await entry(customer, "two").waitFor();
    await say(customer, "three");
    await entry(agent, "three").waitFor();
    // One more try refused, then the port is back.
    await customerPush.attempts(2);
    customerPush.state.refuse = false;
    await customerPush.subscribed(2);
    await reconnected(customer);
    await say(agent, "four");
    await entry(customer, "four").waitFor();

    // Now the console's.
    agentPush.state.refuse = true;
    await agentPush.drop();
    await reconnecting(agent);
    await say(customer, "five");
    await entry(agent, "five").waitFor();
    await say(agent, "six");
    await entry(customer, "six").waitFor();
    await agentPush.attempts(2);
    agentPush.state.refuse = false;
    await agentPush.subscribed(3);
    await reconnected(agent);
    await say(customer, "seven");
    await entry(agent, "seven").waitFor();
    await customer.getByRole("button", { name: "End chat" }).click();
    await entry(agent, "Vera left the chat").waitFor();

    const messages = ["one", "two", "three", "four", "five", "six", "seven"];
    await shownOnce(customer, [...messages, "You joined the chat", "Tom joined the chat", "You left the chat"]);
    await shownOnce(agent, [...messages, "Vera joined the chat", "You joined the chat", "Vera left the chat"]);
    // Every frame came twice, and every page showed it once.
    expect(customerPush.received.filter((frame) => frame.channel === "/_genesys").length).toBeGreaterThan(4);
    expect(errors).toEqual([]);
  });

  it("falls back to polling while the WebSocket port cannot be reached, saying so, and goes back to push when it can", {
    timeout: 120_000,
  }, async () => {
    await openService("push-down", "push_down_q");
    const agent = await newPage(DESKTOP);
    await agent.clock.install();
    const agentPush = await pushProxy(agent, { refuse: true, repeat: false });
    const agentRequests = countRequests(agent);
    await agent.goto(`${stack.baseUrl}/agent/`);
    await signIn(agent, "uma", "Uma", passwordOf("uma"), "push_down_q");
    await goReady(agent);
    await reconnecting(agent);
    const customer = await newPage(PHONE);
    await customer.clock.install();
    const customerPush = await pushProxy(customer, { refuse: true, repeat: false });
    const customerRequests = countRequests(customer);
    await customer.goto(`${stack.baseUrl}/chat/?service=push-down`);
    await startChat(customer, "Xena", "Unreachable");
    await reconnecting(customer);

    // The whole chat works by polling: the queue, the accept, messages both ways.
    await agent.locator("#queue li", { hasText: "Xena" }).waitFor();
    await agent.getByRole("button", { name: "Accept the chat with Xena" }).click();
    await entry(customer, "Uma joined the chat").waitFor();
    await say(customer, "Can you hear me?");
    await entry(agent, "Can you hear me?").waitFor();
    await say(agent, "By polling, yes.");
    await entry(customer, "By polling, yes.").waitFor();
    // Each page kept trying, and kept saying so.
    await Promise.all([agentPush.attempts(3), customerPush.attempts(3)]);
    for (const page of [agent, customer]) expect(await page.locator("#push-status").textContent()).toBe(RECONNECTING);
    expect(agentRequests.all()["GET queue"]).toBeGreaterThanOrEqual(2);
    expect(agentRequests.all()["POST refresh"]).toBeGreaterThanOrEqual(1);
    expect(customerRequests.all()["POST refresh"]).toBeGreaterThanOrEqual(2);

    // The port is back: both pages subscribe, stop saying so, and stop polling.
    agentPush.state.refuse = false;
    customerPush.state.refuse = false;
    await Promise.all([agentPush.subscribed(1), customerPush.subscribed(1)]);
    await Promise.all([reconnected(agent), reconnected(customer)]);
    agentRequests.state.up = true;
    customerRequests.state.up = true;
    await Promise.all([agent.clock.runFor(10_000), customer.clock.runFor(10_000)]);
    const answered = customer.waitForResponse((response) => response.url().endsWith("/ixn/chat/send"));
    await say(customer, "And now?");
    await answered;
    await entry(agent, "And now?").waitFor();
    await Promise.all([agent.clock.runFor(10_000), customer.clock.runFor(10_000)]);
    agentRequests.state.up = false;
    customerRequests.state.up = false;
    const id = String(customerPush.received.find((frame) => frame.channel === "/gms/subscribed")?.data.chat);
    expect(customerRequests.whileUp()["POST refresh"] ?? 0).toBeLessThanOrEqual(inOrder(customerPush.received, id) ? 0 : 2);
    expect(agentRequests.whileUp()["POST refresh"] ?? 0).toBeLessThanOrEqual(inOrder(agentPush.received, id) ? 0 : 2);
    // At most the read as the subscription came into force, which the test may see after it declared it up.
    expect(agentRequests.whileUp()["GET queue"] ?? 0).toBeLessThanOrEqual(1);

    await shownOnce(customer, ["Can you hear me?", "By polling, yes.", "And now?"]);
    await shownOnce(agent, ["Can you hear me?", "By polling, yes.", "And now?"]);
    expect(errors).toEqual([]);
  });

  it("reads the queue again while pushed when a read fails or does not show yet what a queue frame said", { timeout: 90_000 }, async () => {
    await openService("push-queue", "push_queue_q");
    const agent = await newPage(DESKTOP);
    const agentSocket = watchSockets(agent);
    // The queue's reads, answered by the test while it says so: refused (storage down), or as a
    // queue index that has not caught up yet would answer (DynamoDB's indexes are eventually consistent).
    const queue = { refuse: 0, lag: 0, reads: 0 };
    await agent.route(`${stack.baseUrl}/genesys/1/agent/vic/queue**`, async (route) => {
      queue.reads += 1;
      if (queue.refuse > 0) {
        queue.refuse -= 1;
        const body = { message: "The storage is unavailable", exception: "StorageUnavailableException" };
        return route.fulfill({ status: 503, contentType: "application/json", headers: { "Retry-After": "2" }, body: JSON.stringify(body) });
      }
      if (queue.lag > 0) {
        queue.lag -= 1;
        return route.fulfill({
          status: 200,
          contentType: "application/json",
          body: JSON.stringify({ endpoint: "push_queue_q", chats: [] }),
        });
      }
      return route.continue();
    });
    await agent.goto(`${stack.baseUrl}/agent/`);
    await signIn(agent, "vic", "Vic", passwordOf("vic"), "push_queue_q");
    await goReady(agent);
    await agentSocket.subscribed();
    await agent.locator("#queue-status", { hasText: "No chats are waiting." }).waitFor();

    queue.lag = 2;
    const first = await newPage(PHONE);
    await first.goto(`${stack.baseUrl}/chat/?service=push-queue`);
    await startChat(first, "Yara", "Lagging");
    await agent.locator("#queue li", { hasText: "Yara" }).waitFor();
    expect(queue.lag).toBe(0);

    queue.refuse = 1;
    const second = await newPage(PHONE);
    await second.goto(`${stack.baseUrl}/chat/?service=push-queue`);
    await startChat(second, "Zoe", "Refused");
    await agent.locator("#desk-error", { hasText: "Could not load the queue" }).waitFor();
    await agent.locator("#queue li", { hasText: "Zoe" }).waitFor();
    expect(queue.refuse).toBe(0);
    // Pushed all along: the page never said it was reconnecting.
    expect(await agent.locator("#push-status").textContent()).toBe("");
    expect(errors).toEqual([]);
  });
  it("hears the queue of an endpoint it went ready on while its first subscription was still unanswered", { timeout: 90_000 }, async () => {
    await openService("push-late", "push_late_q");
    const agent = await newPage(DESKTOP);
    // The first confirmation is held until the agent has gone ready: the subscription it confirms
    // was sent before, with no endpoint in it.
    const held: { frame?: string | Buffer; release?: () => void } = {};
    const confirmations: Frame[] = [];
    let wake: (() => void) | undefined;
    await agent.routeWebSocket(
      (url) => url.port === String(stack.ports.websocket),
      (socket) => {
        const server = socket.connectToServer();
        server.onMessage((message) => {
          const frame = JSON.parse(String(message)) as Frame;
          if (frame.channel === "/gms/subscribed") {
            confirmations.push(frame);
            wake?.();
            if (confirmations.length === 1) {
              held.release = () => socket.send(message);
              return;
            }
          }
          socket.send(message);
        });
      },
    );
    const confirmed = async (count: number) => {
      while (confirmations.length < count) await new Promise<void>((resolve) => (wake = resolve));
    };
    await agent.goto(`${stack.baseUrl}/agent/`);
    await signIn(agent, "wes", "Wes", passwordOf("wes"), "push_late_q");
    await confirmed(1);
    await goReady(agent);
    held.release?.();
    // The page sent its subscription again, on the connection still opening, and it was confirmed
    // with the endpoint it went ready on.
    while (!confirmations.some((frame) => frame.data.endpoints?.includes("push_late_q"))) await confirmed(confirmations.length + 1);
    await agent.locator("#queue-status", { hasText: "No chats are waiting." }).waitFor();
    await agent.evaluate("0");

    const customer = await newPage(PHONE);
    await customer.goto(`${stack.baseUrl}/chat/?service=push-late`);
    await startChat(customer, "Lena", "Late");
    await agent.locator("#queue li", { hasText: "Lena" }).waitFor();
    expect(await agent.locator("#push-status").textContent()).toBe("");
    expect(errors).toEqual([]);
  });
});

function tally(kinds: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of kinds) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/** Whether each `/_genesys` frame of the chat that held something new held exactly the next event. */
function inOrder(frames: readonly Frame[], id: string): boolean {
  let reached = 0;
  for (const frame of frames) {
    if (frame.channel === "/gms/refresh") return false;
    if (frame.channel !== "/_genesys" || frame.data.tag !== `service.chat.refresh.${id}`) continue;
    const position = Number(frame.data.message.transcriptPosition);
    if (position <= reached) continue;
    if (reached > 0 && (position !== reached + 1 || frame.data.message.transcriptToShow.length !== 1)) return false;
    reached = position;
  }
  return reached > 0;
}
