import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chatIdOf } from "../../lib/session/ids.ts";
import { DEFAULT_DEV_USERS } from "../../scripts/local/identity.ts";
import type { LocalStack } from "../../scripts/local/launch.ts";
import { STACK_ADMIN_KEY } from "../../scripts/local/stack.ts";
import { type SignedIn, signIn } from "../support/identity.ts";
import {
  allRefs,
  atPointer,
  type Exchange,
  type Json,
  loadOpenApi,
  normalisePath,
  OpenApiChecker,
  parseServerless,
  serverlessRoutes,
} from "../support/openapi.ts";
import { letAgentsPick, serve, startTestStack, type TestStack } from "../support/stack.ts";

/**
 * openapi.yaml against the real thing: the real `serverless offline start` (launched by `npm start`'s
 * script against a DynamoDB the test owns) is driven through a scripted scenario that calls every
 * operation, successes and errors alike, and every answer must be one the document describes: a
 * documented status, a documented media type, a body that validates against the document's schema
 * and the documented headers. The document and serverless.yml must list the same routes.
 */
const doc = loadOpenApi();
const checker = new OpenApiChecker(doc);

let local: TestStack;
let stack: LocalStack;

/** The scenario's agents, local users besides the default ones, each signed in as the console would. */
const AGENTS = ["zoe", "bob", "carl"] as const;
const tokens = new Map<string, SignedIn>();

beforeAll(async () => {
  const agents = AGENTS.map((name) => `${name}:${name[0]?.toUpperCase()}${name.slice(1)}-local-1:agent`).join(",");
  local = await startTestStack({ GMS_DEV_USERS: `${DEFAULT_DEV_USERS},${agents}` });
  // The desk's chats are picked from the queue; ROUTED's are offered. The agents take as many as the tests open.
  await letAgentsPick(local.stack, ["gms_builtin", DESK.endpoint]);
  for (const agentId of ["anna", "ben", ...AGENTS]) await serve(local.stack, agentId, ["gms_builtin", DESK.endpoint, ROUTED.endpoint]);
  stack = local.stack;
  for (const name of AGENTS) tokens.set(name, await signIn(stack, name, `${name[0]?.toUpperCase()}${name.slice(1)}-local-1`));
});
afterAll(async () => {
  await local?.stop();
});

/** Every exchange of the scenario, and what the document found wrong with each. */
const exchanges: Exchange[] = [];
const problems: string[] = [];

interface CallOptions {
  /** Path parameters, substituted into the template. */
  readonly params?: Record<string, string>;
  readonly query?: Record<string, string>;
  /** Sent as application/x-www-form-urlencoded. */
  readonly form?: Record<string, string>;
  /** Sent as application/json. */
  readonly json?: Record<string, unknown>;
  /** Sent as it is, with `contentType`. */
  readonly raw?: string;
  readonly contentType?: string;
  readonly headers?: Record<string, string>;
  /**
   * Secured operations get credentials unless this is false: on the agent API the access token of
   * the agent the path names (zoe's for an id that is no user), on the admin API the key.
   */
  readonly key?: boolean;
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Json;
  readonly text: string;
}

/** Calls the operation `METHOD template`, records the exchange and checks it against openapi.yaml. */
async function call(operation: string, options: CallOptions = {}): Promise<Answer> {
  const [method = "", template = ""] = operation.split(" ");
  let path = template;
  for (const [name, value] of Object.entries(options.params ?? {})) path = path.replace(`{${name}}`, encodeURIComponent(value));
  expect(path, `${operation}: every path parameter given`).not.toMatch(/[{}]/);
  const url = new URL(path, stack.baseUrl);
  for (const [name, value] of Object.entries(options.query ?? {})) url.searchParams.set(name, value);

  const headers = new Headers(options.headers);
  const secured = checker.operation(method, template)?.secured ?? false;
  if (secured && options.key !== false) {
    if (template.startsWith("/genesys/1/agent/")) {
      const agent = tokens.get(options.params?.agentId ?? "") ?? tokens.get("zoe");
      headers.set("authorization", `Bearer ${agent?.accessToken}`);
    } else {
      headers.set("x-api-key", STACK_ADMIN_KEY);
    }
  }
  let body: string | undefined;
  let request: Exchange["request"];
  if (options.form !== undefined) {
    headers.set("content-type", "application/x-www-form-urlencoded");
    body = new URLSearchParams(options.form).toString();
    request = { mediaType: "application/x-www-form-urlencoded", value: options.form };
  } else if (options.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(options.json);
    request = { mediaType: "application/json", value: options.json };
  } else if (options.raw !== undefined) {
    if (options.contentType !== undefined) headers.set("content-type", options.contentType);
    body = options.raw;
  }

  const response = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  const responseHeaders = Object.fromEntries(response.headers);
  const exchange: Exchange = {
    method,
    template,
    url: url.pathname + url.search,
    status: response.status,
    headers: responseHeaders,
    rawBody: text,
    request,
  };
  exchanges.push(exchange);
  for (const problem of checker.check(exchange))
    problems.push(`${method} ${exchange.url} (${template}) answered ${response.status}: ${problem}`);
  let parsed: Json = text;
  if ((responseHeaders["content-type"] ?? "").startsWith("application/json") && text !== "") parsed = JSON.parse(text);
  return { status: response.status, headers: responseHeaders, body: parsed, text };
}

/** The problems recorded since `start`: each scenario step ends by asserting it added none. */
function problemsSince(start: number): string[] {
  return problems.slice(start);
}

const REQUEST_CHAT = "POST /genesys/1/service/{service}";
const SESSION_GET = "GET /genesys/1/service/{service}";
const SESSION_DELETE = "DELETE /genesys/1/service/{service}";
const B = "/genesys/1/service/{service}/ixn/chat";
const A = "/genesys/1/agent/{agentId}";
const C = `${A}/chats/{chatId}`;
const SERVICES = "/genesys/1/admin/services";
const SERVICE = "/genesys/1/admin/services/{name}";
const AVAILABILITY = "/genesys/1/admin/availability/{endpoint}";
const COMET = "/genesys/cometd";

// The suite's own services and endpoints, apart from the seeded request-chat and gms_builtin.
const DESK = { service: "oa-desk", endpoint: "oa-desk-queue" };
const CLOSED = { service: "oa-closed", endpoint: "oa-closed-queue" };
/** An endpoint whose chats are offered to its agents (routing `offer`). */
const ROUTED = { service: "oa-routed", endpoint: "oa-routed-queue" };
const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";

describe("openapi.yaml: the document", () => {
  it("resolves every $ref, names every operation once and declares every path parameter", () => {
    const unresolved = allRefs(doc).filter(({ ref }) => atPointer(doc, ref) === undefined);
    expect(unresolved).toEqual([]);
    const ids = checker.operations.map((op) => op.operationId);
    expect(ids.every((id) => typeof id === "string")).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const op of checker.operations) {
      const declared = [...(doc.paths[op.path].parameters ?? []), ...(op.operation.parameters ?? [])]
        .map((parameter: Json) => checker.deref(parameter, "").node)
        .filter((parameter: Json) => parameter.in === "path")
        .map((parameter: Json) => parameter.name)
        .sort();
      const inTemplate = [...op.path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]).sort();
      expect(declared, `${op.method} ${op.path}`).toEqual(inTemplate);
      expect(Object.keys(op.operation.responses ?? {}).length, `${op.method} ${op.path}`).toBeGreaterThan(0);
    }
    // Every schema compiles in Ajv's strict mode (unknown keywords, bad patterns, broken refs).
    for (const name of Object.keys(doc.components.schemas))
      expect(() => checker.validator(`/components/schemas/${name}`), name).not.toThrow();
  });

  it("documents exactly the routes of serverless.yml, secured where they have an authorizer, and no preflight", () => {
    const { config, errors, warnings } = parseServerless();
    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
    const routes = serverlessRoutes(config);
    expect(routes.length).toBeGreaterThan(0);
    const declared = routes.filter((route) => route.method !== "OPTIONS");
    const key = (method: string, path: string) => `${method} ${normalisePath(path)}`;
    const fromServerless = declared.map((route) => key(route.method, route.path)).sort();
    const fromSpec = checker.operations.map((op) => key(op.method, op.path)).sort();
    expect(fromSpec).toEqual(fromServerless);
    expect(checker.operations.filter((op) => op.method === "OPTIONS" || op.method === "HEAD")).toEqual([]);
    for (const route of declared) {
      const op = checker.operations.find((candidate) => key(candidate.method, candidate.path) === key(route.method, route.path));
      expect(op?.secured, `${route.method} ${route.path}: security matches the authorizer`).toBe(route.secured);
    }
    // Every preflight belongs to a documented path.
    const specPaths = new Set(checker.operations.map((op) => normalisePath(op.path)));
    for (const route of routes.filter((r) => r.method === "OPTIONS")) expect(specPaths.has(route.path), route.path).toBe(true);
  });
});

describe("openapi.yaml: every answer of a scripted scenario on the local stack", () => {
  it("serves the two pages, and 304 for an unchanged one, and their settings", async () => {
    const start = problems.length;
    for (const page of ["GET /chat/", "GET /agent/"]) {
      const first = await call(page);
      expect(first.status, page).toBe(200);
      const etag = first.headers.etag ?? "";
      const again = await call(page, { headers: { "If-None-Match": etag } });
      expect(again.status, page).toBe(304);
    }
    expect((await call("GET /agent/config.json")).status).toBe(200);
    expect((await call("GET /chat/config.json")).body).toEqual({ push: stack.pushUrl });
    expect(problemsSince(start)).toEqual([]);
  });

  it("admin: services, availability, and 401 without the key", async () => {
    const start = problems.length;
    expect((await call(`GET ${SERVICES}`)).status).toBe(200);
    expect((await call(`GET ${SERVICES}`, { key: false })).status).toBe(401);

    expect((await call(`PUT ${SERVICE}`, { params: { name: DESK.service }, form: { _chat_endpoint: DESK.endpoint } })).status).toBe(201);
    expect(
      (await call(`PUT ${SERVICE}`, { params: { name: DESK.service }, json: { _ttl: 600, _chat_endpoint: DESK.endpoint } })).status,
    ).toBe(200);
    expect((await call(`PUT ${SERVICE}`, { params: { name: CLOSED.service }, form: { _chat_endpoint: CLOSED.endpoint } })).status).toBe(
      201,
    );
    expect((await call(`PUT ${SERVICE}`, { params: { name: "oa-doomed" } })).status).toBe(201);
    expect((await call(`PUT ${SERVICE}`, { params: { name: DESK.service }, form: { _tll: "60" } })).status).toBe(400);
    expect((await call(`PUT ${SERVICE}`, { params: { name: "-bad name" }, form: {} })).status).toBe(400);
    expect((await call(`PUT ${SERVICE}`, { params: { name: "oa-hacked" }, key: false, form: {} })).status).toBe(401);

    expect((await call(`GET ${SERVICE}`, { params: { name: DESK.service } })).body).toMatchObject({
      name: DESK.service,
      _ttl: 600,
      _chat_endpoint: DESK.endpoint,
    });
    expect((await call(`GET ${SERVICE}`, { params: { name: "oa-nothing" } })).status).toBe(404);
    expect((await call(`GET ${SERVICE}`, { params: { name: DESK.service }, key: false })).status).toBe(401);

    expect((await call(`DELETE ${SERVICE}`, { params: { name: "oa-doomed" } })).status).toBe(204);
    expect((await call(`DELETE ${SERVICE}`, { params: { name: "oa-doomed" } })).status).toBe(404);
    expect((await call(`DELETE ${SERVICE}`, { params: { name: DESK.service }, key: false })).status).toBe(401);

    const closed = await call(`PUT ${AVAILABILITY}`, { params: { endpoint: CLOSED.endpoint }, form: { available: "false" } });
    expect(closed.body).toMatchObject({
      available: false,
      readyAgents: 0,
      notification: { available: false, expiresAt: null, lapsed: false },
    });
    const brief = await call(`PUT ${AVAILABILITY}`, { params: { endpoint: "oa-brief" }, json: { available: true, _ttl: 60 } });
    expect(brief.body).toMatchObject({ available: true, notification: { available: true, lapsed: false } });
    expect((await call(`PUT ${AVAILABILITY}`, { params: { endpoint: CLOSED.endpoint }, form: { available: "maybe" } })).status).toBe(400);
    expect(
      (await call(`PUT ${AVAILABILITY}`, { params: { endpoint: CLOSED.endpoint }, key: false, form: { available: "true" } })).status,
    ).toBe(401);
    expect((await call(`GET ${AVAILABILITY}`, { params: { endpoint: "oa-never-notified" } })).body).toEqual({
      endpoint: "oa-never-notified",
      available: false,
      readyAgents: 0,
      notification: null,
    });
    expect((await call(`GET ${AVAILABILITY}`, { params: { endpoint: "-bad endpoint" } })).status).toBe(400);
    expect((await call(`GET ${AVAILABILITY}`, { params: { endpoint: CLOSED.endpoint }, key: false })).status).toBe(401);
    expect(problemsSince(start)).toEqual([]);
  });

  it("request-chat: 200 plain and verbose, 400, 404, 409, 413, 415, 503", async () => {
    const start = problems.length;
    const plain = await call(REQUEST_CHAT, { params: { service: "request-chat" }, form: { firstName: "Anna" } });
    expect(plain.status).toBe(200);
    expect(Object.keys(plain.body).sort()).toEqual(["_chatIxnAPI-CREATE-URL", "_id"]);
    const verbose = await call(REQUEST_CHAT, {
      params: { service: "request-chat" },
      json: { firstName: "Anna", orderId: 42, vip: true, _verbose: true },
    });
    expect(verbose.body).toMatchObject({
      firstName: "Anna",
      orderId: "42",
      vip: "true",
      _service_name: "request-chat",
      _chat_endpoint: "gms_builtin",
    });
    const fromQuery = await call(REQUEST_CHAT, { params: { service: "request-chat" }, query: { lang: "de", _verbose: "1" } });
    expect(fromQuery.body).toMatchObject({ lang: "de" });

    expect((await call(REQUEST_CHAT, { params: { service: "request-chat" }, form: { _ttl: "forever" } })).status).toBe(400);
    expect((await call(REQUEST_CHAT, { params: { service: "request-chat" }, headers: { "Idempotency-Key": "bad key" } })).status).toBe(400);
    expect(
      (await call(REQUEST_CHAT, { params: { service: "request-chat" }, raw: '{"nested": {"a": 1}}', contentType: "application/json" }))
        .status,
    ).toBe(400);
    expect((await call(REQUEST_CHAT, { params: { service: "oa-no-such-service" } })).status).toBe(404);

    const keyed = { "Idempotency-Key": `oa-${randomUUID()}` };
    const first = await call(REQUEST_CHAT, { params: { service: "request-chat" }, headers: keyed, form: { firstName: "Anna" } });
    const retry = await call(REQUEST_CHAT, { params: { service: "request-chat" }, headers: keyed, form: { firstName: "Anna" } });
    expect(retry.body._id).toBe(first.body._id);
    expect((await call(REQUEST_CHAT, { params: { service: "request-chat" }, headers: keyed, form: { firstName: "Bob" } })).status).toBe(
      409,
    );

    expect((await call(REQUEST_CHAT, { params: { service: "request-chat" }, form: { a: "x".repeat(70 * 1024) } })).status).toBe(413);
    expect((await call(REQUEST_CHAT, { params: { service: "request-chat" }, raw: "<a/>", contentType: "application/xml" })).status).toBe(
      415,
    );

    const noAgent = await call(REQUEST_CHAT, { params: { service: CLOSED.service }, form: { firstName: "Anna" } });
    expect(noAgent.status).toBe(503);
    expect(noAgent.body.exception).toBe("NoAgentAvailableException");
    expect(noAgent.headers["retry-after"]).toBe("10");
    expect(problemsSince(start)).toEqual([]);
  });

  it("a whole chat: presence, create, queue, accept, both sides talking, disconnect, DELETE", async () => {
    const start = problems.length;
    // Agents: zoe and bob ready on the desk's endpoint, carl not.
    const zoe = await call(`PUT ${A}/presence`, {
      params: { agentId: "zoe" },
      form: { endpoint: DESK.endpoint, state: "ready", nickname: "Zoe" },
    });
    expect(zoe.body).toMatchObject({ agentId: "zoe", endpoints: [DESK.endpoint], state: "ready", nickname: "Zoe", reason: null });
    expect(
      (await call(`PUT ${A}/presence`, { params: { agentId: "bob" }, json: { endpoint: DESK.endpoint, state: "READY" } })).status,
    ).toBe(200);
    expect(
      (await call(`PUT ${A}/presence`, { params: { agentId: "carl" }, form: { endpoint: DESK.endpoint, state: "not_ready" } })).body,
    ).toMatchObject({ agentId: "carl", state: "not_ready", chats: [], offers: [] });
    expect((await call(`PUT ${A}/presence`, { params: { agentId: "zoe" }, form: { endpoint: DESK.endpoint, state: "away" } })).status).toBe(
      400,
    );
    expect(
      (await call(`PUT ${A}/presence`, { params: { agentId: "zoe" }, key: false, form: { endpoint: DESK.endpoint, state: "ready" } }))
        .status,
    ).toBe(401);

    // The customer: request-chat, the session's data, then the chat.
    const session = await call(REQUEST_CHAT, { params: { service: DESK.service }, form: { firstName: "Max", orderId: "A-17" } });
    expect(session.status).toBe(200);
    const id: string = session.body._id;
    const s = { service: id };
    const c = { chatId: chatIdOf(id) };
    expect((await call(SESSION_GET, { params: s })).body).toEqual({ firstName: "Max", orderId: "A-17" });
    const early = await call(`POST ${B}/refresh`, { params: s });
    expect([early.status, early.body.exception]).toEqual([409, "InvalidChatStateException"]);
    expect((await call(`POST ${C}/accept`, { params: { agentId: "zoe", chatId: chatIdOf(id) } })).status).toBe(409);

    // Invalid fields are refused before the chat exists (a second create just answers with it).
    expect((await call(`POST ${B}`, { params: s, form: { "bad\u0001key": "x" } })).status).toBe(400);
    const created = await call(`POST ${B}`, {
      params: s,
      form: { firstName: "Max", lastName: "Muster", subject: "Refund", topic: "late", _verbose: "true" },
    });
    expect(created.body).toMatchObject({
      chatIxnState: "CONNECTED",
      transcriptPosition: "1",
      transcriptToShow: [["Notice.Joined", "Max Muster", "has joined the session", "0", "CLIENT"]],
    });
    expect(created.body._chatIxnAPI_SEND_URL).toBe(`/genesys/1/service/${id}/ixn/chat/send`);
    expect((await call(`POST ${B}`, { params: s, json: { firstName: "Max" } })).body.chatSessionId).toBe(created.body.chatSessionId);

    const queue = await call(`GET ${A}/queue`, { params: { agentId: "zoe" }, query: { endpoint: DESK.endpoint } });
    expect(queue.body.chats).toEqual([
      expect.objectContaining({
        id: chatIdOf(id),
        nickname: "Max Muster",
        customer: { firstName: "Max", lastName: "Muster", subject: "Refund" },
      }),
    ]);
    expect(queue.body.chats[0]).not.toHaveProperty("attachedData");
    const detailed = await call(`GET ${A}/queue`, {
      params: { agentId: "zoe" },
      query: { endpoint: DESK.endpoint, attachedData: "true", limit: "10" },
    });
    expect(detailed.body.chats).toEqual([
      expect.objectContaining({ id: chatIdOf(id), attachedData: { firstName: "Max", orderId: "A-17", topic: "late" } }),
    ]);
    expect((await call(`GET ${A}/queue`, { params: { agentId: "zoe" }, query: { endpoint: DESK.endpoint, limit: "51" } })).status).toBe(
      400,
    );
    expect((await call(`GET ${A}/queue`, { params: { agentId: "zoe" } })).status).toBe(400);
    expect((await call(`GET ${A}/queue`, { params: { agentId: "zoe" }, key: false, query: { endpoint: DESK.endpoint } })).status).toBe(401);

    // Accept: carl is not ready, zoe wins, bob is too late.
    const notReady = await call(`POST ${C}/accept`, { params: { agentId: "carl", ...c } });
    expect([notReady.status, notReady.body.exception]).toEqual([409, "InvalidChatStateException"]);
    const accepted = await call(`POST ${C}/accept`, { params: { agentId: "zoe", ...c }, form: { transcriptPosition: "1" } });
    expect(accepted.body).toMatchObject({
      chatIxnState: "TRANSCRIPT",
      transcriptToShow: [["Notice.Joined", "Zoe", "has joined the session", expect.any(String), "AGENT"]],
    });
    const late = await call(`POST ${C}/accept`, { params: { agentId: "bob", ...c } });
    expect([late.status, late.body.exception]).toEqual([409, "ChatAlreadyAcceptedException"]);
    expect((await call(`POST ${C}/accept`, { params: { agentId: "zoe", ...c }, key: false })).status).toBe(401);
    expect((await call(`POST ${C}/accept`, { params: { agentId: "zoe", chatId: chatIdOf(UNKNOWN_ID) } })).status).toBe(404);
    expect((await call(`POST ${C}/accept`, { params: { agentId: "-bad id", ...c } })).status).toBe(400);

    // The customer talks.
    expect((await call(`POST ${B}/startTyping`, { params: s })).body.transcriptToShow).toEqual([
      ["Notice.TypingStarted", "Max Muster", "", expect.any(String), "CLIENT"],
    ]);
    expect((await call(`POST ${B}/stopTyping`, { params: s, json: {} })).status).toBe(200);
    const sent = await call(`POST ${B}/send`, { params: s, form: { message: "I want a refund" } });
    expect(sent.body).toMatchObject({
      transcriptPosition: "5",
      transcriptToShow: [["Message.Text", "Max Muster", "I want a refund", expect.any(String), "CLIENT"]],
    });
    expect((await call(`POST ${B}/send`, { params: s, form: { message: "   " } })).status).toBe(400);
    expect((await call(`POST ${B}/refresh`, { params: s, form: { transcriptPosition: "soon" } })).status).toBe(400);

    // The agent reads and answers; bob may not touch zoe's chat.
    const seen = await call(`POST ${C}/refresh`, { params: { agentId: "zoe", ...c }, form: { transcriptPosition: "2" } });
    expect(seen.body.transcriptToShow.map((event: string[]) => event[0])).toEqual([
      "Notice.TypingStarted",
      "Notice.TypingStopped",
      "Message.Text",
    ]);
    expect((await call(`POST ${C}/startTyping`, { params: { agentId: "zoe", ...c } })).status).toBe(200);
    expect((await call(`POST ${C}/stopTyping`, { params: { agentId: "zoe", ...c } })).status).toBe(200);
    const answered = await call(`POST ${C}/send`, { params: { agentId: "zoe", ...c }, json: { message: "Done.", _verbose: true } });
    // The agent's view: by the chat id; `_verbose`'s fields are the customer's (its URLs carry the session id).
    expect(answered.body).toMatchObject({ transcriptPosition: "8", chatId: chatIdOf(id) });
    expect(JSON.stringify(answered.body)).not.toContain(id);
    expect(answered.body).not.toHaveProperty("secureKey");
    const notYours = await call(`POST ${C}/send`, { params: { agentId: "bob", ...c }, form: { message: "Hi" } });
    expect([notYours.status, notYours.body.exception]).toEqual([403, "NotYourChatException"]);
    for (const op of ["startTyping", "stopTyping", "refresh", "disconnect"]) {
      expect((await call(`POST ${C}/${op}`, { params: { agentId: "bob", ...c } })).status, op).toBe(403);
    }
    for (const op of ["send", "startTyping", "stopTyping", "refresh", "disconnect"]) {
      expect((await call(`POST ${C}/${op}`, { params: { agentId: "zoe", ...c }, key: false, form: { message: "Hi" } })).status, op).toBe(
        401,
      );
      expect(
        (await call(`POST ${C}/${op}`, { params: { agentId: "zoe", chatId: chatIdOf(UNKNOWN_ID) }, form: { message: "Hi" } })).status,
        op,
      ).toBe(404);
    }
    expect((await call(`POST ${C}/send`, { params: { agentId: "zoe", ...c }, form: { message: "" } })).status).toBe(400);

    const customerSees = await call(`POST ${B}/refresh`, { params: s, query: { transcriptPosition: "5" } });
    expect(customerSees.body).toMatchObject({ chatIxnState: "TRANSCRIPT", transcriptPosition: "8" });
    expect(customerSees.body.transcriptToShow.at(-1)).toEqual(["Message.Text", "Zoe", "Done.", expect.any(String), "AGENT"]);
    const alsoPosting = await call(`POST ${B}/refresh`, { params: s, form: { transcriptPosition: "8", message: "Thanks" } });
    expect(alsoPosting.body.transcriptToShow).toEqual([["Message.Text", "Max Muster", "Thanks", expect.any(String), "CLIENT"]]);

    // The agent ends it; afterwards writes are 409 and reads still 200.
    const ended = await call(`POST ${C}/disconnect`, { params: { agentId: "zoe", ...c } });
    expect(ended.body).toMatchObject({ chatIxnState: "DISCONNECTED", chatServiceMessage: "Chat session has ended" });
    expect((await call(`POST ${C}/disconnect`, { params: { agentId: "zoe", ...c } })).status).toBe(200);
    expect((await call(`POST ${C}/send`, { params: { agentId: "zoe", ...c }, form: { message: "Hello?" } })).status).toBe(409);
    expect(
      (await call(`POST ${C}/refresh`, { params: { agentId: "zoe", ...c }, form: { transcriptPosition: "9" } })).body.chatIxnState,
    ).toBe("DISCONNECTED");
    for (const op of ["send", "startTyping", "stopTyping"]) {
      expect((await call(`POST ${B}/${op}`, { params: s, form: { message: "Hello?" } })).status, op).toBe(409);
    }
    expect((await call(`POST ${B}/disconnect`, { params: s })).body.chatIxnState).toBe("DISCONNECTED");
    expect((await call(`POST ${B}/refresh`, { params: s, form: { transcriptPosition: "0" } })).body.transcriptToShow).toHaveLength(10);

    // The service API: DELETE forgets the session.
    expect((await call(SESSION_DELETE, { params: s })).status).toBe(204);
    expect((await call(SESSION_GET, { params: s })).status).toBe(404);
    expect((await call(SESSION_DELETE, { params: s })).status).toBe(404);
    for (const op of ["", "/refresh", "/send", "/startTyping", "/stopTyping", "/disconnect"]) {
      expect((await call(`POST ${B}${op}`, { params: s, form: { message: "Hello?" } })).status, op).toBe(404);
    }
    expect(problemsSince(start)).toEqual([]);
  });

  it("routing: profiles, endpoint settings, presence, offers refused and accepted, a transfer", async () => {
    const start = problems.length;
    const AGENT = "/genesys/1/admin/agents/{agentId}";
    const ENDPOINT = "/genesys/1/admin/endpoints/{endpoint}";
    // The admin: profiles (a list, paged), an endpoint that offers its chats.
    expect(
      (await call(`PUT ${AGENT}`, { params: { agentId: "oa-new" }, json: { endpoints: [ROUTED.endpoint], maxChats: 2 } })).status,
    ).toBe(201);
    expect((await call(`PUT ${AGENT}`, { params: { agentId: "oa-new" }, form: { endpoints: ROUTED.endpoint } })).body).toMatchObject({
      agentId: "oa-new",
      endpoints: [ROUTED.endpoint],
      maxChats: 1,
    });
    expect((await call(`PUT ${AGENT}`, { params: { agentId: "oa-new" }, form: { endpoints: "", maxChats: "11" } })).status).toBe(400);
    expect((await call(`GET ${AGENT}`, { params: { agentId: "zoe" } })).body).toMatchObject({
      agentId: "zoe",
      maxChats: 10,
      load: expect.any(Number),
    });
    const page = await call("GET /genesys/1/admin/agents", { query: { limit: "2" } });
    expect(page.body.agents).toHaveLength(2);
    expect((await call("GET /genesys/1/admin/agents", { query: { after: page.body.next } })).status).toBe(200);
    expect((await call(`DELETE ${AGENT}`, { params: { agentId: "oa-new" } })).status).toBe(204);
    expect((await call(`GET ${AGENT}`, { params: { agentId: "oa-new" } })).status).toBe(404);
    expect((await call(`DELETE ${AGENT}`, { params: { agentId: "oa-new" } })).status).toBe(404);
    await call(`PUT ${SERVICE}`, { params: { name: ROUTED.service }, form: { _chat_endpoint: ROUTED.endpoint } });
    const settings = await call(`PUT ${ENDPOINT}`, {
      params: { endpoint: ROUTED.endpoint },
      form: { routing: "offer", offerTimeout: "30" },
    });
    expect(settings.body).toMatchObject({ endpoint: ROUTED.endpoint, routing: "offer", offerTimeout: 30, waiting: 0 });
    expect((await call(`PUT ${ENDPOINT}`, { params: { endpoint: ROUTED.endpoint }, form: { offerTimeout: "3" } })).status).toBe(400);
    expect((await call(`GET ${ENDPOINT}`, { params: { endpoint: ROUTED.endpoint } })).body.routing).toBe("offer");

    // Bob and carl ready there; an endpoint bob's profile does not name is refused, naming the fix.
    const foreign = await call(`PUT ${A}/presence`, { params: { agentId: "bob" }, form: { endpoint: "oa-elsewhere", state: "ready" } });
    expect([foreign.status, foreign.body.exception]).toEqual([403, "NotAssignedException"]);
    for (const agentId of ["bob", "carl"]) {
      await call(`PUT ${A}/presence`, { params: { agentId }, form: { endpoints: ROUTED.endpoint, state: "ready" } });
    }
    const session = await call(REQUEST_CHAT, { params: { service: ROUTED.service } });
    const id: string = session.body._id;
    const c = { chatId: chatIdOf(id) };
    await call(`POST ${B}`, { params: { service: id }, form: { firstName: "Ola", subject: "Routing" } });
    const offeredTo = async () => {
      for (const agentId of ["bob", "carl"]) {
        const { body } = await call(`GET ${A}/offers`, { params: { agentId } });
        if (body.offers.length > 0) return { agentId, offer: body.offers[0] };
      }
      return undefined;
    };
    await expect.poll(offeredTo, { timeout: 10_000 }).toBeDefined();
    const first = (await offeredTo()) as { agentId: string; offer: Json };
    expect(first.offer).toMatchObject({ chatId: c.chatId, endpoint: ROUTED.endpoint, nickname: "Ola", customer: { subject: "Routing" } });
    const other = first.agentId === "bob" ? "carl" : "bob";
    // The other cannot accept or refuse what is not offered to it.
    const stolen = await call(`POST ${C}/accept`, { params: { agentId: other, ...c } });
    expect([stolen.status, stolen.body.exception]).toEqual([409, "NoOfferException"]);
    expect((await call(`POST ${C}/reject`, { params: { agentId: other, ...c } })).status).toBe(409);
    expect((await call(`POST ${C}/reject`, { params: { agentId: first.agentId, ...c } })).status).toBe(204);
    await expect
      .poll(async () => (await call(`GET ${A}/offers`, { params: { agentId: other } })).body.offers.length, { timeout: 10_000 })
      .toBe(1);
    const presence = await call(`GET ${A}/presence`, { params: { agentId: other } });
    expect(presence.body.offers).toEqual([expect.objectContaining({ chatId: c.chatId })]);
    const accepted = await call(`POST ${C}/accept`, { params: { agentId: other, ...c } });
    expect(accepted.body).toMatchObject({ chatId: c.chatId, chatIxnState: "TRANSCRIPT" });

    // Handed on: a transfer needs exactly one target; to the desk's endpoint, back into its queue.
    expect((await call(`POST ${C}/transfer`, { params: { agentId: other, ...c }, form: {} })).status).toBe(400);
    const moved = await call(`POST ${C}/transfer`, { params: { agentId: other, ...c }, form: { endpoint: DESK.endpoint } });
    expect(moved.body.transcriptToShow.at(-1)).toEqual([
      "Notice.Custom",
      expect.any(String),
      "transferred the chat",
      expect.any(String),
      "AGENT",
    ]);
    const again = await call(`POST ${C}/transfer`, { params: { agentId: other, ...c }, form: { endpoint: DESK.endpoint } });
    expect([again.status, again.body.exception]).toEqual([409, "InvalidChatStateException"]);
    for (const agentId of ["bob", "carl"]) await call(`PUT ${A}/presence`, { params: { agentId }, form: { state: "not_ready" } });
    await call(`POST ${B}/disconnect`, { params: { service: id } });
    expect(problemsSince(start)).toEqual([]);
  });

  it("sign-out: every token of that sign-in refused, the person's other sign-ins untouched", async () => {
    const start = problems.length;
    const second = await signIn(stack, "zoe", "Zoe-local-1");
    const bearer = { authorization: `Bearer ${second.accessToken}` };
    const queue = { params: { agentId: "zoe" }, query: { endpoint: DESK.endpoint }, key: false };
    expect((await call(`GET ${A}/queue`, { ...queue, headers: bearer })).status).toBe(200);
    expect((await call(`POST ${A}/sign-out`, { params: { agentId: "zoe" }, key: false, headers: bearer })).status).toBe(204);
    const refused = await call(`GET ${A}/queue`, { ...queue, headers: bearer });
    expect([refused.status, refused.body.message]).toEqual([401, "This sign-in was signed out: sign in again"]);
    expect((await call(`GET ${A}/queue`, { params: { agentId: "zoe" }, query: { endpoint: DESK.endpoint } })).status).toBe(200);
    expect(problemsSince(start)).toEqual([]);
  });

  it("agent calls before accepting, customer calls before create, and a customer who leaves first", async () => {
    const start = problems.length;
    const { body } = await call(REQUEST_CHAT, { params: { service: DESK.service } });
    const s = { service: body._id as string };
    const c = { chatId: chatIdOf(body._id as string) };
    for (const op of ["send", "startTyping", "stopTyping", "disconnect"]) {
      expect((await call(`POST ${B}/${op}`, { params: s, form: { message: "Hi" } })).status, op).toBe(409);
    }
    expect((await call(`POST ${B}`, { params: s })).body.transcriptToShow).toEqual([
      ["Notice.Joined", "Customer", "has joined the session", "0", "CLIENT"],
    ]);
    for (const op of ["send", "startTyping", "stopTyping", "refresh", "disconnect"]) {
      const answer = await call(`POST ${C}/${op}`, { params: { agentId: "zoe", ...c }, form: { message: "Hi" } });
      expect([answer.status, answer.body.exception], op).toEqual([409, "InvalidChatStateException"]);
    }
    expect((await call(`POST ${B}/disconnect`, { params: s })).body.chatIxnState).toBe("DISCONNECTED");
    const ended = await call(`POST ${C}/accept`, { params: { agentId: "zoe", ...c } });
    expect([ended.status, ended.body.exception]).toEqual([409, "InvalidChatStateException"]);
    // A session with a running chat: DELETE ends it first.
    const other = await call(REQUEST_CHAT, { params: { service: DESK.service } });
    await call(`POST ${B}`, { params: { service: other.body._id } });
    expect((await call(SESSION_DELETE, { params: { service: other.body._id } })).status).toBe(204);
    expect(problemsSince(start)).toEqual([]);
  });

  it("comet: handshake, subscribe, a connect that pushes a comet chat, unsubscribe, disconnect, and what is refused", async () => {
    const start = problems.length;
    const user = { gms_user: `oa-comet-${randomUUID()}` };
    const bayeux = (type: string | undefined, messages: object, headers: Record<string, string> = user) =>
      call(type === undefined ? `POST ${COMET}` : `POST ${COMET}/{type}`, {
        params: type === undefined ? {} : { type },
        raw: JSON.stringify(messages),
        contentType: "application/json",
        headers,
      });
    const shaken = await bayeux("handshake", [
      { id: "1", channel: "/meta/handshake", version: "1.0", supportedConnectionTypes: ["long-polling"] },
    ]);
    const clientId: string = shaken.body[0].clientId;
    expect(shaken.body).toEqual([expect.objectContaining({ successful: true, supportedConnectionTypes: ["long-polling"] })]);
    expect((await bayeux(undefined, { id: "2", channel: "/meta/subscribe", clientId, subscription: "/_genesys" })).body).toEqual([
      expect.objectContaining({ successful: true, subscription: "/_genesys" }),
    ]);

    const session = await call(REQUEST_CHAT, { params: { service: DESK.service }, headers: user });
    const id: string = session.body._id;
    expect(
      (await call(`POST ${B}`, { params: { service: id }, headers: user, form: { firstName: "Max", notify_by: "comet" } })).status,
    ).toBe(200);
    const connected = await bayeux("connect", [
      { id: "3", channel: "/meta/connect", clientId, connectionType: "long-polling", advice: { timeout: 0 } },
    ]);
    expect(connected.body).toEqual([
      {
        channel: "/_genesys",
        data: { id: expect.any(String), tag: `service.chat.refresh.${id}`, message: expect.objectContaining({ transcriptPosition: "1" }) },
      },
      expect.objectContaining({ id: "3", channel: "/meta/connect", successful: true }),
    ]);

    const refused = await bayeux("subscribe", [
      { id: "4", channel: "/meta/subscribe", clientId, subscription: ["/_genesys", "/other"] },
      { id: "5", channel: "/chat/demo", clientId, data: "hello" },
      { id: "6", channel: "/meta/connect", clientId, connectionType: "websocket" },
    ]);
    expect(refused.body.map((reply: Json) => [reply.id, reply.successful, reply.error])).toEqual([
      ["4", false, "403::forbidden channel"],
      ["5", false, "403::publishing is not supported"],
      ["6", false, "301::long-polling:unsupported connection type"],
    ]);
    const anonymous = await bayeux(undefined, [{ channel: "/meta/handshake", supportedConnectionTypes: ["long-polling"] }], {});
    expect(anonymous.body).toEqual([expect.objectContaining({ successful: false, advice: { reconnect: "none", interval: 0 } })]);
    expect((await bayeux("publish", [{ channel: "/meta/handshake" }])).status).toBe(404);
    expect((await bayeux("handshake", [{ channel: 42 }])).status).toBe(400);
    expect((await bayeux("handshake", [])).status).toBe(400);
    expect((await bayeux("unsubscribe", [{ id: "7", channel: "/meta/unsubscribe", clientId, subscription: "/_genesys" }])).body).toEqual([
      expect.objectContaining({ successful: true }),
    ]);
    expect(
      (await bayeux("disconnect", [{ id: "8", channel: "/meta/disconnect", clientId, ext: { transcriptPosition: "1" } }])).body,
    ).toEqual([{ id: "8", channel: "/meta/disconnect", clientId, successful: true }]);
    expect((await bayeux("connect", [{ id: "9", channel: "/meta/connect", clientId, connectionType: "long-polling" }])).body).toEqual([
      expect.objectContaining({ successful: false, error: "402::unknown client", advice: { reconnect: "handshake", interval: 0 } }),
    ]);
    expect(problemsSince(start)).toEqual([]);
  });

  it("every operation that reads a body answers its documented 400, 413 and 415", async () => {
    const start = problems.length;
    const { body } = await call(REQUEST_CHAT, { params: { service: "request-chat" } });
    const withBody = checker.operations.filter((op) => op.method === "POST" || op.method === "PUT");
    expect(withBody.length).toBeGreaterThan(0);
    for (const op of withBody) {
      const responses = op.operation.responses;
      const base = validInput(op, body._id);
      const sent: [string, CallOptions, string][] = [
        ["400", { raw: "a=1&a=2", contentType: "application/x-www-form-urlencoded" }, "BadRequestException"],
        ["413", { form: { a: "x".repeat(70 * 1024) } }, "PayloadTooLargeException"],
        ["415", { raw: "<a/>", contentType: "application/xml" }, "UnsupportedMediaTypeException"],
      ];
      for (const [status, bad, exception] of sent) {
        // Every POST and PUT decodes a body, so each must document these answers too.
        expect(responses[status], `${op.method} ${op.path} documents ${status}`).toBeDefined();
        const answer = await call(`${op.method} ${op.path}`, { params: base.params ?? {}, ...bad });
        expect([answer.status, answer.body.exception], `${op.method} ${op.path}`).toEqual([Number(status), exception]);
      }
    }
    expect(problemsSince(start)).toEqual([]);
  });

  it("every operation that reads DynamoDB answers 503 StorageUnavailableException with Retry-After while it is down", async () => {
    const start = problems.length;
    const live = await call(REQUEST_CHAT, { params: { service: "request-chat" } });
    const id: string = live.body._id;
    await call(`POST ${B}`, { params: { service: id } });
    const stored = checker.operations.filter((op) => op.operation.responses["503"] !== undefined);
    // All but the pages and their settings, which read no storage.
    expect(stored.length).toBe(checker.operations.length - 4);
    await local.withDynamoDown(async () => {
      for (const op of stored) {
        const answer = await call(`${op.method} ${op.path}`, validInput(op, id));
        expect([answer.status, answer.body.exception, answer.headers["retry-after"]], `${op.method} ${op.path}`).toEqual([
          503,
          "StorageUnavailableException",
          "2",
        ]);
      }
    });
    // Nothing was half-done, and the stack serves again without a restart.
    expect((await call(SESSION_GET, { params: { service: id } })).status).toBe(200);
    expect((await call(`POST ${B}/refresh`, { params: { service: id } })).body).toMatchObject({
      chatIxnState: "CONNECTED",
      transcriptPosition: "1",
    });
    expect(problemsSince(start)).toEqual([]);
  });
});

/** Parameters and fields that take an operation past its validation, to its first DynamoDB call. */
function validInput(op: { method: string; path: string }, sessionId: string): CallOptions {
  const params: Record<string, string> = {};
  for (const [, name = ""] of op.path.matchAll(/\{([^}]+)\}/g)) {
    const isRequestChat = `${op.method} ${op.path}` === REQUEST_CHAT;
    params[name] =
      {
        agentId: "zoe",
        name: DESK.service,
        endpoint: CLOSED.endpoint,
        service: isRequestChat ? "request-chat" : sessionId,
        chatId: chatIdOf(sessionId),
      }[name] ?? name;
  }
  const fields: Record<string, Record<string, string>> = {
    [`PUT ${A}/presence`]: { endpoint: DESK.endpoint, state: "ready" },
    [`POST ${C}/transfer`]: { endpoint: DESK.endpoint },
    "PUT /genesys/1/admin/agents/{agentId}": { endpoints: DESK.endpoint },
    [`PUT ${AVAILABILITY}`]: { available: "false" },
    [`POST ${B}/send`]: { message: "Hi" },
    [`POST ${C}/send`]: { message: "Hi" },
  };
  if (`${op.method} ${op.path}` === `GET ${A}/queue`) return { params, query: { endpoint: DESK.endpoint } };
  if (op.path.startsWith(COMET)) {
    const handshake = { channel: "/meta/handshake", version: "1.0", supportedConnectionTypes: ["long-polling"] };
    return {
      params: op.path.endsWith("{type}") ? { type: "handshake" } : {},
      raw: JSON.stringify([handshake]),
      contentType: "application/json",
      headers: { gms_user: "oa-comet" },
    };
  }
  const form = fields[`${op.method} ${op.path}`];
  return form === undefined ? { params } : { params, form };
}

describe("openapi.yaml: coverage of the scenario", () => {
  it("every recorded answer is documented: status, content type, body and headers", () => {
    expect(exchanges.length).toBeGreaterThan(100);
    expect(problems).toEqual([]);
  });

  it("every operation of openapi.yaml was called at least once", () => {
    const called = new Set(exchanges.map((exchange) => `${exchange.method} ${exchange.template}`));
    const missed = checker.operations.map((op) => `${op.method} ${op.path}`).filter((op) => !called.has(op));
    expect(missed).toEqual([]);
  });

  it("every operation answered at least one documented success", () => {
    const succeeded = new Set(
      exchanges.filter((exchange) => exchange.status < 400).map((exchange) => `${exchange.method} ${exchange.template}`),
    );
    const never = checker.operations.map((op) => `${op.method} ${op.path}`).filter((op) => !succeeded.has(op));
    expect(never).toEqual([]);
  });
});
