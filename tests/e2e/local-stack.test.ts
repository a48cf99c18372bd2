import { request as httpRequest } from "node:http";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { chatIdOf } from "../../lib/session/ids.ts";
import type { LocalStack } from "../../scripts/local/launch.ts";
import { ensureTables, STACK_ADMIN_KEY, stageTableNames, toolingDocumentClient } from "../../scripts/local/stack.ts";
import { MAX_CONNECTIONS_PER_CLIENT, MAX_MESSAGE_BYTES } from "../../scripts/local/websocket.ts";
import { LOCAL_USERS, type SignedIn, signIn } from "../support/identity.ts";
import { letAgentsPick, serve, startTestStack, type TestStack } from "../support/stack.ts";

/**
 * The real `serverless offline start`, launched by `npm start`'s script against a DynamoDB the test
 * owns (AWS_ENDPOINT_URL_DYNAMODB), driven over HTTP.
 */
let local: TestStack;
let stack: LocalStack;
const tables = stageTableNames("dev");

/**
 * The data folder of an older version: its config table in the first layout (everything in the
 * partition `config`), which `npm start` moves to the current one.
 */
async function olderVersionData(endpoint: string) {
  const client = toolingDocumentClient(endpoint);
  await ensureTables(client, tables);
  const updatedAt = "2026-01-02T03:04:05.000Z";
  for (const item of [
    { sk: "service#kept_from_before", name: "kept_from_before", ttlSeconds: 600, chatEndpoint: "before_q", updatedAt },
    { sk: "availability#before_q", endpoint: "before_q", available: true, updatedAt },
    { sk: "presence#before_q#kim", agentId: "kim", endpoint: "before_q", nickname: "Kim", expiresAt: 1_900_000_000 },
  ]) {
    await client.send(new PutCommand({ TableName: tables.config, Item: { pk: "config", ...item } }));
  }
  client.destroy();
}

beforeAll(async () => {
  local = await startTestStack({}, olderVersionData);
  stack = local.stack;
});
afterAll(async () => {
  await local?.stop();
});

describe("data of an older version", () => {
  it("moves the older config layout's services and notifications at start, says so, and serves them", async () => {
    expect(stack.output()).toContain(
      "moved 1 services and 1 availability notifications to the current config layout; 1 agents' presence was dropped",
    );
    const opened = await requestChat("kept_from_before");
    expect(opened.status).toBe(200);
    expect(await readJson(await admin("services/kept_from_before"))).toMatchObject({ _ttl: 600, _chat_endpoint: "before_q" });
  });
});

function requestChat(service: string, form: Record<string, string> = {}) {
  return fetch(`${stack.baseUrl}/genesys/1/service/${service}`, { method: "POST", body: new URLSearchParams(form) });
}

function admin(path: string, init: RequestInit & { key?: string | null } = {}) {
  const { key = STACK_ADMIN_KEY, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (key !== null) headers.set("x-api-key", key);
  return fetch(`${stack.baseUrl}/genesys/1/admin/${path}`, { ...rest, headers });
}

// biome-ignore lint/suspicious/noExplicitAny: test-side JSON is checked by assertions, not by types.
type Json = Record<string, any>;

async function readJson(response: Response): Promise<Json> {
  return (await response.json()) as Json;
}

async function storedSession(id: string) {
  const client = toolingDocumentClient(local.dynamoEndpoint);
  const { Item } = await client.send(new GetCommand({ TableName: tables.sessions, Key: { id: chatIdOf(id), sk: "session" } }));
  client.destroy();
  return Item;
}

/** Polls until the predicate holds: availability lapses on the clock, there is no event to await. */
async function eventually(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

describe("npm start: the seeded request-chat service", () => {
  it("answers the README's example request with the documented 200 body and headers", async () => {
    const response = await requestChat("request-chat", { firstName: "Anna" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(response.headers.get("cache-control")).toBe("no-cache, no-store");
    expect(response.headers.get("pragma")).toBe("no-cache");
    const body = await readJson(response);
    expect(Object.keys(body).sort()).toEqual(["_chatIxnAPI-CREATE-URL", "_id"]);
    expect(body["_chatIxnAPI-CREATE-URL"]).toBe(`/genesys/1/service/${body._id}/ixn/chat`);
  });

  it("writes the TTL attribute as epoch seconds: now + the request's _ttl", async () => {
    const before = Math.floor(Date.now() / 1000);
    const { _id } = await readJson(await requestChat("request-chat", { firstName: "Anna", _ttl: "120" }));
    const after = Math.floor(Date.now() / 1000);
    const item = await storedSession(_id);
    expect(item).toMatchObject({
      id: chatIdOf(_id),
      sessionId: _id,
      serviceName: "request-chat",
      chatEndpoint: "gms_builtin",
      data: { firstName: "Anna" },
      ttlSeconds: 120,
    });
    expect(item?.expiresAt).toBeGreaterThanOrEqual(before + 120);
    expect(item?.expiresAt).toBeLessThanOrEqual(after + 120);
  });

  it("answers 404 with the JSON error for a service that is not configured", async () => {
    const response = await requestChat("NoSuchService");
    expect(response.status).toBe(404);
    expect(await readJson(response)).toEqual({ message: expect.any(String), exception: "NotFoundException" });
  });

  it("answers 400 for an invalid _ttl", async () => {
    const response = await requestChat("request-chat", { _ttl: "forever" });
    expect(response.status).toBe(400);
    expect((await readJson(response)).exception).toBe("BadRequestException");
  });
});

describe("npm start: the admin API", () => {
  it.each([
    ["without a key", null],
    ["with a wrong key", "not-the-key-not-the-key"],
  ])("rejects calls %s", async (_name, key) => {
    for (const [path, method] of [
      ["services", "GET"],
      ["services/request-chat", "GET"],
      ["services/Hacked", "PUT"],
      ["services/request-chat", "DELETE"],
      ["availability/gms_builtin", "GET"],
      ["availability/gms_builtin", "PUT"],
    ] as const) {
      const response = await admin(path, { method, key, body: method === "PUT" ? "available=false" : null });
      expect(response.status, `${method} ${path}`).toBe(401);
      expect(response.headers.get("www-authenticate"), `${method} ${path}`).toMatch(/^Bearer /);
    }
    expect((await admin("services/request-chat")).status).toBe(200);
    expect((await admin("services/Hacked")).status).toBe(404);
    expect((await requestChat("request-chat")).status).toBe(200);
  });

  it("503 until the service's endpoint gets an availability notification, then 200", async () => {
    const created = await admin("services/Chat2", { method: "PUT", body: new URLSearchParams({ _chat_endpoint: "sales" }) });
    expect(created.status).toBe(201);
    expect(await readJson(created)).toMatchObject({ name: "Chat2", _ttl: 3600, _chat_endpoint: "sales" });

    const closed = await requestChat("Chat2", { firstName: "Anna" });
    expect(closed.status).toBe(503);
    expect(closed.headers.get("retry-after")).toBe("10");
    expect(await readJson(closed)).toEqual({ message: expect.any(String), exception: "NoAgentAvailableException" });

    const notified = await admin("availability/sales", { method: "PUT", body: new URLSearchParams({ available: "true" }) });
    expect(notified.status).toBe(200);
    expect((await readJson(await admin("availability/sales"))).available).toBe(true);
    expect((await requestChat("Chat2", { firstName: "Anna" })).status).toBe(200);

    await admin("availability/sales", { method: "PUT", body: new URLSearchParams({ available: "false" }) });
    expect((await requestChat("Chat2")).status).toBe(503);
  });

  it("applies a configuration change to the very next request", async () => {
    await admin("availability/support", { method: "PUT", body: new URLSearchParams({ available: "true" }) });
    const json = { "Content-Type": "application/json" };
    await admin("services/Chat3", { method: "PUT", headers: json, body: JSON.stringify({ _ttl: 60, _chat_endpoint: "support" }) });
    const first = await readJson(await requestChat("Chat3"));
    expect((await storedSession(first._id))?.ttlSeconds).toBe(60);

    const updated = await admin("services/Chat3", {
      method: "PUT",
      headers: json,
      body: JSON.stringify({ _ttl: 300, _chat_endpoint: "support" }),
    });
    expect(updated.status).toBe(200);
    const second = await readJson(await requestChat("Chat3"));
    expect((await storedSession(second._id))?.ttlSeconds).toBe(300);

    await admin("services/Chat3", { method: "PUT", body: new URLSearchParams({ _chat_endpoint: "nobody" }) });
    expect((await requestChat("Chat3")).status).toBe(503);

    expect((await admin("services/Chat3", { method: "DELETE" })).status).toBe(204);
    expect((await requestChat("Chat3")).status).toBe(404);
    expect((await admin("services/Chat3", { method: "DELETE" })).status).toBe(404);
  });

  it("refuses invalid options with a 400 and keeps the previous configuration", async () => {
    for (const body of ["_ttl=0", "_ttl=abc", "_chat_endpoint=", "_tll=60"]) {
      const response = await admin("services/request-chat", { method: "PUT", body: new URLSearchParams(body) });
      expect(response.status, body).toBe(400);
      expect((await readJson(response)).exception).toBe("BadRequestException");
    }
    expect(await readJson(await admin("services/request-chat"))).toMatchObject({ _ttl: 3600, _chat_endpoint: "gms_builtin" });
    expect((await admin("availability/gms_builtin", { method: "PUT", body: new URLSearchParams({ available: "yes" }) })).status).toBe(400);
  });

  it("lets a notification sent with _ttl lapse, after which request-chat answers 503 again", async () => {
    await admin("services/Brief", { method: "PUT", body: new URLSearchParams({ _chat_endpoint: "brief" }) });
    const notified = await admin("availability/brief", { method: "PUT", body: new URLSearchParams({ available: "true", _ttl: "2" }) });
    expect(await readJson(notified)).toMatchObject({ available: true, notification: { lapsed: false } });
    expect((await requestChat("Brief")).status).toBe(200);

    expect(await eventually(async () => (await requestChat("Brief")).status === 503)).toBe(true);
    expect(await readJson(await admin("availability/brief"))).toMatchObject({ available: false, notification: { lapsed: true } });
  });
});

describe("npm start: browsers", () => {
  const own = () => `http://localhost:${stack.ports.http}`;
  const other = "https://shop.example.com";

  it.each([
    ["request-chat", "/genesys/1/service/request-chat", "POST"],
    ["admin services", "/genesys/1/admin/services", "GET"],
    ["an admin service", "/genesys/1/admin/services/request-chat", "PUT"],
    ["admin availability", "/genesys/1/admin/availability/gms_builtin", "PUT"],
  ])("answers the preflight of %s from the stack's own pages, and no other site's", async (_name, path, method) => {
    const preflight = (origin: string) =>
      fetch(`${stack.baseUrl}${path}`, {
        method: "OPTIONS",
        headers: {
          Origin: origin,
          "Access-Control-Request-Method": method,
          "Access-Control-Request-Headers": "content-type,gms_user,x-api-key",
        },
      });
    const response = await preflight(own());
    expect(response.status).toBeLessThan(300);
    expect(response.headers.get("access-control-allow-origin")).toBe(own());
    expect(response.headers.get("access-control-allow-methods")).toContain(method);
    expect(response.headers.get("access-control-allow-headers")?.split(",")).toEqual(
      expect.arrayContaining(["authorization", "content-type", "gms_user", "x-api-key"]),
    );
    // CORS_ALLOWED_ORIGINS unset: another site's page may not call the API from the browser (its
    // preflight names the stack's own origin, not the caller's).
    const refused = await preflight(other);
    expect(refused.headers.get("access-control-allow-origin")).toBe(`http://localhost:${stack.ports.http}`);
  });

  it("puts Access-Control-Allow-Origin on answers and errors alike", async () => {
    const headers = { Origin: own(), gms_user: "anna" };
    const answers = [
      await fetch(`${stack.baseUrl}/genesys/1/service/request-chat`, { method: "POST", headers, body: new URLSearchParams({ a: "1" }) }),
      await fetch(`${stack.baseUrl}/genesys/1/service/NoSuchService`, { method: "POST", headers }),
      await fetch(`${stack.baseUrl}/genesys/1/service/request-chat`, { method: "POST", headers, body: new URLSearchParams({ _ttl: "x" }) }),
      await fetch(`${stack.baseUrl}/genesys/1/admin/services`, { headers }),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 404, 400, 401]);
    for (const answer of answers) expect(answer.headers.get("access-control-allow-origin")).toBe(own());
  });

  it("gives the console's sign-in settings to its own pages only, whatever origins CORS allows", async () => {
    // stack.baseUrl is the origin the pages are served from.
    const settings = await fetch(`${stack.baseUrl}/agent/config.json`, { headers: { Origin: other } });
    expect(settings.status).toBe(200);
    expect(settings.headers.get("access-control-allow-origin")).toBe(stack.baseUrl);
    // The widget's settings follow CORS (a widget copied onto an allowed site reads them).
    const widget = await fetch(`${stack.baseUrl}/chat/config.json`, { headers: { Origin: own() } });
    expect(widget.headers.get("access-control-allow-origin")).toBe(own());
  });
});

describe("npm start: what web pages can reach", () => {
  it("listens on TCP for the API, the WebSocket API, the identity provider's proxy and routing's queue only, on loopback: the Lambda invoke API and the identity emulator are on Unix sockets", () => {
    expect(stack.listening().sort((a, b) => a.port - b.port)).toEqual(
      [stack.ports.http, stack.ports.websocket, stack.ports.identity, stack.ports.sqs]
        .sort((a, b) => a - b)
        .map((port) => ({ port, loopback: true })),
    );
  });

  it("refuses a web page's request to routing's local queue, which would run any task", async () => {
    const answer = await fetch(`http://127.0.0.1:${stack.ports.sqs}/`, {
      method: "POST",
      headers: { origin: "https://attacker.example", "content-type": "application/x-amz-json-1.0", "x-amz-target": "AmazonSQS.ListQueues" },
      body: "{}",
    });
    expect(answer.status).toBe(403);
  });

  it("runs no function for a page that posts a Lambda invoke request (the admin function's, without a key)", async () => {
    const event = {
      resource: "/genesys/1/admin/services/{name}",
      path: "/genesys/1/admin/services/from-a-web-page",
      httpMethod: "PUT",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      pathParameters: { name: "from-a-web-page" },
      body: "_ttl=60",
      requestContext: { requestId: "from-a-web-page" },
    };
    // What a page may send with no preflight: a POST of text/plain.
    const response = await fetch(`${stack.baseUrl}/2015-03-31/functions/gms-chat-dev-admin/invocations`, {
      method: "POST",
      headers: { Origin: "http://evil.example", "content-type": "text/plain" },
      body: JSON.stringify(event),
    });
    expect(response.ok).toBe(false);
    expect((await admin("services/from-a-web-page")).status).toBe(404);
  });
});

describe("npm start: the WebSocket port", () => {
  /** A connection's outcome: open (and its socket), or the HTTP status that refused it. */
  const connect = (headers: Record<string, string> = {}) =>
    new Promise<{ socket?: WebSocket; status?: number }>((resolve, reject) => {
      const socket = new WebSocket(stack.pushUrl, { headers });
      socket.once("open", () => resolve({ socket }));
      socket.once("unexpected-response", (_request, response) => resolve({ status: response.statusCode ?? 0 }));
      socket.once("error", reject);
    });
  const closed = (socket: WebSocket) => new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
  const next = (socket: WebSocket) => new Promise<Json>((resolve) => socket.once("message", (data) => resolve(JSON.parse(String(data)))));

  it("takes connections from the stack's pages and from programs, never from another site's page", async () => {
    expect((await connect({ Origin: "http://evil.example" })).status).toBe(403);
    for (const headers of [{ Origin: new URL(stack.baseUrl).origin }, {}]) {
      const { socket } = await connect(headers);
      socket?.send(JSON.stringify({ action: "ping" }));
      expect(await next(socket as WebSocket)).toEqual({ channel: "/gms/pong", data: {} });
      socket?.close();
    }
  });

  it("closes a connection on a message over API Gateway's 128 KB with 1009, and answers one below it", async () => {
    const { socket } = await connect();
    const open = socket as WebSocket;
    open.send("x".repeat(100 * 1024));
    // The push function refuses it (its messages are small), on a connection that stays open.
    expect((await next(open)).data).toMatchObject({ status: 400 });
    const gone = closed(open);
    open.send("x".repeat(MAX_MESSAGE_BYTES + 1));
    expect(await gone).toBe(1009);
  });

  it("holds one client to its number of open connections", async () => {
    const opened = await Promise.all(Array.from({ length: MAX_CONNECTIONS_PER_CLIENT }, () => connect()));
    expect(opened.every((outcome) => outcome.socket !== undefined)).toBe(true);
    expect((await connect()).status).toBe(429);
    await Promise.all(
      opened.map(({ socket }) => {
        const gone = closed(socket as WebSocket);
        socket?.close();
        return gone;
      }),
    );
    // Closed, they leave room again.
    const { socket } = await connect();
    expect(socket).toBeDefined();
    socket?.close();
  });

  it("takes Management API calls with this run's secret only: a page cannot post forged frames", async () => {
    const { socket } = await connect();
    const open = socket as WebSocket;
    // Its connection id, as the push function's answers never tell it: any id will do for the refusal.
    for (const headers of [{}, { "x-gms-management-secret": "guessed" }, { "content-type": "text/plain" }]) {
      const forged = await fetch(`${stack.pushUrl.replace("ws:", "http:")}/@connections/any-id`, {
        method: "POST",
        headers,
        body: JSON.stringify({ channel: "/gms/refresh", data: {} }),
      });
      expect(forged.status).toBe(403);
    }
    open.close();
  });
});

describe("npm start: DynamoDB outage", () => {
  it("answers 503 with Retry-After while DynamoDB is down, and serves again once it is back", async () => {
    await local.withDynamoDown(async () => {
      const down = await requestChat("request-chat", { firstName: "Anna" });
      expect(down.status).toBe(503);
      expect(down.headers.get("retry-after")).toBe("2");
      expect(await readJson(down)).toEqual({ message: expect.any(String), exception: "StorageUnavailableException" });
    });
    const back = await requestChat("request-chat", { firstName: "Anna" });
    expect(back.status).toBe(200);
    expect(await storedSession((await readJson(back))._id)).toBeDefined();
  });
});

describe("npm start: what field clients send", () => {
  const service = "/genesys/1/service/request-chat";
  async function storedData(response: Response) {
    expect(response.status).toBe(200);
    return (await storedSession((await readJson(response))._id))?.data;
  }

  it("accepts multipart/form-data", async () => {
    const form = new FormData();
    form.set("firstName", "Anna");
    form.set("subject", "Café");
    expect(await storedData(await fetch(`${stack.baseUrl}${service}`, { method: "POST", body: form }))).toEqual({
      firstName: "Anna",
      subject: "Café",
    });
  });

  it("accepts JSON objects, turning numbers and booleans into strings", async () => {
    const response = await fetch(`${stack.baseUrl}${service}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ firstName: "Anna", orderId: 42, vip: true }),
    });
    expect(await storedData(response)).toEqual({ firstName: "Anna", orderId: "42", vip: "true" });
  });

  it("accepts parameters in the query string, the body winning", async () => {
    const response = await fetch(`${stack.baseUrl}${service}?firstName=Query&lang=de`, {
      method: "POST",
      body: new URLSearchParams({ firstName: "Anna" }),
    });
    expect(await storedData(response)).toEqual({ firstName: "Anna", lang: "de" });
  });

  it("accepts a form sent with no content type", async () => {
    const response = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${stack.baseUrl}${service}`, { method: "POST" }, (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.end("firstName=Anna");
    });
    expect(response.status).toBe(200);
    expect((await storedSession(JSON.parse(response.body)._id))?.data).toEqual({ firstName: "Anna" });
  });

  it("refuses bytes that are not UTF-8 with a 400 wherever they come (query, form, JSON, multipart), and U+FFFD, which the gateway puts in their place", async () => {
    const bad = Buffer.from([0xff, 0xfe]);
    const boundary = "----utf8check";
    const multipart = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="firstName"\r\n\r\nAn`),
      bad,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const sent: [string, RequestInit, string?][] = [
      ["query", { method: "POST" }, "?firstName=%FF%FE"],
      [
        "form",
        {
          method: "POST",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
          body: Buffer.concat([Buffer.from("firstName=An"), bad]),
        },
      ],
      [
        "JSON",
        {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: Buffer.concat([Buffer.from('{"firstName":"An'), bad, Buffer.from('"}')]),
        },
      ],
      ["multipart", { method: "POST", headers: { "Content-Type": `multipart/form-data; boundary=${boundary}` }, body: multipart }],
      ["U+FFFD itself", { method: "POST", body: new URLSearchParams({ firstName: "An\uFFFD" }) }],
    ];
    for (const [name, init, query] of sent) {
      const response = await fetch(`${stack.baseUrl}${service}${query ?? ""}`, init);
      expect([response.status, (await readJson(response)).message], name).toEqual([400, expect.stringMatching(/not valid UTF-8/)]);
    }
  });

  it("answers 413 above 64 KB and 415 for other media types", async () => {
    const big = await fetch(`${stack.baseUrl}${service}`, { method: "POST", body: new URLSearchParams({ a: "x".repeat(70 * 1024) }) });
    expect(big.status).toBe(413);
    expect((await readJson(big)).exception).toBe("PayloadTooLargeException");
    const xml = await fetch(`${stack.baseUrl}${service}`, { method: "POST", headers: { "Content-Type": "application/xml" }, body: "<a/>" });
    expect(xml.status).toBe(415);
  });

  it("answers a retry with the same Idempotency-Key with the same session", async () => {
    const send = (body: string) =>
      fetch(`${stack.baseUrl}${service}`, {
        method: "POST",
        headers: { "IDEMPOTENCY-KEY": "e2e-retry-1" },
        body: new URLSearchParams(body),
      });
    const first = await readJson(await send("firstName=Anna"));
    const again = await readJson(await send("firstName=Anna"));
    expect(again._id).toBe(first._id);
    expect((await send("firstName=Bob")).status).toBe(409);
  });
});

describe("npm start: a chat between a customer and an agent", () => {
  let anna: SignedIn;
  beforeAll(async () => {
    anna = await signIn(stack, ...LOCAL_USERS.anna);
  });
  const post = (path: string, form: Record<string, string> = {}, headers: Record<string, string> = {}) =>
    fetch(`${stack.baseUrl}${path}`, { method: "POST", headers, body: new URLSearchParams(form) });
  const agentCall = (path: string, init: RequestInit = {}) =>
    fetch(`${stack.baseUrl}/genesys/1/agent/anna${path}`, {
      ...init,
      headers: { ...anna.authorization, ...(init.headers as Record<string, string>) },
    });

  it("runs request-chat, create, queue, accept, messages both ways, disconnect, refresh, DELETE", async () => {
    await admin("services/Helpdesk", { method: "PUT", body: new URLSearchParams({ _chat_endpoint: "helpdesk" }) });
    // Anna serves helpdesk, whose agents pick their chats from its queue.
    await serve(stack, "anna", ["gms_builtin", "helpdesk"]);
    await letAgentsPick(stack, ["helpdesk"]);
    expect((await post("/genesys/1/service/Helpdesk")).status).toBe(503);
    const ready = await agentCall("/presence", {
      method: "PUT",
      body: new URLSearchParams({ endpoint: "helpdesk", state: "ready", nickname: "Zoe" }),
    });
    expect(ready.status).toBe(200);
    expect(
      (await fetch(`${stack.baseUrl}/genesys/1/agent/anna/presence`, { method: "PUT", body: "endpoint=helpdesk&state=ready" })).status,
    ).toBe(401);

    const { _id: id, "_chatIxnAPI-CREATE-URL": createUrl } = await readJson(
      await post("/genesys/1/service/Helpdesk", { firstName: "Max" }),
    );
    const created = await readJson(await post(createUrl, { firstName: "Max", subject: "Refund" }));
    expect(created).toMatchObject({ chatIxnState: "CONNECTED", transcriptPosition: "1" });

    const queue = await readJson(await agentCall("/queue?endpoint=helpdesk"));
    expect(queue.chats.map((c: Json) => c.id)).toContain(chatIdOf(id));
    const accepted = await readJson(await agentCall(`/chats/${chatIdOf(id)}/accept`, { method: "POST" }));
    expect(accepted.chatIxnState).toBe("TRANSCRIPT");

    await post(`${createUrl}/startTyping`);
    await post(`${createUrl}/send`, { message: "I want a refund" });
    const seenByAgent = await readJson(
      await agentCall(`/chats/${chatIdOf(id)}/refresh`, { method: "POST", body: new URLSearchParams({ transcriptPosition: "2" }) }),
    );
    expect(seenByAgent.transcriptToShow).toEqual([
      ["Notice.TypingStarted", "Max", "", expect.any(String), "CLIENT"],
      ["Message.Text", "Max", "I want a refund", expect.any(String), "CLIENT"],
    ]);
    await agentCall(`/chats/${chatIdOf(id)}/startTyping`, { method: "POST" });
    await agentCall(`/chats/${chatIdOf(id)}/send`, { method: "POST", body: new URLSearchParams({ message: "Done." }) });
    const seenByCustomer = await readJson(await fetch(`${stack.baseUrl}${createUrl}/refresh?transcriptPosition=4`, { method: "POST" }));
    expect(seenByCustomer.transcriptToShow).toEqual([
      ["Notice.TypingStarted", "Zoe", "", expect.any(String), "AGENT"],
      ["Message.Text", "Zoe", "Done.", expect.any(String), "AGENT"],
    ]);
    expect(seenByCustomer.transcriptPosition).toBe("6");

    const ended = await readJson(await agentCall(`/chats/${chatIdOf(id)}/disconnect`, { method: "POST" }));
    expect(ended.chatIxnState).toBe("DISCONNECTED");
    const after = await post(`${createUrl}/refresh`, { transcriptPosition: "6" });
    expect(after.status).toBe(200);
    expect(await readJson(after)).toMatchObject({
      chatIxnState: "DISCONNECTED",
      transcriptToShow: [["Notice.Left", "Zoe", "has left the session", expect.any(String), "AGENT"]],
    });

    expect((await fetch(`${stack.baseUrl}/genesys/1/service/${id}`)).status).toBe(200);
    expect((await fetch(`${stack.baseUrl}/genesys/1/service/${id}`, { method: "DELETE" })).status).toBe(204);
    const gone = await fetch(`${stack.baseUrl}/genesys/1/service/${id}`);
    expect(gone.status).toBe(404);
    expect(await readJson(gone)).toEqual({ message: expect.any(String), exception: "NotFoundException" });
  });
});
