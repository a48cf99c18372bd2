import { GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { cometUserDigest } from "../../lib/chat/notify.ts";
import { CLIENT_LIFETIME_SECONDS, HOLD_TIMING } from "../../lib/comet/bayeux.ts";
import { cometListener } from "../../lib/comet/listener.ts";
import { corsPolicy } from "../../lib/http/cors.ts";
import { agentHandler } from "../../lib/http/routes/agent.ts";
import { chatHandler } from "../../lib/http/routes/chat.ts";
import { cometHandler } from "../../lib/http/routes/comet.ts";
import { requestChatHandler } from "../../lib/http/routes/request-chat.ts";
import { chatIdOf } from "../../lib/session/ids.ts";
import type { CometStore } from "../../lib/storage.ts";
import { startTestDynamo, type TestDynamo } from "../support/dynamo.ts";
import { callRoute, httpEvent } from "../support/events.ts";
import { pickOn, profileFor, testService } from "../support/service.ts";

/**
 * The Bayeux server in process against dynalite, on a clock of the test's: a held connect "waits"
 * by moving that clock, so a 15 s hold takes no time, and the test acts at a chosen poll.
 */
let db: TestDynamo;
let clock = Date.now();
const now = () => new Date(clock);
/** Waits the held connects made, and what the test does at the next one. */
let waits = 0;
let atWait: ((count: number) => Promise<void>) | undefined;
const wait = async (ms: number) => {
  waits += 1;
  clock += ms;
  await atWait?.(waits);
};
let handlers: {
  requestChat: ReturnType<typeof requestChatHandler>;
  chat: ReturnType<typeof chatHandler>;
  agent: ReturnType<typeof agentHandler>;
  comet: ReturnType<typeof cometHandler>;
};

// biome-ignore lint/suspicious/noExplicitAny: replies are checked by assertions.
type Json = Record<string, any>;

beforeAll(async () => {
  vi.spyOn(console, "log").mockImplementation(() => {});
  db = await startTestDynamo();
  // The production composition, CometD's listener included, on the test's clock.
  const deps = { ...testService(db, { now }), wait, cors: corsPolicy("*") };
  await pickOn(db, ["pushed_q"]);
  await profileFor(db, "anna", ["pushed_q"], 10);
  handlers = { requestChat: requestChatHandler(deps), chat: chatHandler(deps), agent: agentHandler(deps), comet: cometHandler(deps) };
  await db.config.putService({ name: "pushed", ttlSeconds: 3600, chatEndpoint: "pushed_q", updatedAt: now().toISOString() });
  await db.config.putNotification({ endpoint: "pushed_q", available: true, updatedAt: now().toISOString() });
});
afterAll(async () => {
  vi.restoreAllMocks();
  await db?.close();
});
beforeEach(() => {
  waits = 0;
  atWait = undefined;
});

const B = "/genesys/1/service/{service}/ixn/chat";

/** POSTs Bayeux messages as `gmsUser` (none: no header); resolves the status and the replies. */
async function bayeux(gmsUser: string | undefined, messages: unknown, type?: string) {
  const response = await handlers.comet(
    httpEvent({
      resource: type === undefined ? "/genesys/cometd" : "/genesys/cometd/{type}",
      pathParameters: type === undefined ? null : { type },
      headers: { "content-type": "application/json", ...(gmsUser === undefined ? {} : { gms_user: gmsUser }) },
      body: typeof messages === "string" ? messages : JSON.stringify(messages),
    }),
  );
  return { status: response.statusCode, body: JSON.parse(response.body) as Json[] | Json, headers: response.headers ?? {} };
}

async function replies(gmsUser: string | undefined, messages: unknown): Promise<Json[]> {
  const { status, body } = await bayeux(gmsUser, messages);
  expect(status, JSON.stringify(body)).toBe(200);
  return body as Json[];
}

/** A handshaken client of `gmsUser`, subscribed to /_genesys unless told otherwise. */
async function newClient(gmsUser: string, options: { subscribe?: boolean; ext?: object } = {}): Promise<string> {
  const [shaken] = await replies(gmsUser, [
    { id: "h", channel: "/meta/handshake", version: "1.0", supportedConnectionTypes: ["long-polling"], ...options.ext },
  ]);
  expect(shaken).toMatchObject({ successful: true });
  const clientId = String(shaken?.clientId);
  if (options.subscribe !== false) {
    expect(await replies(gmsUser, [{ id: "s", channel: "/meta/subscribe", clientId, subscription: "/_genesys" }])).toEqual([
      { id: "s", channel: "/meta/subscribe", clientId, successful: true, subscription: "/_genesys" },
    ]);
  }
  return clientId;
}

/** A connect; `timeout` 0 returns after one poll, as a client's first connect asks. */
function connect(gmsUser: string, clientId: string, timeout?: number) {
  return replies(gmsUser, [
    {
      id: "c",
      channel: "/meta/connect",
      clientId,
      connectionType: "long-polling",
      ...(timeout === undefined ? {} : { advice: { timeout } }),
    },
  ]);
}

/** A chat created as the app does: request-chat and create with `notify_by` and `gms_user`. */
async function comChat(gmsUser: string | undefined, notifyBy = "comet"): Promise<string> {
  const headers = { "content-type": "application/x-www-form-urlencoded", ...(gmsUser === undefined ? {} : { gms_user: gmsUser }) };
  const opened = await handlers.requestChat(httpEvent({ pathParameters: { service: "pushed" }, headers, body: "firstName=Max" }));
  const id = String(JSON.parse(opened.body)._id);
  const created = await handlers.chat(
    httpEvent({ resource: B, pathParameters: { service: id }, headers, body: `firstName=Max&notify_by=${notifyBy}` }),
  );
  expect(created.statusCode).toBe(200);
  return id;
}

const agent = (op: string, id: string, form: Record<string, string> = {}) =>
  callRoute(handlers.agent, `/genesys/1/agent/{agentId}/chats/{chatId}/${op}`, "POST", { agentId: "anna", chatId: chatIdOf(id) }, form);

async function ready() {
  await callRoute(
    handlers.agent,
    "/genesys/1/agent/{agentId}/presence",
    "PUT",
    { agentId: "anna" },
    { endpoint: "pushed_q", state: "ready" },
  );
}

const events = (push: Json | undefined) => ((push?.data.message.transcriptToShow ?? []) as string[][]).map((event) => [event[0], event[2]]);

describe("CometD: pushes of comet chats", () => {
  it("answers a connect at once with what is new, and holds the next one until the agent's message is written", async () => {
    const user = `user-${crypto.randomUUID()}`;
    const clientId = await newClient(user);
    const id = await comChat(user);
    const [joined, connected] = await connect(user, clientId, 0);
    expect(joined).toEqual({
      channel: "/_genesys",
      data: {
        id: expect.any(String),
        tag: `service.chat.refresh.${id}`,
        message: {
          chatIxnState: "CONNECTED",
          chatSessionId: expect.stringMatching(/^[0-9A-F]{16}$/),
          transcriptPosition: "1",
          chatServiceMessage: "Chat service is available",
          transcriptToShow: [["Notice.Joined", "Max", "has joined the session", "0", "CLIENT"]],
          startedAt: expect.any(String),
        },
      },
    });
    expect(connected).toEqual({
      id: "c",
      channel: "/meta/connect",
      clientId,
      successful: true,
      advice: { reconnect: "retry", interval: 0, timeout: 15_000 },
    });
    expect(waits).toBe(0);

    await ready();
    await agent("accept", id);
    const [accepted] = await connect(user, clientId);
    expect(events(accepted)).toEqual([["Notice.Joined", "has joined the session"]]);
    expect(waits).toBe(0);

    // The agent answers while the next connect is held, at its third wait.
    const started = clock;
    atWait = async (count) => {
      if (count === 3) expect((await agent("send", id, { message: "Hello Max" })).status).toBe(200);
    };
    const [hello, reply] = await connect(user, clientId);
    expect(events(hello)).toEqual([["Message.Text", "Hello Max"]]);
    expect(hello?.data.message.transcriptPosition).toBe("3");
    expect(reply).toMatchObject({ channel: "/meta/connect", successful: true });
    expect([waits, clock - started]).toEqual([3, 3 * HOLD_TIMING.pollMs]);

    // Exactly what refresh answers from the client's previous position.
    const refreshed = await callRoute(handlers.chat, `${B}/refresh`, "POST", { service: id }, { transcriptPosition: "2" });
    expect(hello?.data.message).toEqual(refreshed.body);
  });

  it("holds a connect with nothing new for the whole hold, and answers it without pushes", async () => {
    const user = `user-${crypto.randomUUID()}`;
    const clientId = await newClient(user);
    const started = clock;
    expect(await connect(user, clientId)).toEqual([expect.objectContaining({ id: "c", successful: true })]);
    expect(clock - started).toBe(HOLD_TIMING.holdMs);
    expect(waits).toBe(HOLD_TIMING.holdMs / HOLD_TIMING.pollMs);
  });

  it("pushes each of the user's chats apart, and nothing of another user's or of a chat that polls", async () => {
    const user = `user-${crypto.randomUUID()}`;
    const clientId = await newClient(user);
    const first = await comChat(user);
    const second = await comChat(user, "COMET");
    await comChat(`other-${crypto.randomUUID()}`);
    const polled = await comChat(user, "");
    await comChat(undefined);
    const pushed = await connect(user, clientId, 0);
    expect(
      pushed
        .slice(0, -1)
        .map((push) => push.data.tag)
        .sort(),
    ).toEqual([`service.chat.refresh.${first}`, `service.chat.refresh.${second}`].sort());
    const state = await db.client.send(new GetCommand({ TableName: db.tables.sessions, Key: { id: chatIdOf(polled), sk: "state" } }));
    expect(state.Item).not.toHaveProperty("cometUser");
    // The chat keeps the digest, never the header.
    const comet = await db.client.send(new GetCommand({ TableName: db.tables.sessions, Key: { id: chatIdOf(first), sk: "state" } }));
    expect(comet.Item?.cometUser).toBe(cometUserDigest(user));
    expect(JSON.stringify(comet.Item)).not.toContain(user);
  });

  it("keeps one connect's answer near 256 KB: chats far behind come one connect after another", async () => {
    const user = `user-${crypto.randomUUID()}`;
    const clientId = await newClient(user);
    const chats = [await comChat(user), await comChat(user)];
    // 30 messages of 4,000 quotes: a page of 120 KB of text, which JSON escapes to about 240 KB.
    const quoted = '"'.repeat(4000);
    for (const id of chats) {
      for (let n = 0; n < 30; n += 1) {
        const sent = await handlers.chat(
          httpEvent({
            resource: `${B}/send`,
            pathParameters: { service: id },
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: `message=${encodeURIComponent(quoted)}`,
          }),
        );
        expect(sent.statusCode).toBe(200);
      }
    }
    const tags: string[] = [];
    for (const _ of chats) {
      const answer = await bayeux(user, [
        { id: "c", channel: "/meta/connect", clientId, connectionType: "long-polling", advice: { timeout: 0 } },
      ]);
      expect(Buffer.byteLength(JSON.stringify(answer.body))).toBeLessThan(320 * 1024);
      const pushes = (answer.body as Json[]).slice(0, -1);
      expect(pushes).toHaveLength(1);
      tags.push(String(pushes[0]?.data.tag));
    }
    expect(tags.sort()).toEqual(chats.map((id) => `service.chat.refresh.${id}`).sort());
  });

  it("starts a client at its handshake's ext.transcriptPosition", async () => {
    const user = `user-${crypto.randomUUID()}`;
    const id = await comChat(user);
    await ready();
    await agent("accept", id);
    await agent("send", id, { message: "One" });
    const clientId = await newClient(user, { ext: { ext: { transcriptPosition: "2" } } });
    const [push] = await connect(user, clientId, 0);
    expect(events(push)).toEqual([["Message.Text", "One"]]);
  });

  it("pushes nothing to a client that has not subscribed, and everything since its position once it has", async () => {
    const user = `user-${crypto.randomUUID()}`;
    const clientId = await newClient(user, { subscribe: false });
    const id = await comChat(user);
    const reads = db.proxy.operations.length;
    expect(await connect(user, clientId)).toEqual([expect.objectContaining({ successful: true })]);
    // The chat was read once, its push refused; the rest of the hold only polled.
    const during = db.proxy.operations.slice(reads);
    expect(during.filter((operation) => operation === "UpdateItem")).toHaveLength(1);
    expect(during.length).toBe(1 + (waits + 1) + 2);
    await replies(user, [{ channel: "/meta/subscribe", clientId, subscription: ["/_genesys"] }]);
    const [push] = await connect(user, clientId, 0);
    expect(push?.data.tag).toBe(`service.chat.refresh.${id}`);
    await replies(user, [{ channel: "/meta/unsubscribe", clientId, subscription: "/_genesys" }]);
    await ready();
    await agent("accept", id);
    expect(await connect(user, clientId, 0)).toEqual([expect.objectContaining({ successful: true })]);
  });

  it("knows a client only with its own gms_user, until it disconnects or expires", async () => {
    const user = `user-${crypto.randomUUID()}`;
    const clientId = await newClient(user);
    const unknown = { successful: false, error: "402::unknown client", advice: { reconnect: "handshake", interval: 0 } };
    for (const stranger of ["someone-else", undefined]) {
      expect(await connect(stranger as string, clientId, 0)).toEqual([expect.objectContaining(unknown)]);
      expect(await replies(stranger, [{ channel: "/meta/subscribe", clientId, subscription: "/_genesys" }])).toEqual([
        expect.objectContaining(unknown),
      ]);
      expect(await replies(stranger, [{ channel: "/meta/disconnect", clientId }])).toEqual([expect.objectContaining(unknown)]);
    }
    expect(await connect(user, clientId, 0)).toEqual([expect.objectContaining({ successful: true })]);
    expect(await replies(user, [{ id: "d", channel: "/meta/disconnect", clientId, ext: { transcriptPosition: 7 } }])).toEqual([
      { id: "d", channel: "/meta/disconnect", clientId, successful: true },
    ]);
    expect(await connect(user, clientId, 0)).toEqual([expect.objectContaining(unknown)]);

    const expiring = await newClient(user);
    clock += CLIENT_LIFETIME_SECONDS * 1000;
    expect(await connect(user, expiring, 0)).toEqual([expect.objectContaining(unknown)]);
  });

  it("keeps a connected client for another lifetime once half of it has passed", async () => {
    const user = `user-${crypto.randomUUID()}`;
    const clientId = await newClient(user);
    const key = { id: `comet#${cometUserDigest(user)}`, sk: `client#${clientId}` };
    const { Item: before } = await db.client.send(new GetCommand({ TableName: db.tables.sessions, Key: key }));
    clock += (CLIENT_LIFETIME_SECONDS / 2) * 1000 + 1000;
    await connect(user, clientId, 0);
    const { Item: after } = await db.client.send(new GetCommand({ TableName: db.tables.sessions, Key: key }));
    expect(after?.expiresAt).toBe(Math.floor(clock / 1000) + CLIENT_LIFETIME_SECONDS);
    expect(after?.expiresAt).toBeGreaterThan(Number(before?.expiresAt));
  });

  it("pushes nothing more of a chat once its session is deleted, and erases the user's digest with it", async () => {
    const user = `user-${crypto.randomUUID()}`;
    const clientId = await newClient(user);
    const id = await comChat(user);
    const deleted = await handlers.chat(
      httpEvent({ resource: "/genesys/1/service/{service}", httpMethod: "DELETE", pathParameters: { service: id } }),
    );
    expect(deleted.statusCode).toBe(204);
    expect(await connect(user, clientId, 0)).toEqual([expect.objectContaining({ successful: true })]);
    const { Item } = await db.client.send(new GetCommand({ TableName: db.tables.sessions, Key: { id: chatIdOf(id), sk: "state" } }));
    expect(Item).not.toHaveProperty("cometUser");
  });

  it("keeps the mailbox in the user's partition, with the session's expiry and none of the queue's attributes", async () => {
    const user = `user-${crypto.randomUUID()}`;
    const id = await comChat(user);
    const { Items = [] } = await db.client.send(
      new QueryCommand({
        TableName: db.tables.sessions,
        KeyConditionExpression: "id = :id",
        ExpressionAttributeValues: { ":id": `comet#${cometUserDigest(user)}` },
      }),
    );
    const { Item: session } = await db.client.send(
      new GetCommand({ TableName: db.tables.sessions, Key: { id: chatIdOf(id), sk: "session" } }),
    );
    expect(Items).toEqual([
      {
        id: `comet#${cometUserDigest(user)}`,
        sk: expect.stringMatching(new RegExp(`^chat#.+#${id}$`)),
        sessionId: id,
        position: 1,
        expiresAt: session?.expiresAt,
      },
    ]);
  });
});

describe("CometD: the listener is best-effort", () => {
  async function sendWith(store: Partial<CometStore>) {
    const deps = {
      ...testService(db, { now }),
      cors: corsPolicy("*"),
      listeners: cometListener(store as CometStore, 20),
    };
    const chat = chatHandler(deps);
    const user = `user-${crypto.randomUUID()}`;
    const id = await comChat(user);
    return callRoute(chat, `${B}/send`, "POST", { service: id }, { message: "Still here" });
  }

  it("answers the customer's message though the bump fails", async () => {
    const answer = await sendWith({
      bump: async () => {
        throw new Error("down");
      },
    });
    expect([answer.status, answer.body.transcriptToShow[0][2]]).toEqual([200, "Still here"]);
  });

  it("abandons a bump that does not answer within its budget, and answers the customer's message", async () => {
    let aborted = false;
    const answer = await sendWith({
      bump: (_user, _chat, _position, signal) =>
        new Promise((_resolve, reject) =>
          signal?.addEventListener("abort", () => {
            aborted = true;
            reject(signal.reason);
          }),
        ),
    });
    expect([answer.status, aborted]).toEqual([200, true]);
  });
});

describe("CometD: requests", () => {
  const user = "requests-user";
  const handshake = { channel: "/meta/handshake", version: "1.0", supportedConnectionTypes: ["long-polling"] };

  it.each([
    ["not JSON", "[{", 400, "BadRequestException"],
    ["no message", "[]", 400, "BadRequestException"],
    ["a message that is not an object", "[1]", 400, "BadRequestException"],
    ["a message without a channel", '[{"id":"1"}]', 400, "BadRequestException"],
    ["too many messages", JSON.stringify(Array.from({ length: 17 }, () => handshake)), 400, "BadRequestException"],
    ["a bad position", JSON.stringify([{ ...handshake, ext: { transcriptPosition: "-1" } }]), 400, "BadRequestException"],
    ["a body over 64 KB", JSON.stringify([{ ...handshake, ext: { pad: "x".repeat(70 * 1024) } }]), 413, "PayloadTooLargeException"],
  ])("answers %s with %i and stores nothing", async (_name, body, status, exception) => {
    const before = db.proxy.operations.length;
    const answer = await bayeux(user, body);
    expect([answer.status, (answer.body as Json).exception]).toEqual([status, exception]);
    expect(db.proxy.operations.length).toBe(before);
  });

  it("answers another media type with 415, an unknown message type with 404, and the preflight with CORS", async () => {
    const xml = await handlers.comet(
      httpEvent({ resource: "/genesys/cometd", headers: { "content-type": "application/xml", gms_user: user }, body: "<a/>" }),
    );
    expect(xml.statusCode).toBe(415);
    expect((await bayeux(user, [handshake], "publish")).status).toBe(404);
    expect((await bayeux(user, [handshake], "handshake")).status).toBe(200);
    const preflight = await handlers.comet(
      httpEvent({ resource: "/genesys/cometd/{type}", httpMethod: "OPTIONS", pathParameters: { type: "connect" } }),
    );
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers?.["Access-Control-Allow-Headers"]).toContain("gms_user");
    expect((await handlers.comet(httpEvent({ resource: "/genesys/cometd", httpMethod: "GET" }))).statusCode).toBe(405);
  });

  it("accepts a single message as well as an array, and a base64 body", async () => {
    expect((await bayeux(user, handshake)).body).toEqual([expect.objectContaining({ successful: true })]);
    const encoded = await handlers.comet(
      httpEvent({
        resource: "/genesys/cometd",
        headers: { "content-type": "application/json", gms_user: user },
        body: Buffer.from(JSON.stringify([handshake])).toString("base64"),
        isBase64Encoded: true,
      } as Partial<APIGatewayProxyEvent>),
    );
    expect(JSON.parse(encoded.body)).toEqual([expect.objectContaining({ successful: true })]);
  });

  it("keeps at most 10 clients of one gms_user, however many handshakes race: the newest, the others told or unknown", async () => {
    const crowded = `user-${crypto.randomUUID()}`;
    const answered = await Promise.all(Array.from({ length: 14 }, () => bayeux(crowded, [{ id: "h", ...handshake }])));
    // Under a loaded machine a racing handshake may find the storage too slow: a 503, which the client retries.
    expect(answered.filter((answer) => answer.status !== 200 && answer.status !== 503)).toEqual([]);
    const answers = answered.flatMap((answer) => (answer.status === 200 ? (answer.body as Json[]) : []));
    const stored = async () => {
      const { Items = [] } = await db.client.send(
        new QueryCommand({
          TableName: db.tables.sessions,
          KeyConditionExpression: "id = :id AND begins_with(sk, :client)",
          ExpressionAttributeValues: { ":id": `comet#${cometUserDigest(crowded)}`, ":client": "client#" },
        }),
      );
      return Items.map((item) => String(item.sk).slice("client#".length));
    };
    const kept = await stored();
    expect(kept.length).toBeLessThanOrEqual(10);
    expect(kept.length).toBeGreaterThan(0);
    // Each handshake either got a client that is kept, or was told; a client let go later answers 402.
    for (const answer of answers) {
      if (!answer.successful) expect(answer.error).toBe("409::newer clients of this gms_user took over");
      else if (!kept.includes(answer.clientId)) {
        const [subscribed] = await replies(crowded, [
          { id: "s", channel: "/meta/subscribe", clientId: answer.clientId, subscription: "/_genesys" },
        ]);
        expect(subscribed?.error).toBe("402::unknown client");
      }
    }
    // One more, alone and later (this test's clock stands still unless moved), is kept, and the oldest goes.
    clock += 1000;
    const newest = await newClient(crowded, { subscribe: false });
    expect(await stored()).toContain(newest);
    expect((await stored()).length).toBeLessThanOrEqual(10);
  });

  it("stores one client for a request of 16 handshakes, refusing the others by Bayeux errors", async () => {
    const flooder = `user-${crypto.randomUUID()}`;
    const answers = await replies(
      flooder,
      Array.from({ length: 16 }, (_, i) => ({ id: String(i), ...handshake })),
    );
    expect(answers.filter((answer) => answer.successful)).toHaveLength(1);
    expect(new Set(answers.filter((answer) => !answer.successful).map((answer) => answer.error))).toEqual(
      new Set(["400::one /meta/handshake per request"]),
    );
    const { Items = [] } = await db.client.send(
      new QueryCommand({
        TableName: db.tables.sessions,
        KeyConditionExpression: "id = :id AND begins_with(sk, :client)",
        ExpressionAttributeValues: { ":id": `comet#${cometUserDigest(flooder)}`, ":client": "client#" },
      }),
    );
    expect(Items).toHaveLength(1);
  });

  it("refuses a handshake without gms_user or long-polling, other channels, publishing and a second connect, by Bayeux errors", async () => {
    expect(await replies(undefined, [{ id: "1", ...handshake }])).toEqual([
      {
        id: "1",
        channel: "/meta/handshake",
        successful: false,
        error: "403::send the gms_user header of the app's chats",
        advice: { reconnect: "none", interval: 0 },
      },
    ]);
    expect(await replies(user, [{ id: "2", ...handshake, supportedConnectionTypes: ["websocket", "callback-polling"] }])).toEqual([
      expect.objectContaining({
        id: "2",
        successful: false,
        error: "301::long-polling:unsupported connection types",
        supportedConnectionTypes: ["long-polling"],
      }),
    ]);
    const clientId = await newClient(user);
    const answers = await replies(user, [
      { id: "3", channel: "/meta/subscribe", clientId, subscription: "/**" },
      { id: "4", channel: "/_genesys", clientId, data: {} },
      { id: "5", channel: "/meta/unknown", clientId },
      { id: "6", channel: "/meta/connect", clientId, connectionType: "long-polling", advice: { timeout: 0 } },
      { id: "7", channel: "/meta/connect", clientId, connectionType: "long-polling", advice: { timeout: 0 } },
    ]);
    expect(answers.map((answer) => [answer.id, answer.successful, answer.error])).toEqual([
      ["3", false, "403::forbidden channel"],
      ["4", false, "403::publishing is not supported"],
      ["5", false, "400::unknown meta channel"],
      ["6", true, undefined],
      ["7", false, "400::one /meta/connect per request"],
    ]);
  });
});
