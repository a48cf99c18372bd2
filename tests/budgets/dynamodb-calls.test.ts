import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { REQUESTS, SEED_ITEMS, SESSION_ID } from "../../bench/fixtures.ts";
import type { AgentStore } from "../../lib/agents/store.ts";
import { LONGEST_STORAGE_SEQUENCE as SEED_SEQUENCE, seedHandler } from "../../lib/cloudformation/seed-resource.ts";
import { HOLD_TIMING } from "../../lib/comet/bayeux.ts";
import { DynamoAgentStore } from "../../lib/dynamo/agent-store.ts";
import { DynamoConfigStore } from "../../lib/dynamo/config-store.ts";
import { worstCaseMs } from "../../lib/dynamo/worst-case.ts";
import { corsPolicy } from "../../lib/http/cors.ts";
import { LONGEST_STORAGE_SEQUENCE as ADMIN_SEQUENCE, adminHandler } from "../../lib/http/routes/admin.ts";
import {
  LISTENING_SEQUENCE as AGENT_LISTENING,
  LONGEST_STORAGE_SEQUENCE as AGENT_SEQUENCE,
  agentHandler,
} from "../../lib/http/routes/agent.ts";
import { LONGEST_STORAGE_SEQUENCE as CHAT_SEQUENCE, chatHandler } from "../../lib/http/routes/chat.ts";
import { LONGEST_STORAGE_SEQUENCE as COMET_SEQUENCE, cometHandler } from "../../lib/http/routes/comet.ts";
import { LONGEST_STORAGE_SEQUENCE as REQUEST_CHAT_SEQUENCE, requestChatHandler } from "../../lib/http/routes/request-chat.ts";
import type { RoutingStore } from "../../lib/routing/store.ts";
import type { StorageSequence, StorageStep } from "../../lib/sequence.ts";
import { chatIdOf } from "../../lib/session/ids.ts";
import type { CometStore, ConfigStore, SessionStore } from "../../lib/storage.ts";
import { toolingDocumentClient } from "../../scripts/local/stack.ts";
import { startTestDynamo, type TestDynamo } from "../support/dynamo.ts";
import { authorized, httpEvent } from "../support/events.ts";
import { pickOn, profileFor, testService } from "../support/service.ts";

/**
 * Storage budgets. DynamoDB calls and read units per kind of request, counted by the proxy in front
 * of dynalite: a change that adds a round trip to a hot path fails here. And each route family's
 * declared longest sequence of store calls (LONGEST_STORAGE_SEQUENCE, which the package test holds
 * against the function's timeout): the operation it names makes exactly those calls, and no
 * operation of the family takes longer in the worst case.
 */
let db: TestDynamo;
const rounds: StorageStep[][] = [];
let inFlight = 0;

/** Records each store call; a call that starts while another is under way shares its round. */
function recording<T extends object>(store: T, name: "config" | "sessions" | "comet" | "routing" | "agents"): T {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        if (inFlight === 0) rounds.push([]);
        rounds.at(-1)?.push(`${name}.${String(property)}` as StorageStep);
        inFlight += 1;
        try {
          return await value.apply(target, args);
        } finally {
          inFlight -= 1;
        }
      };
    },
  });
}

let handlers: Record<
  "requestChat" | "chat" | "agent" | "admin" | "comet",
  (event: APIGatewayProxyEvent) => Promise<{ statusCode: number; body: string }>
>;
let stores: { config: ConfigStore; sessions: SessionStore; comet: CometStore; routing: RoutingStore; agents: AgentStore };
let service: ReturnType<typeof testService>;
/** The comet function's clock: a held connect waits by moving it, so a hold takes no time. */
let cometClock = Date.now();

beforeAll(async () => {
  vi.spyOn(console, "log").mockImplementation(() => {});
  db = await startTestDynamo();
  for (const { table, item } of SEED_ITEMS) {
    await db.client.send(new PutItemCommand({ TableName: db.tables[table], Item: item }));
  }
  stores = {
    config: recording(db.config, "config"),
    sessions: recording(db.sessions, "sessions"),
    comet: recording(db.comet, "comet"),
    routing: recording(db.routing, "routing"),
    agents: recording(db.agents, "agents"),
  };
  // The chat's events reach the CometD listener, as in production: a comet chat's cost it (polling chats not).
  service = testService({ ...stores, push: db.push }, { now: () => new Date() });
  const deps = { ...service, cors: corsPolicy("*") };
  // The fixtures' chats are picked by hand; routing's own costs are measured on an endpoint that offers.
  await pickOn(db, ["gms_builtin"]);
  const cometDeps = {
    ...deps,
    now: () => new Date(cometClock),
    wait: async (ms: number) => {
      cometClock += ms;
    },
  };
  handlers = {
    requestChat: requestChatHandler(deps),
    chat: chatHandler(deps),
    agent: agentHandler(deps),
    admin: adminHandler(deps),
    comet: cometHandler(cometDeps),
  };
  await annaReady();
});
/** Anna ready on gms_builtin for ten minutes (written straight to the store: not a request measured here). */
async function annaReady() {
  const now = Math.floor(Date.now() / 1000);
  await profileFor(db, "anna", ["gms_builtin", OFFERING], 10);
  await db.agents.presence(
    "anna",
    { kind: "ready", endpoints: ["gms_builtin"], nickname: "Anna", readyUntil: now + 600, at: new Date().toISOString() },
    now,
  );
}
/** An endpoint whose chats are offered (the default routing). */
const OFFERING = "offer_q";

afterAll(async () => {
  vi.restoreAllMocks();
  await db?.close();
});
beforeEach(() => {
  db.proxy.reset();
  rounds.length = 0;
});

async function call(handler: keyof typeof handlers, event: APIGatewayProxyEvent) {
  const response = await handlers[handler](authorized(event));
  expect(response.statusCode, response.body).toBeLessThan(300);
  return response.body === "" ? {} : JSON.parse(response.body);
}

/** The DynamoDB calls and capacity one request costs, as the proxy counted them. */
async function cost(handler: keyof typeof handlers, event: APIGatewayProxyEvent) {
  db.proxy.reset();
  await call(handler, event);
  return db.proxy.cost();
}

const form = { "content-type": "application/x-www-form-urlencoded" };
/** Ready on `endpoint` for ten minutes from `now` (seconds). */
const readyChange = (endpoint: string, now: number) =>
  ({ kind: "ready", endpoints: [endpoint], nickname: "A", readyUntil: now + 600, at: new Date(now * 1000).toISOString() }) as const;
const nothingToMove = async () => ({ services: 0, notifications: 0, presenceDropped: 0, unreadable: 0, waitingChats: 0 });
const chatEvent = (op: string, body = "", id = SESSION_ID) =>
  httpEvent({
    resource: op === "" ? "/genesys/1/service/{service}/ixn/chat" : `/genesys/1/service/{service}/ixn/chat/${op}`,
    pathParameters: { service: id },
    headers: form,
    body,
  });
const agentEvent = (op: string, body = "", id = SESSION_ID) =>
  httpEvent({
    resource: `/genesys/1/agent/{agentId}/chats/{chatId}/${op}`,
    pathParameters: { agentId: "anna", chatId: chatIdOf(id) },
    headers: form,
    body,
  });

describe("DynamoDB calls per request", () => {
  it.each([
    ["request-chat", 2, "requestChat", REQUESTS.requestChat?.event],
    ["customer refresh", 1, "chat", REQUESTS.chat?.event],
    // The queue's entries beside the endpoint's settings and the agent's profile (does it serve it?), then the waiting chats' own records.
    ["agent queue", 4, "agent", REQUESTS.agent?.event],
    ["admin GET service", 1, "admin", REQUESTS.admin?.event],
  ] as const)("%s makes at most %i calls", async (_name, budget, handler, event) => {
    expect((await cost(handler, structuredClone(event as APIGatewayProxyEvent))).calls).toBeLessThanOrEqual(budget);
  });

  it("a create on a chat that exists (a client's retry) answers from one Query", async () => {
    expect(await cost("chat", chatEvent("", "firstName=Anna"))).toMatchObject({ calls: 1 });
    expect(db.proxy.operations).toEqual(["Query"]);
  });

  it("a refresh with a few new events costs 1 read unit", async () => {
    expect(await cost("chat", chatEvent("refresh", "transcriptPosition=2"))).toEqual({ calls: 1, readUnits: 1, writeUnits: 0 });
  });

  it("a customer message costs three calls: the position's claim, the event, the answer", async () => {
    expect((await cost("chat", chatEvent("send", "message=hello"))).calls).toBeLessThanOrEqual(3);
  });

  it("an accept from the queue costs at most eight calls: head, the agent's slot beside the endpoint's settings, the claim, the notice beside the queue entry and the agent's index, the answer", async () => {
    const spent = await cost("agent", agentEvent("accept"));
    expect(spent.calls, db.proxy.operations.join()).toBeLessThanOrEqual(8);
  });
});

describe("costs that must not grow with the contact centre", () => {
  const admin = (method: string, resource: string, pathParameters: Record<string, string>, body = "") =>
    call("admin", httpEvent({ httpMethod: method, resource: `/genesys/1/admin/${resource}`, pathParameters, headers: form, body }));
  const openOn = async (service: string) => {
    const { _id: id } = await call("requestChat", httpEvent({ pathParameters: { service }, headers: form, body: "firstName=Ann" }));
    return id as string;
  };

  it("request-chat reads 1 unit in one GetItem and writes 1, with 1,000 agents ready and 100 services as with none", async () => {
    await admin("PUT", "services/{name}", { name: "grow" }, "_chat_endpoint=grow_q");
    await admin("PUT", "availability/{endpoint}", { endpoint: "grow_q" }, "available=true");
    const alone = await cost("requestChat", httpEvent({ pathParameters: { service: "grow" }, headers: form, body: "firstName=Ann" }));
    expect(alone).toEqual({ calls: 2, readUnits: 1, writeUnits: 1 });
    const now = Math.floor(Date.now() / 1000);
    // Set up straight to dynalite with a patient client: not measured, and not given up on by the
    // service's 300 ms connection bound while the rest of the suite loads the machine.
    const setupClient = toolingDocumentClient(db.dynamo.endpoint);
    const setup = new DynamoConfigStore(setupClient, db.tables.config);
    const agents = new DynamoAgentStore(setupClient, db.tables.config);
    for (let i = 0; i < 100; i += 1)
      await setup.putService({ name: `grow${i}`, ttlSeconds: 3600, chatEndpoint: `grow_q${i % 10}`, updatedAt: "" });
    for (let i = 0; i < 1000; i += 10) {
      await Promise.all(
        Array.from({ length: 10 }, async (_, j) => {
          const endpoint = (i + j) % 2 ? "grow_q" : `grow_q${(i + j) % 10}`;
          await agents.putProfile({ agentId: `agent${i + j}`, endpoints: [endpoint], maxChats: 2, updatedAt: "" });
          await agents.presence(`agent${i + j}`, readyChange(endpoint, now), now);
        }),
      );
    }
    setupClient.destroy();
    const crowded = await cost("requestChat", httpEvent({ pathParameters: { service: "grow" }, headers: form, body: "firstName=Ann" }));
    expect(crowded).toEqual(alone);
    expect(db.proxy.operations).toEqual(["GetItem", "PutItem"]);
  });

  it("a queue page reads as much with 300 chats waiting as with 25, and carries no attached data unless asked", async () => {
    await profileFor(db, "anna", ["gms_builtin", OFFERING, "crowd_q"], 10);
    await admin("PUT", "services/{name}", { name: "crowd" }, "_chat_endpoint=crowd_q");
    await admin("PUT", "availability/{endpoint}", { endpoint: "crowd_q" }, "available=true");
    const wait = async (count: number) => {
      for (let i = 0; i < count; i += 5) {
        await Promise.all(
          Array.from({ length: 5 }, async () => call("chat", chatEvent("", "firstName=Ann&subject=Billing", await openOn("crowd")))),
        );
      }
    };
    const page = () =>
      httpEvent({
        httpMethod: "GET",
        resource: "/genesys/1/agent/{agentId}/queue",
        pathParameters: { agentId: "anna" },
        queryStringParameters: { endpoint: "crowd_q" },
      });
    await wait(25);
    const few = await cost("agent", page());
    await wait(275);
    const many = await cost("agent", page());
    expect(many).toEqual(few);
    const answer = await call("agent", page());
    expect(answer.chats).toHaveLength(20);
    expect(answer.chats[0]).not.toHaveProperty("attachedData");
  });
});

describe("DynamoDB calls of CometD", () => {
  const gmsUser = { gms_user: "budget-user" };
  const bayeux = (messages: object[]) =>
    httpEvent({ resource: "/genesys/cometd", headers: { "content-type": "application/json", ...gmsUser }, body: JSON.stringify(messages) });
  let clientId: string;

  beforeAll(async () => {
    const [shaken] = await call("comet", bayeux([{ channel: "/meta/handshake", supportedConnectionTypes: ["long-polling"] }]));
    clientId = shaken.clientId;
    await call("comet", bayeux([{ channel: "/meta/subscribe", clientId, subscription: "/_genesys" }]));
  });
  const connect = (timeout?: number) =>
    bayeux([
      { channel: "/meta/connect", clientId, connectionType: "long-polling", ...(timeout === undefined ? {} : { advice: { timeout } }) },
    ]);

  it("a held connect that finds nothing reads the client once, then the user's mailboxes once per poll, and writes nothing", async () => {
    const polls = HOLD_TIMING.holdMs / HOLD_TIMING.pollMs + 1;
    const held = await cost("comet", connect());
    expect(db.proxy.operations).toEqual(["GetItem", ...Array(polls).fill("Query")]);
    // Eventually consistent: DynamoDB bills each poll 0.5 read units (dynalite reports 0 for an empty page).
    expect(held).toMatchObject({ calls: 1 + polls, writeUnits: 0 });
    expect(held.readUnits).toBeLessThanOrEqual(1 + polls * 0.5);
  });

  it("a comet chat's event costs one write more: its mailbox raised", async () => {
    const headers = { ...form, ...gmsUser };
    const { _id: id } = await call("requestChat", httpEvent({ pathParameters: { service: "request-chat" }, headers, body: "" }));
    const comet = (op: string, body: string) =>
      httpEvent({ resource: `/genesys/1/service/{service}/ixn/chat${op}`, pathParameters: { service: id }, headers, body });
    await call("chat", comet("", "notify_by=comet"));
    const pushed = await cost("chat", comet("/send", "message=hi"));
    const polled = await cost("chat", chatEvent("send", "message=hi"));
    expect(pushed).toEqual({ calls: polled.calls + 1, readUnits: polled.readUnits, writeUnits: polled.writeUnits + 1 });
  });

  it("a connect that pushes one chat at its first poll: the client, the mailboxes, the chat's page, the record", async () => {
    expect(await cost("comet", connect())).toMatchObject({ calls: 4, writeUnits: 1 });
    expect(db.proxy.operations).toEqual(["GetItem", "Query", "Query", "UpdateItem"]);
  });
});

/** Each round's calls in a stable order, for comparing a recorded sequence with a declared one. */
const normalised = (sequence: StorageSequence) => sequence.map((round) => [round].flat().sort());

describe("each route family's declared longest sequence of storage calls", () => {
  /** Runs `operations` one by one; answers the store calls each made, by round. */
  async function sequencesOf(operations: readonly (() => Promise<unknown>)[]) {
    const recorded: StorageSequence[] = [];
    for (const operation of operations) {
      rounds.length = 0;
      await operation();
      recorded.push(rounds.map((round) => [...round]));
    }
    return recorded;
  }

  async function newSession(): Promise<string> {
    return (await call("requestChat", httpEvent({ pathParameters: { service: "request-chat" }, headers: form, body: "firstName=Anna" })))
      ._id;
  }

  /** The declared sequence is what `longest` does, and no operation of the family can take longer. */
  function expectLongest(declared: StorageSequence, longest: StorageSequence, all: readonly StorageSequence[]) {
    expect(normalised(longest)).toEqual(normalised(declared));
    for (const sequence of all) expect(worstCaseMs(sequence), JSON.stringify(sequence)).toBeLessThanOrEqual(worstCaseMs(declared));
  }

  it("request-chat: the route and the retry's session side by side, then the write", async () => {
    const [withKey, withoutKey] = await sequencesOf([
      () =>
        call(
          "requestChat",
          httpEvent({
            pathParameters: { service: "request-chat" },
            headers: { ...form, "Idempotency-Key": crypto.randomUUID() },
            body: "a=1",
          }),
        ),
      () => call("requestChat", httpEvent({ pathParameters: { service: "request-chat" }, headers: form, body: "a=1" })),
    ]);
    expectLongest(REQUEST_CHAT_SEQUENCE, withKey as StorageSequence, [withKey as StorageSequence, withoutKey as StorageSequence]);
  });

  it("chat: a create, and every other customer operation within it", async () => {
    const id = await newSession();
    const other = await newSession();
    await call("chat", chatEvent("", "", other));
    const sequences = await sequencesOf([
      () => call("chat", chatEvent("", "firstName=Anna", id)),
      () => call("chat", chatEvent("refresh", "", id)),
      () => call("chat", chatEvent("refresh", "message=hi", id)),
      () => call("chat", chatEvent("send", "message=hello", id)),
      () => call("chat", chatEvent("startTyping", "", id)),
      () => call("chat", chatEvent("stopTyping", "", id)),
      () => call("chat", chatEvent("disconnect", "", id)),
      () => call("chat", httpEvent({ resource: "/genesys/1/service/{service}", httpMethod: "GET", pathParameters: { service: id } })),
      () => call("chat", httpEvent({ resource: "/genesys/1/service/{service}", httpMethod: "DELETE", pathParameters: { service: other } })),
    ]);
    expectLongest(CHAT_SEQUENCE, sequences[0] as StorageSequence, sequences);
  });

  it("agent: a change of presence that leaves an endpoint, and every other agent operation within it; an accept the longest that posts", async () => {
    await call(
      "admin",
      httpEvent({
        httpMethod: "PUT",
        resource: "/genesys/1/admin/services/{name}",
        pathParameters: { name: "offering" },
        headers: form,
        body: `_chat_endpoint=${OFFERING}`,
      }),
    );
    await call(
      "admin",
      httpEvent({
        httpMethod: "PUT",
        resource: "/genesys/1/admin/availability/{endpoint}",
        pathParameters: { endpoint: OFFERING },
        headers: form,
        body: "available=true",
      }),
    );
    const picked = await newSession();
    await call("chat", chatEvent("", "", picked));
    const offered = (
      await call("requestChat", httpEvent({ pathParameters: { service: "offering" }, headers: form, body: "firstName=Anna" }))
    )._id as string;
    const presence = (body: string) =>
      httpEvent({
        resource: "/genesys/1/agent/{agentId}/presence",
        httpMethod: "PUT",
        pathParameters: { agentId: "anna" },
        headers: form,
        body,
      });
    const read = (resource: string, query: Record<string, string> = {}) =>
      httpEvent({
        resource: `/genesys/1/agent/{agentId}/${resource}`,
        httpMethod: "GET",
        pathParameters: { agentId: "anna" },
        queryStringParameters: query,
      });
    const [leaving, ...quiet] = await sequencesOf([
      () => call("agent", presence(`state=ready&endpoints=${OFFERING}`)),
      () => call("agent", presence(`state=ready&endpoints=gms_builtin,${OFFERING}`)),
      () => call("agent", presence("state=ready&renew=true")),
      () => call("agent", read("presence")),
      () => call("agent", read("offers")),
      () => call("agent", read("queue", { endpoint: "gms_builtin" })),
    ]);
    // The chat on the offering endpoint is offered to anna by a routing pass.
    await call("chat", chatEvent("", "", offered));
    await service.route();
    const listening = await sequencesOf([
      () => call("agent", agentEvent("accept", "", offered)),
      () => call("agent", agentEvent("accept", "", picked)),
      () => call("agent", agentEvent("send", "message=hello", picked)),
      () => call("agent", agentEvent("startTyping", "", picked)),
      () => call("agent", agentEvent("stopTyping", "", picked)),
      () => call("agent", agentEvent("refresh", "", picked)),
      () => call("agent", agentEvent("transfer", `endpoint=${OFFERING}`, picked)),
      () => call("agent", agentEvent("disconnect", "", offered)),
    ]);
    const [notReady] = await sequencesOf([() => call("agent", presence("state=not_ready"))]);
    await annaReady();
    expectLongest(AGENT_SEQUENCE, leaving as StorageSequence, [...quiet, notReady as StorageSequence]);
    for (const sequence of listening)
      expect(worstCaseMs(sequence), JSON.stringify(sequence)).toBeLessThanOrEqual(worstCaseMs(AGENT_LISTENING));
  });

  it("admin: a service written with its endpoint's availability, and every other admin operation within it", async () => {
    const admin = (method: string, resource: string, pathParameters: Record<string, string>, body = "") =>
      call("admin", httpEvent({ httpMethod: method, resource: `/genesys/1/admin/${resource}`, pathParameters, headers: form, body }));
    const sequences = await sequencesOf([
      () => admin("PUT", "services/{name}", { name: "budget" }, "_ttl=60"),
      () => admin("PUT", "availability/{endpoint}", { endpoint: "budget_q" }, "available=true"),
      () => admin("GET", "availability/{endpoint}", { endpoint: "budget_q" }),
      () => admin("GET", "services", {}),
      () => admin("GET", "services/{name}", { name: "budget" }),
      () => admin("DELETE", "services/{name}", { name: "budget" }),
    ]);
    expectLongest(ADMIN_SEQUENCE, sequences[0] as StorageSequence, sequences);
  });

  it("comet: a connect that pushes at its first poll, and every other Bayeux message within it", async () => {
    const headers = { "content-type": "application/json", gms_user: "sequence-user" };
    const bayeux = (messages: object[]) =>
      call("comet", httpEvent({ resource: "/genesys/cometd", headers, body: JSON.stringify(messages) }));
    const [shaken] = await bayeux([{ channel: "/meta/handshake", supportedConnectionTypes: ["long-polling"] }]);
    const { clientId } = shaken;
    const connect = { channel: "/meta/connect", clientId, connectionType: "long-polling", advice: { timeout: 0 } };
    await bayeux([{ channel: "/meta/subscribe", clientId, subscription: "/_genesys" }]);
    const { _id: id } = await call(
      "requestChat",
      httpEvent({ pathParameters: { service: "request-chat" }, headers: { ...form, gms_user: "sequence-user" }, body: "" }),
    );
    await call(
      "chat",
      httpEvent({
        resource: "/genesys/1/service/{service}/ixn/chat",
        pathParameters: { service: id },
        headers: { ...form, gms_user: "sequence-user" },
        body: "notify_by=comet",
      }),
    );
    const sequences = await sequencesOf([
      () => bayeux([connect]),
      () => bayeux([{ channel: "/meta/handshake", supportedConnectionTypes: ["long-polling"] }]),
      () => bayeux([{ channel: "/meta/subscribe", clientId, subscription: "/_genesys" }]),
      () => bayeux([connect]),
      () => bayeux([{ channel: "/meta/unsubscribe", clientId, subscription: "/_genesys" }]),
      () => bayeux([{ channel: "/meta/disconnect", clientId }]),
    ]);
    expectLongest(COMET_SEQUENCE, sequences[0] as StorageSequence, sequences);
  });

  it("seed: the default service, created if absent", async () => {
    const [created] = await sequencesOf([
      () =>
        seedHandler({
          wiring: async () => ({ config: stores.config, now: () => new Date(), migrate: nothingToMove }),
          reply: async () => {},
        })({
          RequestType: "Create",
          ServiceToken: "x",
          ResponseURL: "http://127.0.0.1/",
          StackId: "stack",
          RequestId: "request",
          LogicalResourceId: "DefaultServiceSeed",
          ResourceType: "Custom::GmsDefaultService",
          ResourceProperties: { ServiceToken: "x" },
        }),
    ]);
    expectLongest(SEED_SEQUENCE, created as StorageSequence, [created as StorageSequence]);
  });
});
