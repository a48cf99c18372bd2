import { PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { Context } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { DEADLINE_MARGIN_MS, WORST_CASE_CALL_MS } from "../../lib/dynamo/limits.ts";
import { migrateLayouts } from "../../lib/dynamo/migrations.ts";
import { dynamoScope } from "../../lib/dynamo/request-scope.ts";
import { corsPolicy } from "../../lib/http/cors.ts";
import { adminHandler } from "../../lib/http/routes/admin.ts";
import { agentHandler } from "../../lib/http/routes/agent.ts";
import { chatHandler } from "../../lib/http/routes/chat.ts";
import { requestChatHandler } from "../../lib/http/routes/request-chat.ts";
import { idempotencyDigest, requestFingerprint } from "../../lib/session/idempotency.ts";
import { chatIdOf } from "../../lib/session/ids.ts";
import { startTestDynamo, type TestDynamo } from "../support/dynamo.ts";
import { callRoute, httpEvent, type RouteAnswer } from "../support/events.ts";
import { pickOn, profileFor, testService } from "../support/service.ts";

const start = new Date("2026-11-25T10:00:00Z");
let clock = start;
let db: TestDynamo;
let handlers: {
  requestChat: ReturnType<typeof requestChatHandler>;
  chat: ReturnType<typeof chatHandler>;
  agent: ReturnType<typeof agentHandler>;
};

beforeAll(async () => {
  vi.spyOn(console, "log").mockImplementation(() => {});
  db = await startTestDynamo();
  const deps = { ...testService(db, { now: () => clock }), cors: corsPolicy("*") };
  await pickOn(db, ["support_q", "other_q"]);
  handlers = { requestChat: requestChatHandler(deps), chat: chatHandler(deps), agent: agentHandler(deps) };
  // A service whose endpoint has no availability notification: only ready agents open it.
  await db.config.putService({ name: "support", ttlSeconds: 3600, chatEndpoint: "support_q", updatedAt: start.toISOString() });
});
afterAll(async () => {
  vi.restoreAllMocks();
  await db?.close();
});
beforeEach(() => {
  clock = start;
});

const call = callRoute;

const B = "/genesys/1/service/{service}/ixn/chat";
const customer = (op: string, id: string, form: Record<string, string> = {}, query: Record<string, string> | null = null) =>
  call(handlers.chat, op === "" ? B : `${B}/${op}`, "POST", { service: id }, form, query);
const agent = (agentId: string, op: string, id: string, form: Record<string, string> = {}) =>
  call(handlers.agent, `/genesys/1/agent/{agentId}/chats/{chatId}/${op}`, "POST", { agentId, chatId: chatIdOf(id) }, form);
const presence = async (agentId: string, form: Record<string, string>) => {
  await profileFor(db, agentId, ["support_q", "other_q", "lonely_q"]);
  return call(handlers.agent, "/genesys/1/agent/{agentId}/presence", "PUT", { agentId }, form);
};
const queue = (agentId: string, endpoint: string, page: Record<string, string> = {}) =>
  call(handlers.agent, "/genesys/1/agent/{agentId}/queue", "GET", { agentId }, {}, { endpoint, ...page });
const service = (method: string, id: string) => call(handlers.chat, "/genesys/1/service/{service}", method, { service: id });

async function openSession(form: Record<string, string> = {}): Promise<string> {
  const answer = await call(handlers.requestChat, "/genesys/1/service/{service}", "POST", { service: "support" }, form);
  expect(answer.status).toBe(200);
  return answer.body._id;
}

describe("a whole conversation, in process against dynalite", () => {
  it("goes from request-chat to DELETE", async () => {
    // Nobody is ready: request-chat is closed.
    expect((await call(handlers.requestChat, "/genesys/1/service/{service}", "POST", { service: "support" })).status).toBe(503);
    const ready = await presence("anna", { endpoint: "support_q", state: "ready", nickname: "Anna" });
    expect(ready).toMatchObject({ status: 200, body: { state: "ready", nickname: "Anna" } });
    const id = await openSession({ firstName: "Bob", orderId: "A-17" });
    expect((await service("GET", id)).body).toEqual({ firstName: "Bob", orderId: "A-17" });

    const created = await customer("", id, { firstName: "Bob", lastName: "Smith", subject: "Order", topic: "late" });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      chatIxnState: "CONNECTED",
      transcriptPosition: "1",
      transcriptToShow: [["Notice.Joined", "Bob Smith", "has joined the session", "0", "CLIENT"]],
      startedAt: "2026-11-25T10:00:00Z",
    });
    expect(created.body.chatSessionId).toMatch(/^[0-9A-F]{16}$/);

    const waiting = await queue("anna", "support_q", { attachedData: "true" });
    expect(waiting.body.chats).toEqual([
      expect.objectContaining({
        id: chatIdOf(id),
        nickname: "Bob Smith",
        attachedData: { firstName: "Bob", orderId: "A-17", topic: "late" },
      }),
    ]);

    clock = new Date(start.getTime() + 5000);
    const accepted = await agent("anna", "accept", id);
    expect(accepted.body.chatIxnState).toBe("TRANSCRIPT");
    expect(accepted.body.transcriptToShow.at(-1)).toEqual(["Notice.Joined", "Anna", "has joined the session", "5", "AGENT"]);
    expect((await queue("anna", "support_q")).body.chats).toEqual([]);

    await customer("startTyping", id);
    const sent = await customer("send", id, { message: "Where is my order?" });
    expect(sent.body.transcriptToShow).toEqual([["Message.Text", "Bob Smith", "Where is my order?", "5", "CLIENT"]]);
    expect(sent.body.transcriptPosition).toBe("4");

    const agentView = await agent("anna", "refresh", id, { transcriptPosition: "2" });
    expect(agentView.body.transcriptToShow.map((e: string[]) => [e[0], e[4]])).toEqual([
      ["Notice.TypingStarted", "CLIENT"],
      ["Message.Text", "CLIENT"],
    ]);
    await agent("anna", "startTyping", id);
    await agent("anna", "stopTyping", id);
    await agent("anna", "send", id, { message: "It ships today." });

    const polled = await customer("refresh", id, {}, { transcriptPosition: "4" });
    expect(polled.body.transcriptToShow).toEqual([
      ["Notice.TypingStarted", "Anna", "", "5", "AGENT"],
      ["Notice.TypingStopped", "Anna", "", "5", "AGENT"],
      ["Message.Text", "Anna", "It ships today.", "5", "AGENT"],
    ]);
    expect(polled.body.transcriptPosition).toBe("7");
    const nothingNew = await customer("refresh", id, { transcriptPosition: "7" });
    expect(nothingNew.body).toMatchObject({ transcriptToShow: [], transcriptPosition: "7" });

    const ended = await agent("anna", "disconnect", id);
    expect(ended.body.chatIxnState).toBe("DISCONNECTED");
    const final = await customer("refresh", id, { transcriptPosition: "7" });
    expect(final).toMatchObject({
      status: 200,
      body: { chatIxnState: "DISCONNECTED", transcriptToShow: [["Notice.Left", "Anna", "has left the session", "5", "AGENT"]] },
    });
    expect((await customer("send", id, { message: "hello?" })).status).toBe(409);

    expect((await service("DELETE", id)).status).toBe(204);
    expect((await service("GET", id)).status).toBe(404);
    expect((await customer("refresh", id)).status).toBe(404);
  });

  it("answers a second create with the same chat, and _verbose with the follow-up URLs", async () => {
    const id = await openSession();
    const first = await customer("", id, { firstName: "Eve" });
    const second = await customer("", id, { firstName: "Mallory", _verbose: "true" });
    expect(second.body.chatSessionId).toBe(first.body.chatSessionId);
    expect(second.body.transcriptToShow).toHaveLength(1);
    const base = `/genesys/1/service/${id}/ixn/chat`;
    expect(second.body).toMatchObject({
      userId: expect.any(String),
      secureKey: expect.any(String),
      _chatIxnAPI_SEND_URL: `${base}/send`,
      _chatIxnAPI_REFRESH_URL: `${base}/refresh`,
      _chatIxnAPI_START_TYPING_URL: `${base}/startTyping`,
      _chatIxnAPI_STOP_TYPING_URL: `${base}/stopTyping`,
      _chatIxnAPI_DISCONNECT_URL: `${base}/disconnect`,
      _chatIxnAPI_REFRESH_FROM_START_URL: `${base}/refresh?transcriptPosition=0`,
    });
  });

  it("puts the stage that clients see in front of the follow-up URLs", async () => {
    const id = await openSession();
    const response = await handlers.chat(
      httpEvent({
        resource: B,
        path: `/genesys/1/service/${id}/ixn/chat`,
        pathParameters: { service: id },
        requestContext: { requestId: "staged", path: `/prod/genesys/1/service/${id}/ixn/chat` } as ReturnType<
          typeof httpEvent
        >["requestContext"],
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "_verbose=true",
      }),
    );
    expect(JSON.parse(response.body)._chatIxnAPI_SEND_URL).toBe(`/prod/genesys/1/service/${id}/ixn/chat/send`);
  });

  it("answers wrong-state calls with clear 4xx errors", async () => {
    await presence("carl", { endpoint: "support_q", state: "ready" });
    const id = await openSession();
    expect(await customer("send", id, { message: "hi" })).toMatchObject({ status: 409, body: { exception: "InvalidChatStateException" } });
    expect((await customer("refresh", id)).status).toBe(409);
    await customer("", id);
    expect((await customer("send", id, { message: "" })).status).toBe(400);
    expect((await customer("refresh", id, { transcriptPosition: "-1" })).status).toBe(400);
    expect((await agent("carl", "send", id, { message: "hi" })).body.exception).toBe("InvalidChatStateException");
    expect((await agent("carl", "accept", id)).status).toBe(200);
    expect((await agent("carl", "accept", id)).status).toBe(200);
    await presence("dora", { endpoint: "support_q", state: "ready" });
    expect(await agent("dora", "accept", id)).toMatchObject({ status: 409, body: { exception: "ChatAlreadyAcceptedException" } });
    expect(await agent("dora", "send", id, { message: "mine?" })).toMatchObject({
      status: 403,
      body: { exception: "NotYourChatException" },
    });
    expect((await agent("dora", "refresh", id)).status).toBe(403);
    expect((await agent("dora", "disconnect", id)).status).toBe(403);
    expect((await agent("carl", "send", "00000000-0000-4000-8000-000000000000", { message: "x" })).status).toBe(404);
    expect((await agent("bad agent", "send", id, { message: "x" })).status).toBe(400);
    expect((await presence("erin", { endpoint: "support_q", state: "maybe" })).status).toBe(400);
  });

  it("after DELETE, refuses a retry with the session's Idempotency-Key instead of reopening the old chat", async () => {
    await presence("kim", { endpoint: "support_q", state: "ready", nickname: "Kim" });
    const requestChat = () =>
      handlers.requestChat(
        httpEvent({
          pathParameters: { service: "support" },
          headers: { "content-type": "application/x-www-form-urlencoded", "Idempotency-Key": "delete-then-retry" },
          body: "firstName=Ann",
        }),
      );
    const first = await requestChat();
    expect(first.statusCode).toBe(200);
    const id = JSON.parse(first.body)._id as string;
    await customer("", id);
    await customer("send", id, { message: "my card number" });
    expect((await service("DELETE", id)).status).toBe(204);

    const retry = await requestChat();
    expect(retry.statusCode).toBe(409);
    expect(JSON.parse(retry.body).exception).toBe("IdempotencyKeyConflictException");
    expect((await service("GET", id)).status).toBe(404);
    expect((await customer("refresh", id)).status).toBe(404);
    expect((await db.sessions.get(chatIdOf(id)))?.data).toEqual({});
  });

  it("answers ids that are not session ids, or chat ids, with 404 before any DynamoDB call", async () => {
    db.proxy.reset();
    for (const id of [
      "x".repeat(3000),
      "not-a-session",
      "6F1C2B1E-0C0A-4B8E-9D6A-2F7F0E6B5A41x",
      "x".repeat(21),
      "x".repeat(23),
      "a+b/c=d".repeat(3),
    ]) {
      expect((await service("GET", id)).status).toBe(404);
      expect((await customer("refresh", id)).status).toBe(404);
      const accept = await call(handlers.agent, "/genesys/1/agent/{agentId}/chats/{chatId}/accept", "POST", { agentId: "kim", chatId: id });
      expect([accept.status, accept.body.message]).toEqual([404, "No such chat: it may have ended and expired, or been erased"]);
    }
    expect(db.proxy.calls).toEqual([]);
  });

  it("keeps a long nickname whole at its 64-character cut, never half an emoji", async () => {
    await presence("kim", { endpoint: "support_q", state: "ready", nickname: "Kim" });
    const nickname = (await customer("", await openSession(), { userDisplayName: `${"a".repeat(63)}😀😀` })).body
      .transcriptToShow[0][1] as string;
    expect(nickname).toBe(`${"a".repeat(63)}😀`);
    expect(nickname.isWellFormed()).toBe(true);
  });

  it("names the customer by userDisplayName, else first and last name, with blank values counting as absent", async () => {
    await presence("kim", { endpoint: "support_q", state: "ready", nickname: "Kim" });
    const joinedAs = async (form: Record<string, string>) => (await customer("", await openSession(), form)).body.transcriptToShow[0][1];
    expect(await joinedAs({ userDisplayName: "  Lou B  ", firstName: "Louise" })).toBe("Lou B");
    expect(await joinedAs({ userDisplayName: "   ", firstName: " Ann ", lastName: "Lee" })).toBe("Ann Lee");
    expect(await joinedAs({ userDisplayName: " ", firstName: " " })).toBe("Customer");
  });

  it("refuses a bad transcriptPosition before writing anything, on every call that writes", async () => {
    await presence("kim", { endpoint: "support_q", state: "ready", nickname: "Kim" });
    const id = await openSession();
    await customer("", id, { firstName: "Lou" });
    expect((await agent("kim", "accept", id)).status).toBe(200);
    const bad = { transcriptPosition: "abc" };
    for (const op of ["send", "startTyping", "stopTyping", "disconnect"]) {
      expect(await customer(op, id, { message: "again?", ...bad }), `customer ${op}`).toMatchObject({
        status: 400,
        body: { exception: "BadRequestException" },
      });
      expect(await agent("kim", op, id, { message: "again?", ...bad }), `agent ${op}`).toMatchObject({
        status: 400,
        body: { exception: "BadRequestException" },
      });
    }
    expect(await customer("refresh", id, { message: "again?", ...bad })).toMatchObject({ status: 400 });
    // Only the two joins were written, and the chat still runs.
    const after = await customer("refresh", id);
    expect(after.body.transcriptToShow.map((event: string[]) => event[0])).toEqual(["Notice.Joined", "Notice.Joined"]);
    expect(after.body.chatIxnState).toBe("TRANSCRIPT");
  });

  it("refuses to let an agent who is not ready on the endpoint accept", async () => {
    await presence("fred", { endpoint: "support_q", state: "ready" });
    const id = await openSession();
    await customer("", id);
    await presence("gina", { endpoint: "other_q", state: "ready" });
    expect((await agent("gina", "accept", id)).status).toBe(409);
    await presence("fred", { endpoint: "support_q", state: "not_ready" });
    expect((await agent("fred", "accept", id)).status).toBe(409);
  });

  it("lets exactly one of two racing agents accept", async () => {
    await presence("hank", { endpoint: "support_q", state: "ready" });
    await presence("iris", { endpoint: "support_q", state: "ready" });
    const id = await openSession();
    await customer("", id);
    const answers = await Promise.all([agent("hank", "accept", id), agent("iris", "accept", id)]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    const transcript = (await customer("refresh", id)).body.transcriptToShow as string[][];
    expect(transcript.filter((e) => e[0] === "Notice.Joined" && e[4] === "AGENT")).toHaveLength(1);
  });

  it("gives events written at the same moment distinct positions in order, with no gap a reader is left in and no duplicate", async () => {
    await presence("jack", { endpoint: "support_q", state: "ready" });
    const id = await openSession();
    await customer("", id);
    await agent("jack", "accept", id);
    const writes = Array.from({ length: 20 }, (_, i) => [
      customer("send", id, { message: `c${i}` }),
      agent("jack", "send", id, { message: `a${i}` }),
    ]).flat();
    const answers = await Promise.all(writes);
    expect(answers.filter((a) => a.status !== 200).map((a) => JSON.stringify(a.body))).toEqual([]);
    // A claim whose answer was lost while the store was slow leaves a position nobody writes; once
    // it is old, readers pass it over. A client refreshes until it is current, as GMS clients do.
    clock = new Date(clock.getTime() + 60_000);
    const texts: string[] = [];
    let position = "0";
    for (let refreshes = 0; refreshes < 50; refreshes += 1) {
      const page = await customer("refresh", id, { transcriptPosition: position });
      texts.push(...(page.body.transcriptToShow as string[][]).filter((e) => e[0] === "Message.Text").map((e) => e[2] ?? ""));
      if (page.body.transcriptPosition === position) break;
      position = page.body.transcriptPosition;
    }
    expect(texts).toHaveLength(40);
    expect(new Set(texts).size).toBe(40);
    const { Items = [] } = await db.client.send(
      new QueryCommand({
        TableName: db.tables.sessions,
        KeyConditionExpression: "id = :id AND begins_with(sk, :e)",
        ExpressionAttributeValues: { ":id": chatIdOf(id), ":e": "e#" },
      }),
    );
    expect(position).toBe(String(Items.length));
    expect(Items.map((item) => item.position)).toEqual(Array.from({ length: Items.length }, (_, i) => i + 1));
    expect(Items.filter((item) => item.givenUp !== true)).toHaveLength(42);
    // The transcript expires with its session: every event carries the session's TTL attribute.
    const session = await db.sessions.get(chatIdOf(id));
    expect(new Set(Items.map((item) => item.expiresAt))).toEqual(new Set([session!.expiresAt]));
    // Each writer's answer starts at its own message (later ones may follow).
    for (const [i, a] of answers.entries()) expect(a.body.transcriptToShow[0][2]).toBe(`${i % 2 === 0 ? "c" : "a"}${Math.floor(i / 2)}`);
  });

  it("serves a refresh with one Query whose cost follows the new events, not the transcript", async () => {
    await presence("lena", { endpoint: "support_q", state: "ready" });
    const id = await openSession({ firstName: "Olga", lastName: "Ivanova", email: "olga@example.com", orderId: "B-99" });
    await customer("", id, { firstName: "Olga", subject: "Delivery" });
    await agent("lena", "accept", id);
    for (let i = 0; i < 30; i++) {
      await customer("send", id, { message: `Customer line ${i}: ${"lorem ipsum ".repeat(8)}` });
      await agent("lena", "send", id, { message: `Agent line ${i}: ${"dolor sit amet ".repeat(8)}` });
    }
    const costOf = async (position: string) => {
      db.proxy.reset();
      const answer = await customer("refresh", id, { transcriptPosition: position });
      expect(answer.status).toBe(200);
      return db.proxy.cost();
    };
    const latest = await costOf("60");
    const everything = await costOf("0");
    expect(latest).toEqual({ calls: 1, readUnits: 1, writeUnits: 0 });
    expect(everything.calls).toBe(1);
    expect(everything.readUnits).toBeGreaterThan(latest.readUnits);
  });

  it("forgets a session when it expires, whatever TTL has not yet removed", async () => {
    const id = await openSession({ _ttl: "60" });
    await customer("", id);
    clock = new Date(start.getTime() + 61_000);
    expect((await service("GET", id)).status).toBe(404);
    expect((await customer("refresh", id)).status).toBe(404);
    expect((await customer("", id)).status).toBe(404);
    expect((await service("DELETE", id)).status).toBe(404);
  });

  it("starts no write that could outlive the function: a slow claim leaves no time for the write, and nothing is written", async () => {
    await presence("kim", { endpoint: "support_q", state: "ready" });
    const id = await openSession();
    await customer("", id);
    const metered = chatHandler({ ...testService(db, { now: () => clock }), cors: corsPolicy("*"), scope: dynamoScope });
    // Time for one call and 300 ms more; DynamoDB takes 600 ms to answer the first (the position's claim).
    const lambda = { awsRequestId: "deadline", getRemainingTimeInMillis: () => WORST_CASE_CALL_MS + DEADLINE_MARGIN_MS + 300 } as Context;
    db.proxy.reset();
    db.proxy.delayMs = 600;
    const response = await metered(
      httpEvent({
        resource: `${B}/send`,
        pathParameters: { service: id },
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "message=late",
      }),
      lambda,
    );
    db.proxy.delayMs = 0;
    expect(response.statusCode).toBe(503);
    expect(JSON.parse(response.body).exception).toBe("StorageUnavailableException");
    expect(db.proxy.operations).toEqual(["UpdateItem"]);
    const texts = ((await customer("refresh", id)).body.transcriptToShow as string[][]).map((e) => e[2]);
    expect(texts).not.toContain("late");
  });

  it("tells a writer whose claimed positions are all taken to try again (503), never a 500, after a bounded number of calls", async () => {
    await presence("oli", { endpoint: "support_q", state: "ready" });
    const id = await openSession();
    await customer("", id);
    db.proxy.reset();
    // Each write finds another event at its position, returned with the failure as DynamoDB does.
    db.proxy.fault = "taken-writes";
    const answer = await customer("send", id, { message: "crowded" });
    db.proxy.fault = "none";
    expect([answer.status, answer.body.exception]).toEqual([503, "StorageUnavailableException"]);
    // Three claims and their writes; between them, the counter catches up with the transcript's end.
    const claimAndWrite = ["UpdateItem", "PutItem"];
    const catchUp = ["Query", "UpdateItem"];
    expect(db.proxy.operations).toEqual([...claimAndWrite, ...catchUp, ...claimAndWrite, ...catchUp, ...claimAndWrite]);
    const texts = ((await customer("refresh", id)).body.transcriptToShow as string[][]).map((e) => e[2]);
    expect(texts).not.toContain("crowded");
  });

  it("logs what each request cost in DynamoDB, as the proxy in front of it counted, whatever the operations", async () => {
    const scoped = { ...testService(db, { now: () => clock }), cors: corsPolicy("*"), scope: dynamoScope };
    const wired = { chat: chatHandler(scoped), agent: agentHandler(scoped), admin: adminHandler(scoped) };
    const id = await openSession();
    await profileFor(db, "nia", ["support_q"]);
    const log = vi.mocked(console.log);
    const operations = new Set<string>();
    const expectLoggedCost = async (request: () => Promise<RouteAnswer>) => {
      db.proxy.reset();
      expect((await request()).status).toBeLessThan(300);
      expect(JSON.parse(String(log.mock.calls.at(-1)?.[0])).dynamodb).toEqual(db.proxy.cost());
      for (const operation of db.proxy.operations) operations.add(operation);
    };
    await expectLoggedCost(() => call(wired.chat, B, "POST", { service: id }, { firstName: "Mia" }));
    await expectLoggedCost(() =>
      call(wired.agent, "/genesys/1/agent/{agentId}/presence", "PUT", { agentId: "nia" }, { endpoint: "support_q", state: "ready" }),
    );
    await expectLoggedCost(() =>
      call(wired.agent, "/genesys/1/agent/{agentId}/chats/{chatId}/accept", "POST", { agentId: "nia", chatId: chatIdOf(id) }),
    );
    await expectLoggedCost(() => call(wired.chat, `${B}/send`, "POST", { service: id }, { message: "hello" }));
    await expectLoggedCost(() => call(wired.chat, "/genesys/1/service/{service}", "DELETE", { service: id }));
    await expectLoggedCost(() => call(wired.admin, "/genesys/1/admin/services/{name}", "PUT", { name: "costly" }, { _ttl: "60" }));
    await expectLoggedCost(() => call(wired.admin, "/genesys/1/admin/services/{name}", "GET", { name: "costly" }));
    await expectLoggedCost(() => call(wired.admin, "/genesys/1/admin/services/{name}", "DELETE", { name: "costly" }));
    expect([...operations]).toEqual(expect.arrayContaining(["DeleteItem", "GetItem", "PutItem", "Query", "UpdateItem", "BatchWriteItem"]));
  });

  it("stops counting an agent whose presence was not renewed", async () => {
    await db.config.putService({ name: "lonely", ttlSeconds: 3600, chatEndpoint: "lonely_q", updatedAt: start.toISOString() });
    await presence("kim", { endpoint: "lonely_q", state: "ready" });
    const open = () => call(handlers.requestChat, "/genesys/1/service/{service}", "POST", { service: "lonely" });
    expect((await open()).status).toBe(200);
    clock = new Date(start.getTime() + 59_000);
    expect((await open()).status).toBe(200);
    clock = new Date(start.getTime() + 60_000);
    expect((await open()).status).toBe(503);
  });
});

describe("sessions opened before chat ids (kept under their session id)", () => {
  /** A session, its waiting chat and its opening event, as versions before chat ids wrote them. */
  async function legacyChat(): Promise<string> {
    const id = crypto.randomUUID();
    const expiresAt = Math.floor(start.getTime() / 1000) + 3600;
    const put = (Item: Record<string, unknown>) => db.client.send(new PutCommand({ TableName: db.tables.sessions, Item }));
    await put({
      id,
      sk: "session",
      serviceName: "support",
      chatEndpoint: "support_q",
      data: { orderId: "L-1" },
      createdAt: start.toISOString(),
      ttlSeconds: 3600,
      expiresAt,
    });
    await put({
      id,
      sk: "state",
      chatSessionId: "0123456789ABCDEF",
      phase: "WAITING",
      startedAt: start.toISOString(),
      endpoint: "support_q",
      customerNickname: "Lea",
      customer: { firstName: "Lea" },
      userId: "U",
      secureKey: "K",
      queueEndpoint: "support_q",
      queuedAt: start.toISOString(),
      expiresAt,
      lastPosition: 1,
    });
    await put({
      id,
      sk: "e#0000000001",
      position: 1,
      type: "Notice.Joined",
      nickname: "Lea",
      text: "has joined the session",
      party: "CLIENT",
      offset: 0,
      at: start.toISOString(),
      expiresAt,
    });
    return id;
  }

  it("keep working for the customer and, by the session id as chat id, for the agent", async () => {
    const id = await legacyChat();
    await migrateLayouts(db.client, db.tables, db, start);
    await presence("leo", { endpoint: "support_q", state: "ready", nickname: "Leo" });
    // The queue names it by the id it had: its session id, which is its chat id.
    expect((await queue("leo", "support_q")).body.chats.map((chat: { id: string }) => chat.id)).toContain(id);
    const take = (op: string, form: Record<string, string> = {}) =>
      call(handlers.agent, `/genesys/1/agent/{agentId}/chats/{chatId}/${op}`, "POST", { agentId: "leo", chatId: id }, form);
    expect((await take("accept")).body).toMatchObject({ chatIxnState: "TRANSCRIPT", chatId: id });
    expect((await customer("send", id, { message: "Still there?" })).status).toBe(200);
    expect((await take("send", { message: "Yes." })).status).toBe(200);
    const seen = await customer("refresh", id, { transcriptPosition: "2" });
    expect(seen.body.transcriptToShow.map((event: string[]) => event[2])).toEqual(["Still there?", "Yes."]);
    expect((await service("GET", id)).body).toEqual({ orderId: "L-1" });
    expect((await service("DELETE", id)).status).toBe(204);
    expect((await customer("refresh", id)).status).toBe(404);
  });

  it("answers a retry of a key recorded before chat ids with the session it opened then", async () => {
    const id = await legacyChat();
    const headers = { "content-type": "application/x-www-form-urlencoded", "Idempotency-Key": `legacy-${id}` };
    const event = httpEvent({ pathParameters: { service: "support" }, headers, body: "orderId=L-1" });
    const digest = idempotencyDigest("support", { key: `legacy-${id}`, user: undefined });
    const fingerprint = requestFingerprint("support", { orderId: "L-1" });
    // The record as versions before chat ids wrote it: no chat id, so the session is under its id.
    await db.client.send(
      new PutCommand({
        TableName: db.tables.sessions,
        Item: {
          id: `key#${digest}`,
          sk: "idempotency",
          sessionId: id,
          requestHash: fingerprint,
          expiresAt: Math.floor(start.getTime() / 1000) + 3600,
        },
      }),
    );
    const retried = await handlers.requestChat(event);
    expect(JSON.parse(retried.body)._id).toBe(id);
    // Nothing was opened beside it under its chat id.
    expect(await db.sessions.get(chatIdOf(id))).toBeUndefined();
  });
});
