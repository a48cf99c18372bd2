import type { APIGatewayProxyWebsocketEventV2 } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { corsPolicy } from "../../lib/http/cors.ts";
import { chatHandler } from "../../lib/http/routes/chat.ts";
import { LONGEST_STORAGE_SEQUENCE as PUSH_SEQUENCE, pushHandler } from "../../lib/http/routes/push.ts";
import { requestChatHandler } from "../../lib/http/routes/request-chat.ts";
import { MAX_LISTENERS, pushListener } from "../../lib/push/push.ts";
import { chatIdOf } from "../../lib/session/ids.ts";
import type { ConnectionSender } from "../../lib/storage.ts";
import { wire } from "../../lib/wire.ts";
import { startTestDynamo, type TestDynamo } from "../support/dynamo.ts";
import { callRoute } from "../support/events.ts";

/**
 * The push channel's storage budgets (docs/push.md), counted by the proxy in front of dynalite: a
 * subscription (the connect that matters: `$connect` itself stores nothing), a close, and the
 * fan-out each written event adds to its request, which reads one partition per topic whatever
 * the number of listeners and writes nothing while they are all there.
 */
let db: TestDynamo;
const posted: { connectionId: string; frame: string }[] = [];
let gone = new Set<string>();
const sender: ConnectionSender = {
  async send(connectionId, frame) {
    if (gone.has(connectionId)) return "gone";
    posted.push({ connectionId, frame });
    return "sent";
  },
};
let handlers: {
  requestChat: ReturnType<typeof requestChatHandler>;
  chat: ReturnType<typeof chatHandler>;
  push: ReturnType<typeof pushHandler>;
};

beforeAll(async () => {
  vi.spyOn(console, "log").mockImplementation(() => {});
  db = await startTestDynamo();
  const service = wire(db, { sender, listen: [pushListener] });
  const now = service.now;
  const deps = { ...service, cors: corsPolicy("*") };
  handlers = {
    requestChat: requestChatHandler(deps),
    chat: chatHandler(deps),
    push: pushHandler({
      ...deps,
      sender,
      // Any token is anna's: the subscription's own checks are tests/unit/push-route.test.ts's.
      verify: async () => ({ ok: true, principal: { userId: "sub-anna", username: "anna", groups: ["agent"], expiresAt: 4_000_000_000 } }),
    }),
  };
  await db.config.putService({ name: "pushed", ttlSeconds: 3600, chatEndpoint: "pushed_q", updatedAt: now().toISOString() });
  await db.config.putNotification({ endpoint: "pushed_q", available: true, updatedAt: now().toISOString() });
  // anna serves the queues her consoles watch.
  const endpoints = [...Array.from({ length: 10 }, (_, n) => `renew_${n}`), "consoles_q", "racing_q"];
  await db.agents.putProfile({ agentId: "anna", endpoints, maxChats: 3, updatedAt: now().toISOString() });
});
afterAll(async () => {
  vi.restoreAllMocks();
  await db?.close();
});
beforeEach(() => {
  posted.length = 0;
  gone = new Set();
});

const EVENT_TYPES: Record<string, string> = { $connect: "CONNECT", $disconnect: "DISCONNECT", $default: "MESSAGE" };
const ws = (routeKey: string, connectionId: string, body?: object) =>
  ({
    requestContext: { routeKey, connectionId, requestId: "r", eventType: EVENT_TYPES[routeKey] },
    body: body === undefined ? undefined : JSON.stringify(body),
    isBase64Encoded: false,
  }) as unknown as APIGatewayProxyWebsocketEventV2;

async function chatWith(listeners: number): Promise<string> {
  const opened = await callRoute(handlers.requestChat, "/genesys/1/service/{service}", "POST", { service: "pushed" });
  const id = String(opened.body._id);
  await callRoute(handlers.chat, "/genesys/1/service/{service}/ixn/chat", "POST", { service: id }, { firstName: "Max" });
  for (let n = 0; n < listeners; n += 1) await handlers.push(ws("$default", `conn-${id}-${n}`, { action: "subscribe", chat: id }));
  return id;
}

async function cost(run: () => Promise<unknown>) {
  db.proxy.reset();
  await run();
  return { ...db.proxy.cost(), operations: [...db.proxy.operations] };
}

describe("push: DynamoDB calls", () => {
  it("a customer's subscribe with a position: the session's head, the connection's record, the chat's listeners, the catch-up", async () => {
    const id = await chatWith(0);
    const spent = await cost(() => handlers.push(ws("$default", "c-1", { action: "subscribe", chat: id, transcriptPosition: "0" })));
    expect(spent.operations).toEqual(["Query", "UpdateItem", "UpdateItem", "Query"]);
    expect(PUSH_SEQUENCE).toEqual([
      ["agents.signedOutUntil", "agents.getProfile"],
      "push.subscribe",
      "push.listening",
      ["push.forget", "sessions.read"],
    ]);
    expect(posted.map((p) => JSON.parse(p.frame).channel)).toEqual(["/gms/subscribed", "/_genesys"]);
  });

  it("a $connect stores nothing, a ping reads nothing, a $disconnect reads its record, leaves the chat and deletes the record", async () => {
    expect((await cost(() => handlers.push(ws("$connect", "c-2")))).calls).toBe(0);
    expect((await cost(() => handlers.push(ws("$default", "c-2", { action: "ping" })))).calls).toBe(0);
    const id = await chatWith(0);
    await handlers.push(ws("$default", "c-2", { action: "subscribe", chat: id }));
    expect((await cost(() => handlers.push(ws("$disconnect", "c-2")))).operations.sort()).toEqual([
      "BatchWriteItem",
      "GetItem",
      "UpdateItem",
    ]);
    expect(await db.push.listening({ kind: "chat", chatId: chatIdOf(id) }, 10)).toEqual([]);
  });

  it("a customer's message reaches every tab of the chat in two calls, its claim and its write: the claim reads the listeners", async () => {
    for (const listeners of [0, 1, 10]) {
      const id = await chatWith(listeners);
      posted.length = 0;
      const spent = await cost(() =>
        callRoute(handlers.chat, "/genesys/1/service/{service}/ixn/chat/send", "POST", { service: id }, { message: "hi" }),
      );
      // No agent holds the chat and the queue is unchanged: nothing else to read.
      expect(spent.operations, `${listeners}`).toEqual(["UpdateItem", "PutItem"]);
      expect(spent.readUnits, `${listeners}`).toBe(0);
      expect(posted.map((p) => p.connectionId).sort(), `${listeners}`).toEqual(
        Array.from({ length: listeners }, (_, n) => `conn-${id}-${n}`).sort(),
      );
    }
    // A chat takes no more listeners than a fan-out posts to: the eleventh is refused, and told so.
    const crowded = await chatWith(MAX_LISTENERS.chat);
    posted.length = 0;
    await handlers.push(ws("$default", "one-too-many", { action: "subscribe", chat: crowded }));
    expect(posted.map((p) => JSON.parse(p.frame))).toEqual([
      { channel: "/gms/error", data: expect.objectContaining({ status: 400, exception: "BadRequestException" }) },
    ]);
  });

  it("a fan-out forgets a connection found gone, on both sides, once", async () => {
    const id = await chatWith(2);
    gone = new Set([`conn-${id}-0`]);
    const spent = await cost(() =>
      callRoute(handlers.chat, "/genesys/1/service/{service}/ixn/chat/send", "POST", { service: id }, { message: "hi" }),
    );
    // The claim, the event, then the chat's listeners and the connection's topics.
    expect(spent.operations).toEqual(["UpdateItem", "PutItem", "UpdateItem", "UpdateItem"]);
    expect((await db.push.listening({ kind: "chat", chatId: chatIdOf(id) }, 10)).map((s) => s.connectionId)).toEqual([`conn-${id}-1`]);
  });

  it("renews an agent's subscription of ten queues on the same connection, as a token refresh does", async () => {
    const subscribe = { action: "subscribe", agentId: "anna", token: "t", endpoints: Array.from({ length: 10 }, (_, n) => `renew_${n}`) };
    for (let n = 0; n < 3; n += 1) {
      posted.length = 0;
      await handlers.push(ws("$default", "renewing", subscribe));
      expect(posted.map((p) => JSON.parse(p.frame).channel)).toEqual(["/gms/subscribed"]);
    }
    await handlers.push(ws("$disconnect", "renewing"));
  });

  it("lets an agent have three consoles listening: a fourth takes over from the oldest, which is told", async () => {
    for (const console of ["console-1", "console-2", "console-3", "console-4"]) {
      await handlers.push(ws("$default", console, { action: "subscribe", agentId: "anna", token: "t", endpoints: ["consoles_q"] }));
    }
    const listening = await db.push.listening({ kind: "queue", endpoint: "consoles_q" }, 10);
    expect(listening.map((s) => s.connectionId).sort()).toEqual(["console-2", "console-3", "console-4"]);
    expect(posted.filter((p) => p.connectionId === "console-1").map((p) => JSON.parse(p.frame).data.exception)).toContain(
      "ConsoleReplacedException",
    );
    for (const console of ["console-2", "console-3", "console-4"]) await handlers.push(ws("$disconnect", console));
  });

  it("leaves three of 30 consoles subscribing at once listening, and tells every other one it was replaced: none is silent", async () => {
    const consoles = Array.from({ length: 30 }, (_, n) => `racing-${n}`);
    await Promise.all(
      consoles.map((console) =>
        handlers.push(ws("$default", console, { action: "subscribe", agentId: "anna", token: "t", endpoints: ["racing_q"] })),
      ),
    );
    const listening = (await db.push.listening({ kind: "agent", agentId: "anna" }, 100)).map((s) => s.connectionId);
    expect(listening.length).toBeGreaterThan(0);
    expect(listening.length).toBeLessThanOrEqual(3);
    expect((await db.push.listening({ kind: "queue", endpoint: "racing_q" }, 100)).map((s) => s.connectionId).sort()).toEqual(
      [...listening].sort(),
    );
    const told = (console: string) => posted.filter((p) => p.connectionId === console).map((p) => JSON.parse(p.frame));
    for (const console of consoles) {
      const frames = told(console);
      // Let go: told why (replaced, or a storage call that failed under the race); never silent.
      if (!listening.includes(console)) expect(frames.map((f) => f.channel)).toContain("/gms/error");
      else expect(frames.map((f) => f.channel)).toEqual(expect.arrayContaining([expect.stringMatching(/^\/gms\/(subscribed|error)$/)]));
    }
    expect(
      consoles.filter((console) => told(console).some((f) => f.data?.exception === "ConsoleReplacedException")).length,
    ).toBeGreaterThan(20);
    for (const console of listening) await handlers.push(ws("$disconnect", console));
  });

  it("never leaves a chat's subscriber told it is subscribed and then silent: past the chat's listeners, a subscription is refused", async () => {
    const id = await chatWith(0);
    const crowd = Array.from({ length: 40 }, (_, n) => `crowd-${id}-${n}`);
    await Promise.all(crowd.map((connection) => handlers.push(ws("$default", connection, { action: "subscribe", chat: id }))));
    const own = `own-${id}`;
    await handlers.push(ws("$default", own, { action: "subscribe", chat: id }));
    const answered = (connection: string) => posted.filter((p) => p.connectionId === connection).map((p) => JSON.parse(p.frame).channel);
    const told = [...crowd, own].filter((connection) => answered(connection).includes("/gms/subscribed"));
    expect(told.length).toBeGreaterThan(0);
    // Every other one was refused with an error frame (its page polls).
    for (const connection of [...crowd, own]) if (!told.includes(connection)) expect(answered(connection)).toEqual(["/gms/error"]);
    // Each one told it is subscribed hears the chat's next event.
    posted.length = 0;
    await callRoute(handlers.chat, "/genesys/1/service/{service}/ixn/chat/send", "POST", { service: id }, { message: "anyone?" });
    expect(new Set(posted.filter((p) => JSON.parse(p.frame).channel === "/_genesys").map((p) => p.connectionId))).toEqual(new Set(told));
  });

  it("tells a cancelled chat's listeners to refresh, since no event says it (DELETE)", async () => {
    const id = await chatWith(1);
    posted.length = 0;
    const cancelled = await callRoute(handlers.chat, "/genesys/1/service/{service}", "DELETE", { service: id });
    expect(cancelled.status).toBe(204);
    expect(posted.map((p) => JSON.parse(p.frame))).toEqual([{ channel: "/gms/refresh", data: { id, transcriptPosition: "1" } }]);
  });

  it("keeps a subscription whose answer could not be posted, and reads a message's route from its type, not its key", async () => {
    const id = await chatWith(0);
    const failing = pushHandler({
      agents: db.agents,
      sessions: db.sessions,
      now: () => new Date(),
      push: db.push,
      sender: { send: async () => Promise.reject(new Error("post timed out")) },
      verify: async () => ({ ok: false, reason: "signature", message: "" }),
    });
    const logged: string[] = [];
    vi.mocked(console.log).mockImplementation((line: string) => {
      logged.push(line);
    });
    await failing(ws("$default", "slow-answer", { action: "subscribe", chat: id }));
    await failing(ws("$default", "slow-answer", { action: "ping" }));
    // A message whose action names a route: still a message, refused as one.
    await failing({
      ...ws("$default", "slow-answer", { action: "$disconnect" }),
      requestContext: { routeKey: "$disconnect", connectionId: "slow-answer", requestId: "r", eventType: "MESSAGE" },
    } as unknown as APIGatewayProxyWebsocketEventV2);
    expect(logged.map((line) => JSON.parse(line)).map((line) => [line.route, line.status])).toEqual([
      ["$default", 200],
      ["$default", 200],
      ["$default", 400],
    ]);
    expect((await db.push.listening({ kind: "chat", chatId: chatIdOf(id) }, 10)).map((s) => s.connectionId)).toEqual(["slow-answer"]);
  });
});
