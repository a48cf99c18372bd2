import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { corsPolicy } from "../../lib/http/cors.ts";
import { decodeFields } from "../../lib/http/decode.ts";
import { adminHandler } from "../../lib/http/routes/admin.ts";
import { agentHandler } from "../../lib/http/routes/agent.ts";
import { chatHandler } from "../../lib/http/routes/chat.ts";
import { requestChatHandler } from "../../lib/http/routes/request-chat.ts";
import { chatIdOf } from "../../lib/session/ids.ts";
import { expectGmsAnswer, generatedRequest, plausibleRequest } from "../support/arbitraries.ts";
import { startTestDynamo, type TestDynamo } from "../support/dynamo.ts";
import { httpEvent } from "../support/events.ts";
import { testService } from "../support/service.ts";

/**
 * The same generated requests through the real DynamoDB adapters on dynalite: whatever the
 * validation lets through must also be storable (marshalling, attribute names, sizes), and what is
 * stored must read back as it was sent.
 */
const RUNS = 1_000;
const now = new Date("2026-11-25T10:00:00Z");
let db: TestDynamo;

beforeAll(async () => {
  vi.spyOn(console, "log").mockImplementation(() => {});
  db = await startTestDynamo();
  const updatedAt = now.toISOString();
  await db.config.putService({ name: "request-chat", ttlSeconds: 3600, chatEndpoint: "gms_builtin", updatedAt });
  await db.config.putService({ name: "closed", ttlSeconds: 3600, chatEndpoint: "nobody", updatedAt });
  await db.config.putNotification({ endpoint: "gms_builtin", available: true, updatedAt });
});
afterAll(async () => {
  vi.restoreAllMocks();
  await db?.close();
});

describe(`generated requests against dynalite (${RUNS} runs each)`, () => {
  const handler = () => requestChatHandler({ ...testService(db, { now: () => now }), cors: corsPolicy("*") });

  it("never answer 500", async () => {
    const requestChat = handler();
    await fc.assert(
      fc.asyncProperty(generatedRequest, async (event) => expectGmsAnswer(await requestChat(event))),
      { numRuns: RUNS },
    );
  });

  it("store every accepted request's context data exactly as sent", async () => {
    const requestChat = handler();
    let stored = 0;
    await fc.assert(
      fc.asyncProperty(plausibleRequest, async (event) => {
        const response = await requestChat(event);
        expectGmsAnswer(response);
        if (response.statusCode !== 200) return;
        const sent = Object.fromEntries(Object.entries(await decodeFields(event)).filter(([key]) => !key.startsWith("_")));
        const session = await db.sessions.get(chatIdOf(JSON.parse(response.body)._id));
        expect(session?.data).toEqual(sent);
        stored += 1;
      }),
      { numRuns: RUNS },
    );
    expect(stored).toBeGreaterThan(RUNS / 2);
  });
});

describe(`generated requests on the chat and agent routes against dynalite (${RUNS} runs each)`, () => {
  const deps = () => ({ ...testService(db, { now: () => now }), cors: corsPolicy("*") });

  it("never answer 500 on any customer or agent operation", async () => {
    const requestChat = requestChatHandler(deps());
    const chat = chatHandler(deps());
    const agent = agentHandler(deps());
    const seconds = now.getTime() / 1000;
    await db.agents.putProfile({ agentId: "fuzz", endpoints: ["gms_builtin"], maxChats: 3, updatedAt: now.toISOString() });
    await db.agents.presence(
      "fuzz",
      { kind: "ready", endpoints: ["gms_builtin"], nickname: "Fuzz", readyUntil: seconds + 3600, at: now.toISOString() },
      seconds,
    );
    const opened = JSON.parse((await requestChat(httpEvent({ pathParameters: { service: "request-chat" } }))).body)._id as string;
    // The session id is the customer's key, the chat id the agent's: each side gets both (and worse).
    const ids = fc.constantFrom(opened, chatIdOf(opened), "00000000-0000-4000-8000-000000000000", "not-an-id", "");
    const customerOps = fc.constantFrom("", "/refresh", "/send", "/startTyping", "/stopTyping", "/disconnect");
    const agentOps = fc.constantFrom(
      "presence",
      "presence:GET",
      "offers",
      "queue",
      "accept",
      "reject",
      "transfer",
      "send",
      "startTyping",
      "stopTyping",
      "refresh",
      "disconnect",
    );
    const agentIds = fc.constantFrom("fuzz", "other", "bad id", "");
    await fc.assert(
      fc.asyncProperty(
        generatedRequest,
        ids,
        customerOps,
        agentOps,
        agentIds,
        fc.boolean(),
        async (event, id, customerOp, agentOp, agentId, asAgent) => {
          const response = asAgent
            ? await agent({
                ...event,
                resource: ["presence", "presence:GET", "offers", "queue"].includes(agentOp)
                  ? `/genesys/1/agent/{agentId}/${agentOp.replace(":GET", "")}`
                  : `/genesys/1/agent/{agentId}/chats/{chatId}/${agentOp}`,
                httpMethod: agentOp === "presence" ? "PUT" : ["presence:GET", "offers", "queue"].includes(agentOp) ? "GET" : "POST",
                pathParameters: { agentId, chatId: id },
              })
            : await chat({
                ...event,
                resource: `/genesys/1/service/{service}/ixn/chat${customerOp}`,
                httpMethod: "POST",
                pathParameters: { service: id },
              });
          expectGmsAnswer(response);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe(`generated path values against dynalite (${RUNS} runs)`, () => {
  it("never answer 500 on the admin API or the service API, however long or odd the name or id", async () => {
    const deps = { ...testService(db, { now: () => now }), cors: corsPolicy("*") };
    const admin = adminHandler(deps);
    const chat = chatHandler(deps);
    // DynamoDB refuses keys over 2048 bytes: such values must be refused before they reach it.
    const value = fc.oneof(
      fc.string(),
      fc.string({ unit: "grapheme", minLength: 1000, maxLength: 3000 }),
      fc.constantFrom("request-chat", "gms_builtin"),
    );
    const route = fc.constantFrom(
      ["admin", "/genesys/1/admin/services/{name}", "GET", "name"],
      ["admin", "/genesys/1/admin/services/{name}", "PUT", "name"],
      ["admin", "/genesys/1/admin/services/{name}", "DELETE", "name"],
      ["admin", "/genesys/1/admin/availability/{endpoint}", "GET", "endpoint"],
      ["admin", "/genesys/1/admin/availability/{endpoint}", "PUT", "endpoint"],
      ["chat", "/genesys/1/service/{service}", "GET", "service"],
      ["chat", "/genesys/1/service/{service}", "DELETE", "service"],
    );
    await fc.assert(
      fc.asyncProperty(route, value, async ([family, resource, httpMethod, param], pathValue) => {
        const event = httpEvent({
          resource,
          httpMethod,
          pathParameters: { [param]: pathValue },
          body: httpMethod === "PUT" ? "available=false" : null,
        });
        expectGmsAnswer(await (family === "admin" ? admin : chat)(event));
      }),
      { numRuns: RUNS },
    );
  });
});
