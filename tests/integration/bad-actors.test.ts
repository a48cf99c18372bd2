import { paginateScan, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { cometUserDigest } from "../../lib/chat/notify.ts";
import { MAX_TYPING_NOTICES, PAGE_LIMITS, TRANSCRIPT_LIMITS } from "../../lib/chat/transcript.ts";
import { corsPolicy } from "../../lib/http/cors.ts";
import { agentHandler } from "../../lib/http/routes/agent.ts";
import { chatHandler } from "../../lib/http/routes/chat.ts";
import { requestChatHandler } from "../../lib/http/routes/request-chat.ts";
import { MemoryAgentStore } from "../../lib/memory/agent-store.ts";
import { MemoryConfigStore } from "../../lib/memory/config-store.ts";
import { MemorySessionStore } from "../../lib/memory/session-store.ts";
import { pushListener } from "../../lib/push/push.ts";
import { chatIdOf } from "../../lib/session/ids.ts";
import { openSession } from "../../lib/session/open.ts";
import type { SessionStore } from "../../lib/storage.ts";
import { startTestDynamo, type TestDynamo } from "../support/dynamo.ts";
import { callRoute, httpEvent } from "../support/events.ts";
import { pickOn, profileFor, testService } from "../support/service.ts";

/**
 * What a stranger can send, alone or many times over, against the real handlers and dynalite:
 * fillers that would hide real customers from agents, floods of messages into one chat, guessable
 * session ids, names that display as something else, and personal data left behind by DELETE.
 */
let db: TestDynamo;
let handlers: {
  requestChat: ReturnType<typeof requestChatHandler>;
  chat: ReturnType<typeof chatHandler>;
  agent: ReturnType<typeof agentHandler>;
};
let clock = new Date();

beforeAll(async () => {
  vi.spyOn(console, "log").mockImplementation(() => {});
  db = await startTestDynamo();
  const deps = { ...testService(db, { now: () => clock }), cors: corsPolicy("*") };
  await pickOn(db, ["support_q", "crowded_q"]);
  handlers = { requestChat: requestChatHandler(deps), chat: chatHandler(deps), agent: agentHandler(deps) };
  for (const [name, endpoint] of [
    ["support", "support_q"],
    ["crowded", "crowded_q"],
  ]) {
    await db.config.putService({ name: String(name), ttlSeconds: 3600, chatEndpoint: String(endpoint), updatedAt: clock.toISOString() });
    await db.config.putNotification({ endpoint: String(endpoint), available: true, updatedAt: clock.toISOString() });
  }
});
afterAll(async () => {
  vi.restoreAllMocks();
  await db?.close();
});

// biome-ignore lint/suspicious/noExplicitAny: answers are read field by field by the assertions.
type Json = Record<string, any>;
const call = callRoute;

const B = "/genesys/1/service/{service}/ixn/chat";
const customer = (op: string, id: string, form: Record<string, string> = {}) =>
  call(handlers.chat, op === "" ? B : `${B}/${op}`, "POST", { service: id }, form);
const agent = (agentId: string, op: string, id: string, form: Record<string, string> = {}) =>
  call(handlers.agent, `/genesys/1/agent/{agentId}/chats/{chatId}/${op}`, "POST", { agentId, chatId: chatIdOf(id) }, form);
const presence = async (agentId: string, endpoint: string) => {
  await profileFor(db, agentId, ["support_q", "crowded_q"]);
  return call(handlers.agent, "/genesys/1/agent/{agentId}/presence", "PUT", { agentId }, { endpoint, state: "ready" });
};
const queue = (agentId: string, query: Record<string, string>) =>
  call(handlers.agent, "/genesys/1/agent/{agentId}/queue", "GET", { agentId }, {}, query);

async function open(service = "support", form: Record<string, string> = {}): Promise<string> {
  const answer = await call(handlers.requestChat, "/genesys/1/service/{service}", "POST", { service }, form);
  expect(answer.status).toBe(200);
  return answer.body._id;
}

/** The test's session store, with `before` run ahead of every call of `method`: a race, made to happen. */
function storeWith<M extends "claim" | "attach">(method: M, before: (...args: Parameters<SessionStore[M]>) => Promise<void>): SessionStore {
  const original = db.sessions[method].bind(db.sessions) as (...args: Parameters<SessionStore[M]>) => ReturnType<SessionStore[M]>;
  return Object.create(db.sessions, {
    [method]: {
      value: async (...args: Parameters<SessionStore[M]>) => {
        await before(...args);
        return original(...args);
      },
    },
  });
}

/** Every item of the sessions table, every page, as JSON. */
async function scanSessions(): Promise<string> {
  const items: unknown[] = [];
  for await (const page of paginateScan({ client: db.client }, { TableName: db.tables.sessions })) items.push(...(page.Items ?? []));
  return JSON.stringify(items);
}

/** Runs `task` for 0..count-1, `concurrency` at a time. */
async function pooled<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}

describe("a queue that fillers cannot hide a customer in", () => {
  it("keeps a chat visible to agents behind 200 large fillers, every page small and bounded in cost", { timeout: 120_000 }, async () => {
    // Each filler: 32 KB of context data, and every customer field at its longest.
    const filler = Object.fromEntries(Array.from({ length: 4 }, (_, k) => [`pad${k}`, "x".repeat(8000)]));
    const longest = {
      firstName: "F".repeat(256),
      lastName: "L".repeat(256),
      subject: "S".repeat(256),
      email: `${"e".repeat(240)}@example.com`,
    };
    await pooled(200, 8, async () => {
      const id = await open("crowded", filler);
      expect((await customer("", id, longest)).status).toBe(200);
    });
    // The real customer comes last: oldest first, it is behind every filler.
    clock = new Date(clock.getTime() + 1000);
    const real = await open("crowded", { orderId: "A-1" });
    await customer("", real, { firstName: "Real", lastName: "Customer" });
    await presence("ana", "crowded_q");

    const pages: { bytes: number; readUnits: number; chats: number }[] = [];
    let after: string | undefined;
    let found: Json | undefined;
    do {
      db.proxy.reset();
      const page = await queue("ana", { endpoint: "crowded_q", ...(after === undefined ? {} : { after }) });
      expect(page.status).toBe(200);
      pages.push({ bytes: page.bytes, readUnits: db.proxy.cost().readUnits, chats: page.body.chats.length });
      found ??= page.body.chats.find((chat: Json) => chat.id === chatIdOf(real));
      after = page.body.next;
    } while (after !== undefined && found === undefined);

    expect(found).toMatchObject({ nickname: "Real Customer" });
    expect(pages).toHaveLength(Math.ceil(201 / 20));
    for (const page of pages) {
      expect(page.chats).toBeLessThanOrEqual(20);
      // About 1.1 KB a filler entry: the attached data stays out of the list and out of the read,
      // which is the queue's entries (1 unit), the endpoint's settings and the agent's profile (half a
      // unit each) and the chats' records (half a unit each).
      expect(page.bytes).toBeLessThan(32 * 1024);
      expect(page.readUnits).toBeLessThanOrEqual(12);
    }
    // Attached data when asked for, a few chats at a time.
    const detailed = await queue("ana", { endpoint: "crowded_q", attachedData: "true", limit: "10" });
    expect(detailed.body.chats).toHaveLength(10);
    expect(detailed.body.chats[0].attachedData).toEqual(filler);
    expect((await queue("ana", { endpoint: "crowded_q", attachedData: "true", limit: "11" })).status).toBe(400);
    expect((await queue("ana", { endpoint: "crowded_q", after: "bm90IGEgY3Vyc29y" })).status).toBe(400);
    expect((await queue("ana", { endpoint: "crowded_q", after: "%%%" })).status).toBe(400);
  });

  it("refuses customer fields past their caps, malformed emails, and names that hide their order or show nothing", async () => {
    const id = await open();
    const refused = [
      { firstName: "x".repeat(257) },
      { email: "not-an-address" },
      { email: `${"e".repeat(250)}@example.com` },
      { userDisplayName: "\u202Enimda\u202C Support" },
      { lastName: "\u2067Anna\u2069" },
      { subject: "\u200B\u200B" },
      { userDisplayName: "\u3164" },
      { firstName: "\u2800\u2800" },
      { firstName: "\u0301" },
      { subject: "a\u0085b" },
      { subject: "a\u2028c" },
      { firstName: "x\u009B31m" },
      { email: "a@ba\u200Bnk.com" },
      { email: "a@b..com" },
    ];
    for (const fields of refused) {
      const answer = await customer("", id, fields);
      expect([answer.status, answer.body.exception], JSON.stringify(fields)).toEqual([400, "BadRequestException"]);
    }
    // Nothing was stored: the session has no chat yet.
    expect((await customer("refresh", id)).status).toBe(409);
    // Characters are counted as people count them: 256 emoji fit.
    expect((await customer("", id, { firstName: "أحمد", lastName: "👍".repeat(256), email: "ahmed@example.com" })).status).toBe(200);
    // Messages count characters as people do: 4,096 emoji fit.
    expect((await customer("send", id, { message: "👍".repeat(4096) })).status).toBe(200);
    for (const message of ["\u200B", "\u200B\u200C\u2060", " \u00A0\uFEFF ", "\u3164"]) {
      expect((await customer("send", id, { message })).status, JSON.stringify(message)).toBe(400);
    }
    await presence("bea", "support_q");
    expect(
      (
        await call(
          handlers.agent,
          "/genesys/1/agent/{agentId}/presence",
          "PUT",
          { agentId: "bea" },
          { endpoint: "support_q", state: "ready", nickname: "\u202Enimda" },
        )
      ).status,
    ).toBe(400);
  });

  it("keeps a session no longer than its service allows, whatever _ttl the client asks for", async () => {
    const ttl = async (asked: string) =>
      (await call(handlers.requestChat, "/genesys/1/service/{service}", "POST", { service: "support" }, { _ttl: asked, _verbose: "true" }))
        .body._ttl;
    expect(await ttl("604800")).toBe("3600");
    expect(await ttl("60")).toBe("60");
  });
});

describe("a chat flooded with messages", () => {
  it("takes 300 sends from both sides, 16 at a time, with no 5xx and at most 3 DynamoDB calls a send on average", {
    timeout: 120_000,
  }, async () => {
    await presence("cai", "support_q");
    const id = await open();
    await customer("", id, { firstName: "Flo" });
    expect((await agent("cai", "accept", id)).status).toBe(200);
    db.proxy.reset();
    const answers = await pooled(300, 16, (i) =>
      i % 2 === 0 ? customer("send", id, { message: `c${i}` }) : agent("cai", "send", id, { message: `a${i}` }),
    );
    const calls = db.proxy.cost().calls;
    expect(answers.filter((a) => a.status >= 500).map((a) => a.body)).toEqual([]);
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(calls / 300).toBeLessThanOrEqual(3);

    // Every message once, in the order of its position, as a client catching up page by page sees it.
    clock = new Date(clock.getTime() + 60_000);
    const texts: string[] = [];
    let position = "0";
    for (let pages = 0; pages < 20; pages += 1) {
      const page = await customer("refresh", id, { transcriptPosition: position });
      expect(page.body.transcriptToShow.length).toBeLessThanOrEqual(PAGE_LIMITS.events);
      texts.push(...page.body.transcriptToShow.filter((e: string[]) => e[0] === "Message.Text").map((e: string[]) => e[2]));
      if (page.body.transcriptPosition === position) break;
      position = page.body.transcriptPosition;
    }
    expect(texts).toHaveLength(300);
    expect(new Set(texts).size).toBe(300);
  });

  it("stops a chat at its cap with a clear 409, and answers a refresh from 0 on a full chat with well under 1 MB", {
    timeout: 120_000,
  }, async () => {
    const id = await open();
    await customer("", id, { firstName: "Max" });
    // 4,096 three-byte characters: 12 KB a message, so the byte cap comes first.
    const message = "€".repeat(4096);
    const perMessage = Buffer.byteLength(message) + 512;
    const fits = Math.floor(TRANSCRIPT_LIMITS.maxBytes / perMessage);
    const answers = await pooled(fits + 5, 8, () => customer("send", id, { message }));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(fits);
    const full = answers.filter((a) => a.status !== 200);
    expect(full.map((a) => [a.status, a.body.exception])).toEqual(Array(5).fill([409, "ChatTranscriptFullException"]));
    expect((await customer("refresh", id, { message })).body.exception).toBe("ChatTranscriptFullException");
    // The chat can still end, with its notice.
    expect((await customer("disconnect", id)).body.chatIxnState).toBe("DISCONNECTED");

    const fromStart = await customer("refresh", id, { transcriptPosition: "0" });
    expect(fromStart.status).toBe(200);
    expect(fromStart.bytes).toBeLessThan(512 * 1024);
    expect(Number(fromStart.body.transcriptPosition)).toBeLessThan(fits + 2);
  });
});

describe("a chat flooded with typing notices", () => {
  it("drops typing notices past their own cap, and the customer and the agent can still send", { timeout: 120_000 }, async () => {
    await presence("tia", "support_q");
    const id = await open();
    await customer("", id, { firstName: "Tex" });
    expect((await agent("tia", "accept", id)).status).toBe(200);
    const typed = await pooled(MAX_TYPING_NOTICES + 20, 16, (i) => customer(i % 2 === 0 ? "startTyping" : "stopTyping", id));
    // Each answered as any typing notice: nothing for a client to do about the cap.
    expect(typed.filter((a) => a.status !== 200).map((a) => a.body)).toEqual([]);
    expect((await agent("tia", "send", id, { message: "Still here" })).status).toBe(200);
    expect((await customer("send", id, { message: "Me too" })).status).toBe(200);
    // No more typing notices were kept than the cap.
    const shown: string[][] = [];
    let position = "0";
    for (let pages = 0; pages < 40; pages += 1) {
      const page = await customer("refresh", id, { transcriptPosition: position });
      shown.push(...page.body.transcriptToShow);
      if (page.body.transcriptPosition === position) break;
      position = page.body.transcriptPosition;
    }
    expect(shown.filter((e) => e[0]?.startsWith("Notice.Typing"))).toHaveLength(MAX_TYPING_NOTICES);
    expect(shown.filter((e) => e[0] === "Message.Text").map((e) => e[2])).toEqual(["Still here", "Me too"]);
  });
});

describe("the end of a chat", () => {
  it("lets no message racing the end land after the Notice.Left", async () => {
    await presence("eve", "support_q");
    const id = await open();
    await customer("", id, { firstName: "Rita" });
    await agent("eve", "accept", id);
    const racing = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => customer("send", id, { message: `before-or-refused-${i}` })),
      agent("eve", "disconnect", id),
      ...Array.from({ length: 10 }, (_, i) => agent("eve", "send", id, { message: `agent-${i}` })),
    ]);
    expect(racing.filter((a) => a.status >= 500)).toEqual([]);
    for (const answer of racing) expect([200, 409]).toContain(answer.status);
    const transcript = (await customer("refresh", id, { transcriptPosition: "0" })).body.transcriptToShow as string[][];
    const left = transcript.findIndex((e) => e[0] === "Notice.Left");
    expect(left).toBe(transcript.length - 1);
  });
});

describe("an accept that the end overtakes", () => {
  it("is told the chat has ended, not that another agent took it", async () => {
    await presence("fay", "support_q");
    const id = await open();
    await customer("", id, { firstName: "Gil" });
    // The customer leaves after the agent's console read the chat, before its accept lands.
    const overtaken = storeWith("claim", async (_id, claim) => {
      if (claim.kind === "change" && claim.change.phase === "ACCEPTED") await customer("disconnect", id);
    });
    const raced = agentHandler({ ...testService({ ...db, sessions: overtaken }, { now: () => clock }), cors: corsPolicy("*") });
    const answer = await call(raced, "/genesys/1/agent/{agentId}/chats/{chatId}/accept", "POST", { agentId: "fay", chatId: chatIdOf(id) });
    expect([answer.status, answer.body.exception]).toEqual([409, "InvalidChatStateException"]);
  });
});

describe("session ids", () => {
  it("cannot be computed from a client's Idempotency-Key and gms_user: the same ones open different ids on two deployments", async () => {
    const config = new MemoryConfigStore(new MemoryAgentStore());
    await config.putService({ name: "request-chat", ttlSeconds: 3600, chatEndpoint: "gms_builtin", updatedAt: clock.toISOString() });
    await config.putNotification({ endpoint: "gms_builtin", available: true, updatedAt: clock.toISOString() });
    const command = {
      serviceName: "request-chat",
      data: {},
      ttlSeconds: undefined,
      verbose: false,
      idempotency: { key: "1", user: "alice", fingerprint: "f" },
      basePath: "",
    };
    const first = await openSession({ config, sessions: new MemorySessionStore(), now: () => clock }, command);
    const second = await openSession({ config, sessions: new MemorySessionStore(), now: () => clock }, command);
    expect(first._id).not.toBe(second._id);
    // Random (version 4) UUIDs.
    expect(first._id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe("DELETE", () => {
  it("leaves no customer field, attached data or message readable in DynamoDB", async () => {
    await presence("dan", "support_q");
    // Each with a space, an @ or a dot, which no random id, key or token of the table can contain.
    const secrets = ["Zelda Ann", "Quokka Lee", "zelda.quokka@example.com", "PASSPORT X9", "my card is 4111-1111"];
    const id = await open("support", { passport: secrets[3] ?? "" });
    const created = await customer("", id, {
      firstName: secrets[0] ?? "",
      lastName: secrets[1] ?? "",
      email: secrets[2] ?? "",
      subject: "help",
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect((await agent("dan", "accept", id)).status).toBe(200);
    await customer("send", id, { message: secrets[4] ?? "" });
    await agent("dan", "send", id, { message: `Thanks ${secrets[0]}` });

    const scan = scanSessions;
    // Kept (sealed in the transcript) while the chat runs.
    expect(await scan()).toContain(secrets[0]);
    expect((await call(handlers.chat, "/genesys/1/service/{service}", "DELETE", { service: id })).status).toBe(204);
    const after = await scan();
    for (const secret of secrets) expect(after).not.toContain(secret);
    expect((await customer("refresh", id)).status).toBe(404);
    expect((await agent("dan", "refresh", id)).status).toBe(404);
  });

  it("leaves nothing when it lands between a chat's creation and the keeping of its attached data", async () => {
    const id = await open("support", { ctxKey: "RACE CONTEXT" });
    // The DELETE runs just before the create keeps the create's other keys.
    const racing = storeWith("attach", async () => {
      expect((await call(handlers.chat, "/genesys/1/service/{service}", "DELETE", { service: id })).status).toBe(204);
    });
    const raced = chatHandler({ ...testService({ ...db, sessions: racing }, { now: () => clock }), cors: corsPolicy("*") });
    await call(raced, B, "POST", { service: id }, { firstName: "Ray Jones", attachedKey: "RACE ATTACHED" });
    const items = await scanSessions();
    for (const secret of ["RACE CONTEXT", "RACE ATTACHED", "Ray Jones"]) expect(items).not.toContain(secret);
  });

  it("leaves nothing elsewhere that links the customer's push connection or CometD user to the session", async () => {
    const pushed = testService(db, { now: () => clock, sender: { send: async () => "sent" as const }, listen: [pushListener] });
    const chat = chatHandler({ ...pushed, cors: corsPolicy("*") });
    const id = await open();
    const chatId = chatIdOf(id);
    const gmsUser = "leftover-user";
    const created = await chat(
      httpEvent({
        resource: B,
        httpMethod: "POST",
        pathParameters: { service: id },
        headers: { "content-type": "application/x-www-form-urlencoded", gms_user: gmsUser },
        body: "firstName=Lea&notify_by=comet",
      }),
    );
    expect(created.statusCode, created.body).toBe(200);
    // The widget's push connection listens to the chat; a message raises the CometD user's mailbox.
    const now = () => Math.floor(clock.getTime() / 1000);
    expect(
      await db.push.subscribe("leftover-connection", [{ kind: "chat", chatId }], now() + 3600, { topics: 12, chatListeners: 10 }),
    ).toBe(true);
    expect((await call(chat, `${B}/send`, "POST", { service: id }, { message: "hello" })).status).toBe(200);
    // Items outside the chat's own partitions that name it, its session or its user, and outlive now.
    const names = [id, chatId, cometUserDigest(gmsUser)];
    const linked = async () => {
      const found: string[] = [];
      for await (const page of paginateScan({ client: db.client }, { TableName: db.tables.sessions })) {
        for (const item of page.Items ?? []) {
          if (item.id === id || item.id === chatId || !(Number(item.expiresAt) > now())) continue;
          const text = JSON.stringify(item, (_key, value) => (value instanceof Set ? [...value] : value));
          if (names.some((name) => text.includes(name))) found.push(String(item.id));
        }
      }
      return found.sort();
    };
    // Before: the user's mailbox and the connection's record (and the queue's entry of the waiting chat).
    expect(await linked()).toEqual(expect.arrayContaining([`comet#${cometUserDigest(gmsUser)}`, "push#connection#leftover-connection"]));
    expect((await call(chat, "/genesys/1/service/{service}", "DELETE", { service: id })).status).toBe(204);
    expect(await linked()).toEqual([]);
  });

  it("keeps no fingerprint of what the customer sent with an Idempotency-Key, and refuses the key's retry", async () => {
    const requestChat = () =>
      handlers.requestChat(
        httpEvent({
          pathParameters: { service: "support" },
          headers: { "content-type": "application/x-www-form-urlencoded", "Idempotency-Key": "erase-me" },
          body: "firstName=Anna",
        }),
      );
    const id = JSON.parse((await requestChat()).body)._id as string;
    expect((await call(handlers.chat, "/genesys/1/service/{service}", "DELETE", { service: id })).status).toBe(204);
    const { Items = [] } = await db.client.send(
      new ScanCommand({ TableName: db.tables.sessions, FilterExpression: "attribute_exists(requestHash)" }),
    );
    expect(Items.filter((item) => item.id === id || item.sessionId === id)).toEqual([]);
    expect((await requestChat()).statusCode).toBe(409);
  });
});
