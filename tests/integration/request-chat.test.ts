import { GetItemCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import type { Context } from "aws-lambda";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { WORST_CASE_CALL_MS } from "../../lib/dynamo/limits.ts";
import { dynamoScope } from "../../lib/dynamo/request-scope.ts";
import { StorageUnavailableError } from "../../lib/errors.ts";
import { corsPolicy } from "../../lib/http/cors.ts";
import { requestChatHandler } from "../../lib/http/routes/request-chat.ts";
import { chatIdOf } from "../../lib/session/ids.ts";
import { type DynamoProxy, startTestDynamo, type TestDynamo } from "../support/dynamo.ts";
import { formEvent } from "../support/events.ts";

const now = new Date("2026-11-25T10:00:00Z");
let clock = now;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
let db: TestDynamo;
let proxy: DynamoProxy;
let handler: ReturnType<typeof requestChatHandler>;

beforeAll(async () => {
  db = await startTestDynamo();
  // The stores run the production client configuration (bounded retries, timeouts) through the counting proxy.
  proxy = db.proxy;
  handler = requestChatHandler({
    config: db.config,
    sessions: db.sessions,
    now: () => clock,
    cors: corsPolicy("*"),
    scope: dynamoScope,
  });
  await db.config.putService({ name: "request-chat", ttlSeconds: 3600, chatEndpoint: "gms_builtin", updatedAt: now.toISOString() });
  await db.config.putNotification({ endpoint: "gms_builtin", available: true, updatedAt: now.toISOString() });
  await db.config.putService({ name: "closed", ttlSeconds: 3600, chatEndpoint: "nobody_here", updatedAt: now.toISOString() });
});
afterAll(async () => {
  await db?.close();
});
beforeEach(() => {
  proxy.reset();
  clock = now;
});
afterEach(() => vi.restoreAllMocks());

async function sessionCount(): Promise<number> {
  const { Count } = await db.client.send(
    new ScanCommand({
      TableName: db.tables.sessions,
      Select: "COUNT",
      FilterExpression: "sk = :session",
      ExpressionAttributeValues: { ":session": { S: "session" } },
    }),
  );
  return Count ?? 0;
}

describe("request-chat against dynalite", () => {
  it("answers exactly the create-URL and the id, with no-cache headers", async () => {
    const response = await handler(formEvent("request-chat", { firstName: "Anna", subject: "Billing" }));
    expect(response.statusCode).toBe(200);
    expect(response.headers).toMatchObject({
      "Content-Type": "application/json",
      "Cache-Control": "no-cache, no-store",
      Pragma: "no-cache",
    });
    const body = JSON.parse(response.body);
    expect(Object.keys(body).sort()).toEqual(["_chatIxnAPI-CREATE-URL", "_id"]);
    expect(body._id).toMatch(UUID);
    expect(body["_chatIxnAPI-CREATE-URL"]).toBe(`/genesys/1/service/${body._id}/ixn/chat`);
  });

  it("puts the stage that clients see in front of the create-URL (API Gateway's default endpoint)", async () => {
    const event = formEvent("request-chat", { firstName: "Anna" });
    const staged = { ...event, requestContext: { ...event.requestContext, path: `/prod${event.path}` } };
    const body = JSON.parse((await handler(staged)).body);
    expect(body["_chatIxnAPI-CREATE-URL"]).toBe(`/prod/genesys/1/service/${body._id}/ixn/chat`);
  });

  it("costs one read call and one write call", async () => {
    const response = await handler(formEvent("request-chat", { firstName: "Anna" }));
    expect(response.statusCode).toBe(200);
    expect(proxy.operations).toEqual(["GetItem", "PutItem"]);
  });

  it("writes the session with its data, endpoint and a TTL in epoch seconds", async () => {
    const response = await handler(
      formEvent("request-chat", { firstName: "Anna", _ttl: "120", _chat_endpoint: "elsewhere", _verbose: "false" }),
    );
    const { _id } = JSON.parse(response.body);
    // Kept under its chat id (lib/session/ids.ts), with the session id itself inside.
    const { Item } = await db.client.send(
      new GetItemCommand({ TableName: db.tables.sessions, Key: { id: { S: chatIdOf(_id) }, sk: { S: "session" } } }),
    );
    expect(Item).toEqual({
      id: { S: chatIdOf(_id) },
      sk: { S: "session" },
      sessionId: { S: _id },
      serviceName: { S: "request-chat" },
      chatEndpoint: { S: "gms_builtin" },
      data: { M: { firstName: { S: "Anna" } } },
      createdAt: { S: now.toISOString() },
      ttlSeconds: { N: "120" },
      expiresAt: { N: String(now.getTime() / 1000 + 120) },
    });
  });

  it("stores context keys that collide with JavaScript property names", async () => {
    const form = { constructor: "c", toString: "t", hasOwnProperty: "h", valueOf: "v" };
    const response = await handler(formEvent("request-chat", form));
    expect(response.statusCode).toBe(200);
    expect((await db.sessions.get(chatIdOf(JSON.parse(response.body)._id)))?.data).toEqual(form);
  });

  it("uses the service's default TTL when the request has none", async () => {
    const { _id } = JSON.parse((await handler(formEvent("request-chat", {}))).body);
    const { Item } = await db.client.send(
      new GetItemCommand({ TableName: db.tables.sessions, Key: { id: { S: chatIdOf(_id) }, sk: { S: "session" } } }),
    );
    expect(Item?.expiresAt).toEqual({ N: String(now.getTime() / 1000 + 3600) });
  });

  it("adds the stored attributes and the expiry with _verbose=True", async () => {
    const body = JSON.parse((await handler(formEvent("request-chat", { firstName: "Anna", _verbose: "True" }))).body);
    expect(body).toMatchObject({
      firstName: "Anna",
      _service_name: "request-chat",
      _chat_endpoint: "gms_builtin",
      _ttl: "3600",
      _expires_at: "2026-11-25T11:00:00.000Z",
    });
  });

  it("answers 503 with Retry-After and stores nothing when no agent is available", async () => {
    const before = await sessionCount();
    const response = await handler(formEvent("closed", { firstName: "Anna" }));
    expect(response.statusCode).toBe(503);
    expect(response.headers?.["Retry-After"]).toBe("10");
    expect(JSON.parse(response.body)).toEqual({ message: expect.any(String), exception: "NoAgentAvailableException" });
    expect(proxy.operations).toEqual(["GetItem"]);
    expect(await sessionCount()).toBe(before);
  });

  it("answers 404 for a service that is not configured", async () => {
    const response = await handler(formEvent("Chat9", {}));
    expect(response.statusCode).toBe(404);
    expect(JSON.parse(response.body).exception).toBe("NotFoundException");
  });

  it.each(["0", "-5", "abc", "604801", "1.5"])("refuses _ttl=%j with a 400 before touching storage", async (ttl) => {
    const response = await handler(formEvent("request-chat", { firstName: "Anna", _ttl: ttl }));
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toEqual({ message: expect.any(String), exception: "BadRequestException" });
    expect(proxy.operations).toEqual([]);
  });

  it("keeps business data out of the log, and logs what the request cost in DynamoDB", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    await handler(formEvent("request-chat", { email: "anna@example.com" }));
    expect(log).toHaveBeenCalledTimes(1);
    const line = JSON.parse(String(log.mock.calls[0]?.[0]));
    expect(line).toMatchObject({ status: 200, route: "/genesys/1/service/{service}", requestId: "test-request" });
    // What the request cost in DynamoDB, as the request scope passed to the handler measured it.
    expect(line.dynamodb).toEqual(proxy.cost());
    expect(line.dynamodb).toEqual({ calls: 2, readUnits: 1, writeUnits: 1 });
    expect(JSON.stringify(log.mock.calls)).not.toContain("anna@example.com");
  });
});

describe("request-chat when DynamoDB fails", () => {
  it.each([
    ["throttles", "throttle"],
    ["answers 5xx", "server-error"],
    ["does not answer", "hang"],
  ] as const)("answers 503 with Retry-After after 3 bounded attempts when it %s, and stores nothing", async (_name, fault) => {
    const before = await sessionCount();
    proxy.fault = fault;
    const failed = await handler(formEvent("request-chat", { firstName: "Anna" }));
    expect(failed.statusCode).toBe(503);
    expect(failed.headers?.["Retry-After"]).toBe("2");
    expect(JSON.parse(failed.body)).toEqual({ message: expect.any(String), exception: "StorageUnavailableException" });
    expect(proxy.operations).toEqual(["GetItem", "GetItem", "GetItem"]);
    proxy.fault = "none";
    expect(await sessionCount()).toBe(before);
  });

  it.each(["throttle", "server-error"] as const)("keeps to its own retry schedule when a %s answer asks for 5 s more", async (fault) => {
    proxy.fault = fault;
    proxy.retryAfterSeconds = 5;
    const failure = await db.config.getService("request-chat").catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StorageUnavailableError);
    // The SDK's own account of the call: three attempts, and only the configured waits between them.
    expect((failure as StorageUnavailableError).cause).toMatchObject({ $metadata: { attempts: 3, totalRetryDelay: 50 } });
    expect(proxy.operations).toEqual(["GetItem", "GetItem", "GetItem"]);
  });

  it("answers 503 when the connection is refused, stores nothing, then recovers without a restart", async () => {
    const before = await sessionCount();
    await proxy.refusing(async () => {
      const failed = await handler(formEvent("request-chat", { firstName: "Anna" }));
      expect(failed.statusCode).toBe(503);
      expect(JSON.parse(failed.body).exception).toBe("StorageUnavailableException");
      expect(await sessionCount()).toBe(before);
    });
    expect((await handler(formEvent("request-chat", { firstName: "Anna" }))).statusCode).toBe(200);
    expect(await sessionCount()).toBe(before + 1);
  });

  it("starts no DynamoDB call that could outlive the function: too little time left is a 503 at once", async () => {
    const before = await sessionCount();
    const lambda = (remainingMs: number) => ({ awsRequestId: "deadline", getRemainingTimeInMillis: () => remainingMs }) as Context;
    const late = await handler(formEvent("request-chat", { firstName: "Anna" }), lambda(WORST_CASE_CALL_MS));
    expect(late.statusCode).toBe(503);
    expect(JSON.parse(late.body).exception).toBe("StorageUnavailableException");
    expect(proxy.operations).toEqual([]);
    expect(await sessionCount()).toBe(before);
    expect((await handler(formEvent("request-chat", { firstName: "Anna" }), lambda(15_000))).statusCode).toBe(200);
  });

  it("stores nothing when the write itself fails", async () => {
    const before = await sessionCount();
    proxy.fault = "fail-writes";
    const failed = await handler(formEvent("request-chat", { firstName: "Anna" }));
    expect(failed.statusCode).toBe(503);
    expect(proxy.operations).toEqual(["GetItem", "PutItem", "PutItem", "PutItem"]);
    expect(await sessionCount()).toBe(before);
  });
});

describe("request-chat with an Idempotency-Key", () => {
  const retry = (key: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
    handler(
      formEvent("request-chat", form, {
        headers: { "Content-Type": "application/x-www-form-urlencoded", "Idempotency-Key": key, ...headers },
      }),
    );

  it("answers a retry with the same id and creates nothing new", async () => {
    const before = await sessionCount();
    const first = await retry("key-same-body", { firstName: "Anna", subject: "Billing" });
    expect(first.statusCode).toBe(200);
    // The route beside the key's record, the key recorded, the session stored.
    expect(proxy.operations.sort()).toEqual(["GetItem", "GetItem", "PutItem", "PutItem"]);
    const again = await retry("key-same-body", { subject: "Billing", firstName: "Anna" });
    expect(again.statusCode).toBe(200);
    expect(JSON.parse(again.body)).toEqual(JSON.parse(first.body));
    expect(await sessionCount()).toBe(before + 1);
  });

  it("answers the retry even when no agent is available any more", async () => {
    const first = JSON.parse((await retry("key-then-closed", { firstName: "Anna" })).body);
    await db.config.putNotification({ endpoint: "gms_builtin", available: false, updatedAt: now.toISOString() });
    try {
      const again = await retry("key-then-closed", { firstName: "Anna" });
      expect(again.statusCode).toBe(200);
      expect(JSON.parse(again.body)._id).toBe(first._id);
      expect((await retry("key-new-while-closed", { firstName: "Anna" })).statusCode).toBe(503);
    } finally {
      await db.config.putNotification({ endpoint: "gms_builtin", available: true, updatedAt: now.toISOString() });
    }
  });

  it("answers 409 when the key comes back with a different body, or after the session ended", async () => {
    await retry("key-reused", { firstName: "Anna", _ttl: "60" });
    const reused = await retry("key-reused", { firstName: "Bob", _ttl: "60" });
    expect(reused.statusCode).toBe(409);
    expect(JSON.parse(reused.body)).toEqual({ message: expect.any(String), exception: "IdempotencyKeyConflictException" });
    clock = new Date(now.getTime() + 61_000);
    expect((await retry("key-reused", { firstName: "Anna", _ttl: "60" })).statusCode).toBe(409);
  });

  it("scopes keys by gms_user", async () => {
    const anna = JSON.parse((await retry("key-shared", { firstName: "A" }, { gms_user: "anna" })).body);
    const bob = JSON.parse((await retry("key-shared", { firstName: "A" }, { gms_user: "bob" })).body);
    expect(anna._id).not.toBe(bob._id);
  });

  it("creates exactly one session from many parallel retries", async () => {
    const before = await sessionCount();
    const answers = await Promise.all(Array.from({ length: 25 }, () => retry("key-parallel", { firstName: "Anna" })));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(25).fill(200));
    expect(new Set(answers.map((a) => JSON.parse(a.body)._id)).size).toBe(1);
    expect(await sessionCount()).toBe(before + 1);
  });

  it.each(["", "a b", "x".repeat(256), "caf\u00e9"])("refuses the key %j with a 400", async (key) => {
    const response = await retry(key, { firstName: "Anna" });
    expect(response.statusCode).toBe(400);
    expect(proxy.operations).toEqual([]);
  });
});
