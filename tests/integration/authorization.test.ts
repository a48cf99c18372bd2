import { createSign, generateKeyPairSync, type KeyObject, randomUUID } from "node:crypto";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyEvent, APIGatewayRequestAuthorizerEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { signedOutCheck } from "../../lib/agents/sign-out.ts";
import { authorizerHandler } from "../../lib/http/authorizer.ts";
import { corsPolicy } from "../../lib/http/cors.ts";
import { adminHandler } from "../../lib/http/routes/admin.ts";
import { agentHandler } from "../../lib/http/routes/agent.ts";
import { chatHandler } from "../../lib/http/routes/chat.ts";
import { requestChatHandler } from "../../lib/http/routes/request-chat.ts";
import type { IdentityConfig } from "../../lib/identity/config.ts";
import { createTokenVerifier } from "../../lib/identity/tokens.ts";
import { chatIdOf } from "../../lib/session/ids.ts";
import { startTestDynamo, type TestDynamo } from "../support/dynamo.ts";
import { callRoute, httpEvent } from "../support/events.ts";
import { pickOn, profileFor, testService } from "../support/service.ts";
import { startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

/**
 * The authorizer (lib/http/authorizer.ts, with the real token verifier) in front of the real agent
 * and admin handlers, as API Gateway chains them: the authorizer's context becomes the event's
 * `requestContext.authorizer`. Tokens are signed here with a test key served as a JWKS.
 */
const POOL = "eu-west-1_AuthTest";
const CLIENT_ID = "console0client0id0000000000";
const KEY = "test-key";
const ADMIN_KEY = "machine-key-0123456789abcdef";
const signing = generateKeyPairSync("rsa", { modulusLength: 2048 });
const foreign = generateKeyPairSync("rsa", { modulusLength: 2048 });
const start = new Date("2026-11-25T10:00:00Z");
let clock = start;
let issuer: TestIssuer | undefined;
let config: IdentityConfig;
let db: TestDynamo;
let agent: ReturnType<typeof agentHandler>;
let admin: ReturnType<typeof adminHandler>;
let customer: { requestChat: ReturnType<typeof requestChatHandler>; chat: ReturnType<typeof chatHandler> };
let authorizer: ReturnType<typeof authorizerHandler>;
let adminAuthorizer: ReturnType<typeof authorizerHandler>;
let logs: string[] = [];

function sign(claims: Record<string, unknown>, key: KeyObject = signing.privateKey): string {
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const input = `${b64({ alg: "RS256", typ: "JWT", kid: KEY })}.${b64(claims)}`;
  return `${input}.${createSign("RSA-SHA256").update(input).sign(key).toString("base64url")}`;
}

/** An access token as the pool issues it, valid for the next 30 minutes of the real clock (aws-jwt-verify reads it). */
function token(username: string, groups: string[], overrides: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  return sign({
    sub: `sub-of-${username}`,
    "cognito:groups": groups,
    iss: config.issuer,
    client_id: CLIENT_ID,
    token_use: "access",
    username,
    iat: now,
    exp: now + 1800,
    jti: randomUUID(),
    ...overrides,
  });
}

beforeAll(async () => {
  issuer = await startTestIssuer(POOL, CLIENT_ID, signing.publicKey, KEY);
  config = issuer.config;
  const verifier = createTokenVerifier(config);
  vi.spyOn(console, "log").mockImplementation((line: string) => {
    logs.push(String(line));
  });
  db = await startTestDynamo();
  const signedOut = signedOutCheck({ agents: db.agents, now: () => clock });
  authorizer = authorizerHandler({ verify: (t) => verifier.verify(t), signedOut });
  adminAuthorizer = authorizerHandler({ verify: (t) => verifier.verify(t), signedOut, apiKey: async () => ADMIN_KEY });
  const deps = { ...testService(db, { now: () => clock }), cors: corsPolicy("*") };
  await pickOn(db, ["auth_q"]);
  for (const agentId of ["anna", "ben", "sam"]) await profileFor(db, agentId, ["auth_q"]);
  agent = agentHandler(deps);
  admin = adminHandler(deps);
  customer = { requestChat: requestChatHandler(deps), chat: chatHandler(deps) };
  await db.config.putService({ name: "auth", ttlSeconds: 3600, chatEndpoint: "auth_q", updatedAt: start.toISOString() });
});
afterAll(async () => {
  vi.restoreAllMocks();
  await db?.close();
  await issuer?.close();
});

const METHOD_ARN = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/genesys/1/agent/anna/queue";

/** The request through the authorizer, then the function, as API Gateway chains them. */
async function through(
  family: "agent" | "admin",
  event: APIGatewayProxyEvent,
): Promise<{ status: number; headers: Record<string, unknown>; body: Record<string, unknown> }> {
  const authorizerEvent = {
    type: "REQUEST",
    methodArn: METHOD_ARN,
    headers: event.headers,
    httpMethod: event.httpMethod,
    resource: event.resource,
  } as unknown as APIGatewayRequestAuthorizerEvent;
  const answer = await (family === "agent" ? authorizer : adminAuthorizer)(authorizerEvent);
  // The policy allows the whole stage: a cached answer must hold for the token's next method too.
  expect(answer.policyDocument.Statement).toEqual([
    { Action: "execute-api:Invoke", Effect: "Allow", Resource: "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/*" },
  ]);
  const withContext = { ...event, requestContext: { ...event.requestContext, authorizer: answer.context } } as APIGatewayProxyEvent;
  const response = await (family === "agent" ? agent : admin)(withContext);
  return { status: response.statusCode, headers: response.headers ?? {}, body: response.body === "" ? {} : JSON.parse(response.body) };
}

function queue(agentId: string, headers: Record<string, string>, endpoint = "auth_q") {
  return httpEvent({
    resource: "/genesys/1/agent/{agentId}/queue",
    httpMethod: "GET",
    pathParameters: { agentId },
    queryStringParameters: { endpoint },
    headers,
  });
}

function presence(agentId: string, headers: Record<string, string>) {
  return httpEvent({
    resource: "/genesys/1/agent/{agentId}/presence",
    httpMethod: "PUT",
    pathParameters: { agentId },
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: "endpoint=auth_q&state=ready",
  });
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe("the authorizer and the agent function together", () => {
  it("lets an agent act as itself, logs its user id and never its token", async () => {
    logs = [];
    const anna = token("anna", ["agent"]);
    expect((await through("agent", presence("anna", bearer(anna)))).status).toBe(200);
    const line = JSON.parse(logs.find((l) => l.includes('"route"')) ?? "{}");
    expect(line.userId).toBe("sub-of-anna");
    expect(logs.join("\n")).not.toContain(anna.split(".")[2]);
  });

  it("refuses another agent's id with 403, and lets a supervisor read it but not act", async () => {
    const anna = token("anna", ["agent"]);
    const sam = token("sam", ["supervisor", "endpoint:auth_q"]);
    const refused = await through("agent", presence("ben", bearer(anna)));
    expect([refused.status, refused.body.exception]).toEqual([403, "AccessDeniedException"]);
    expect((await through("agent", queue("ben", bearer(anna)))).status).toBe(403);
    expect((await through("agent", queue("ben", bearer(sam)))).status).toBe(200);
    expect((await through("agent", presence("ben", bearer(sam)))).status).toBe(403);
    expect((await through("agent", queue("anna", bearer(token("nobody", []))))).status).toBe(403);
  });

  it("ends a sign-in: every token of it refused on agent and admin routes, other sign-ins of the same person untouched", async () => {
    const family = randomUUID();
    const anna = bearer(token("anna", ["agent", "admin"], { origin_jti: family }));
    const again = bearer(token("anna", ["agent", "admin"], { origin_jti: family }));
    const elsewhere = bearer(token("anna", ["agent", "admin"], { origin_jti: randomUUID() }));
    expect((await through("agent", queue("anna", anna))).status).toBe(200);
    const signOut = (headers: Record<string, string>) =>
      httpEvent({ resource: "/genesys/1/agent/{agentId}/sign-out", httpMethod: "POST", pathParameters: { agentId: "anna" }, headers });
    expect((await through("agent", signOut(anna))).status).toBe(204);
    for (const headers of [anna, again]) {
      const refused = await through("agent", queue("anna", headers));
      expect([refused.status, refused.body.message]).toEqual([401, "This sign-in was signed out: sign in again"]);
      const admin = await through("admin", httpEvent({ resource: "/genesys/1/admin/agents", httpMethod: "GET", headers }));
      expect(admin.status).toBe(401);
    }
    expect((await through("agent", queue("anna", elsewhere))).status).toBe(200);
    // A token that names no sign-in has none to end.
    const bare = await through("agent", signOut(bearer(token("anna", ["agent"]))));
    expect([bare.status, bare.body.message]).toEqual([400, expect.stringMatching(/no sign-in to end/)]);
  });

  it("lets an agent read only the queues of its profile's endpoints; a supervisor of the endpoint and an admin read it as themselves", async () => {
    const anna = bearer(token("anna", ["agent"]));
    expect((await through("agent", queue("anna", anna))).status).toBe(200);
    const foreign = await through("agent", queue("anna", anna, "other_q"));
    expect([foreign.status, foreign.body.exception, foreign.body.message]).toEqual([
      403,
      "NotAssignedException",
      "You do not serve other_q: your profile's endpoints are auth_q",
    ]);
    // Without a profile, no queue at all; as a supervisor or admin, no profile is asked for.
    const noProfile = await through("agent", queue("nell", bearer(token("nell", ["agent"]))));
    expect([noProfile.status, noProfile.body.message]).toEqual([403, expect.stringMatching(/no agent profile/)]);
    expect((await through("agent", queue("vera", bearer(token("vera", ["supervisor", "endpoint:other_q"])), "other_q"))).status).toBe(200);
    expect((await through("agent", queue("vera", bearer(token("vera", ["supervisor", "endpoint:other_q"])), "auth_q"))).status).toBe(403);
    expect((await through("agent", queue("ada", bearer(token("ada", ["admin"])), "other_q"))).status).toBe(200);
  });

  it("lets a supervisor read only the queues and chats of the endpoints its groups name", async () => {
    const anna = bearer(token("anna", ["agent"]));
    expect((await through("agent", presence("anna", anna))).status).toBe(200);
    const opened = await callRoute(customer.requestChat, "/genesys/1/service/{service}", "POST", { service: "auth" });
    const id = String(opened.body._id);
    await callRoute(customer.chat, "/genesys/1/service/{service}/ixn/chat", "POST", { service: id }, { firstName: "Max" });
    const chatEvent = (op: string, agentId: string, headers: Record<string, string>) =>
      httpEvent({
        resource: `/genesys/1/agent/{agentId}/chats/{chatId}/${op}`,
        httpMethod: "POST",
        pathParameters: { agentId, chatId: chatIdOf(id) },
        headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
        body: "",
      });
    expect((await through("agent", chatEvent("accept", "anna", anna))).status).toBe(200);

    const overseer = bearer(token("sam", ["supervisor", "endpoint:auth_q"]));
    expect((await through("agent", chatEvent("refresh", "anna", overseer))).status).toBe(200);
    for (const groups of [["supervisor", "endpoint:elsewhere"], ["supervisor"], ["agent", "endpoint:auth_q"]]) {
      const outsider = bearer(token("sam", groups));
      for (const event of [queue("anna", outsider), chatEvent("refresh", "anna", outsider)]) {
        const answer = await through("agent", event);
        expect([answer.status, answer.body.exception], `${groups} ${event.resource}`).toEqual([403, "AccessDeniedException"]);
      }
    }
    // Outside its endpoints, a chat answers the same whoever holds it: nothing tells who does.
    const elsewhere = bearer(token("sam", ["supervisor", "endpoint:elsewhere"]));
    const notAnnas = await through("agent", chatEvent("refresh", "ben", elsewhere));
    expect([notAnnas.status, notAnnas.body.exception]).toEqual([403, "AccessDeniedException"]);
    const seenByOverseer = await through("agent", chatEvent("refresh", "ben", overseer));
    expect([seenByOverseer.status, seenByOverseer.body.exception]).toEqual([403, "NotYourChatException"]);
  });

  it.each<[string, () => Record<string, string>]>([
    ["no credentials", () => ({})],
    ["the API key", () => ({ "x-api-key": ADMIN_KEY })],
    [
      "a token signed with another key",
      () => bearer(token("anna", ["agent"], {}).replace(/\.[^.]+$/, `.${sign({ a: 1 }, foreign.privateKey).split(".")[2]}`)),
    ],
    [
      "another issuer's token",
      () =>
        bearer(
          sign(
            {
              iss: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other",
              client_id: CLIENT_ID,
              token_use: "access",
              username: "anna",
              sub: "x",
              exp: Math.floor(Date.now() / 1000) + 600,
            },
            foreign.privateKey,
          ),
        ),
    ],
    [
      "an expired token",
      () => bearer(token("anna", ["agent"], { iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 })),
    ],
    ["an ID token", () => bearer(token("anna", ["agent"], { token_use: "id" }))],
    ["another client's token", () => bearer(token("anna", ["agent"], { client_id: "another0client" }))],
    ["Basic credentials", () => ({ authorization: "Basic YW5uYTpwdw==" })],
  ])("answers %s on an agent route with 401, WWW-Authenticate, JSON and CORS", async (_name, headers) => {
    const answer = await through("agent", queue("anna", headers()));
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual({ message: expect.any(String), exception: "UnauthorizedException" });
    expect(answer.headers["WWW-Authenticate"]).toMatch(/^Bearer realm="gms", error="invalid_(token|request)"$/);
    expect(answer.headers["Access-Control-Allow-Origin"]).toBe("*");
  });

  it("answers 401 when the authorizer's cached answer outlives the token", async () => {
    const exp = Math.floor(start.getTime() / 1000) + 60;
    const event = queue("anna", {});
    const cached = {
      ...event,
      requestContext: {
        ...event.requestContext,
        authorizer: { outcome: "person", userId: "s", username: "anna", groups: "agent", exp: String(exp) },
      },
    } as APIGatewayProxyEvent;
    expect((await agent(cached)).statusCode).toBe(200);
    clock = new Date((exp + 1) * 1000);
    try {
      const late = await agent(cached);
      expect(late.statusCode).toBe(401);
      expect(JSON.parse(late.body).message).toMatch(/expired/);
    } finally {
      clock = start;
    }
  });
});

describe("who did what", () => {
  it("records the person's pool id with the presence, the accept, the messages and the disconnect, and shows it to no customer", async () => {
    const anna = bearer(token("anna", ["agent"]));
    const form = { "content-type": "application/x-www-form-urlencoded" };
    expect((await through("agent", presence("anna", anna))).status).toBe(200);
    const opened = await callRoute(customer.requestChat, "/genesys/1/service/{service}", "POST", { service: "auth" });
    const id = String(opened.body._id);
    expect(
      (await callRoute(customer.chat, "/genesys/1/service/{service}/ixn/chat", "POST", { service: id }, { firstName: "Max" })).status,
    ).toBe(200);
    const chatEvent = (op: string, body = "") =>
      httpEvent({
        resource: `/genesys/1/agent/{agentId}/chats/{chatId}/${op}`,
        httpMethod: "POST",
        pathParameters: { agentId: "anna", chatId: chatIdOf(id) },
        headers: { ...form, ...anna },
        body,
      });
    for (const [op, body] of [
      ["accept", ""],
      ["send", "message=Hello"],
      ["disconnect", ""],
    ] as const) {
      expect((await through("agent", chatEvent(op, body))).status, op).toBe(200);
    }
    const { Items = [] } = await db.client.send(
      new QueryCommand({
        TableName: db.tables.sessions,
        KeyConditionExpression: "id = :id",
        ExpressionAttributeValues: { ":id": chatIdOf(id) },
      }),
    );
    const agentEvents = Items.filter((item) => item.party === "AGENT");
    expect(agentEvents.map((item) => [item.type, item.actor])).toEqual([
      ["Notice.Joined", "sub-of-anna"],
      ["Message.Text", "sub-of-anna"],
      ["Notice.Left", "sub-of-anna"],
    ]);
    const { Items: presences = [] } = await db.client.send(
      new QueryCommand({
        TableName: db.tables.config,
        KeyConditionExpression: "pk = :pk AND sk = :sk",
        ExpressionAttributeValues: { ":pk": "agent#anna", ":sk": "state" },
      }),
    );
    expect(presences.map((item) => item.actor)).toContain("sub-of-anna");
    const seen = await callRoute(
      customer.chat,
      "/genesys/1/service/{service}/ixn/chat/refresh",
      "POST",
      { service: id },
      { transcriptPosition: "1" },
    );
    expect(JSON.stringify(seen.body)).not.toContain("sub-of-anna");
  });
});

describe("the admin authorizer and the admin function together", () => {
  const services = (headers: Record<string, string>) => httpEvent({ resource: "/genesys/1/admin/services", httpMethod: "GET", headers });

  it("takes an admin's token or the API key; refuses an agent's or a supervisor's token with 403, a wrong key with 401", async () => {
    logs = [];
    expect((await through("admin", services(bearer(token("root", ["admin"]))))).status).toBe(200);
    expect((await through("admin", services({ "x-api-key": ADMIN_KEY }))).status).toBe(200);
    expect(logs.map((l) => JSON.parse(l).userId).filter(Boolean)).toEqual(["sub-of-root", "machine"]);
    for (const groups of [["agent"], ["supervisor"]]) {
      const answer = await through("admin", services(bearer(token("anna", groups))));
      expect([answer.status, answer.body.exception]).toEqual([403, "AccessDeniedException"]);
    }
    for (const headers of [{ "x-api-key": `${ADMIN_KEY}x` }, { "x-api-key": "" }, {}]) {
      const answer = await through("admin", services(headers));
      expect(answer.status).toBe(401);
      expect(answer.headers["WWW-Authenticate"]).toMatch(/^Bearer /);
    }
  });
});
