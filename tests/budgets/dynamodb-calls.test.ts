import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { REQUESTS, SEED_ITEMS, SESSION_ID } from "../../bench/fixtures.ts";
import { corsPolicy } from "../../lib/http/cors.ts";
import { adminHandler } from "../../lib/routes/admin.ts";
import { agentHandler } from "../../lib/routes/agent.ts";
import { chatHandler } from "../../lib/routes/chat.ts";
import { requestChatHandler } from "../../lib/routes/request-chat.ts";
import { startTestDynamo, type TestDynamo } from "../support/dynamo.ts";
import { httpEvent } from "../support/events.ts";

/**
 * DynamoDB call budgets: the most calls (and read units) each kind of request may make, read from
 * the request's own log line. A change that adds a round trip to a hot path fails here.
 */
let db: TestDynamo;
let handlers: Record<string, (event: APIGatewayProxyEvent) => Promise<{ statusCode: number }>>;

beforeAll(async () => {
  db = await startTestDynamo();
  for (const { table, item } of SEED_ITEMS) {
    await db.client.send(new PutItemCommand({ TableName: db.tables[table], Item: item as never }));
  }
  const deps = { config: db.config, sessions: db.sessions, chats: db.sessions, now: () => new Date(), cors: corsPolicy("*") };
  handlers = { requestChat: requestChatHandler(deps), chat: chatHandler(deps), agent: agentHandler(deps), admin: adminHandler(deps) };
  await db.config.putPresence({ agentId: "anna", endpoint: "gms_builtin", nickname: "Anna", expiresAt: Math.floor(Date.now() / 1000) + 600 });
});
afterAll(async () => {
  vi.restoreAllMocks();
  await db?.close();
});

async function cost(handler: string, event: APIGatewayProxyEvent) {
  const log = vi.spyOn(console, "log").mockImplementation(() => {});
  const response = await handlers[handler]!(event);
  const line = JSON.parse(String(log.mock.calls.at(-1)?.[0]));
  log.mockRestore();
  expect(response.statusCode, JSON.stringify(line)).toBeLessThan(300);
  return line.dynamodb as { calls: number; readUnits: number; writeUnits: number };
}

const chatEvent = (op: string, form: string) =>
  httpEvent({ resource: `/genesys/1/service/{service}/ixn/chat/${op}`, pathParameters: { service: SESSION_ID }, headers: { "content-type": "application/x-www-form-urlencoded" }, body: form });
const agentEvent = (op: string) => httpEvent({ resource: `/genesys/1/agent/{agentId}/chats/{service}/${op}`, pathParameters: { agentId: "anna", service: SESSION_ID } });

describe("DynamoDB calls per request", () => {
  it.each([
    ["request-chat", 2, "requestChat", REQUESTS.requestChat!.event],
    ["customer refresh", 1, "chat", REQUESTS.chat!.event],
    ["agent queue", 1, "agent", REQUESTS.agent!.event],
    ["admin GET service", 1, "admin", REQUESTS.admin!.event],
  ] as const)("%s makes at most %i calls", async (_name, budget, handler, event) => {
    expect((await cost(handler, structuredClone(event))).calls).toBeLessThanOrEqual(budget);
  });

  it("a create on a chat that exists (a client's retry) answers from one Query", async () => {
    const retry = httpEvent({ resource: "/genesys/1/service/{service}/ixn/chat", pathParameters: { service: SESSION_ID }, headers: { "content-type": "application/x-www-form-urlencoded" }, body: "firstName=Anna" });
    expect((await cost("chat", retry)).calls).toBe(1);
  });

  it("a refresh with a few new events costs 1 read unit", async () => {
    expect(await cost("chat", chatEvent("refresh", "transcriptPosition=2"))).toEqual({ calls: 1, readUnits: 1, writeUnits: 0 });
  });

  it("a customer message costs three calls: head, append, answer", async () => {
    expect((await cost("chat", chatEvent("send", "message=hello"))).calls).toBeLessThanOrEqual(3);
  });

  it("an accept costs at most five calls: head, presence, transition, append, answer", async () => {
    expect((await cost("agent", agentEvent("accept"))).calls).toBeLessThanOrEqual(5);
  });
});
