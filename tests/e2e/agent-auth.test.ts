import { createSign, generateKeyPairSync, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chatIdOf } from "../../lib/session/ids.ts";
import { DEFAULT_DEV_USERS } from "../../scripts/local/identity.ts";
import type { LocalStack } from "../../scripts/local/launch.ts";
import { STACK_ADMIN_KEY } from "../../scripts/local/stack.ts";
import { cognito, LOCAL_USERS, type SignedIn, signIn } from "../support/identity.ts";
import { PushClient } from "../support/push.ts";
import { letAgentsPick, serve, startTestStack, type TestStack } from "../support/stack.ts";

/**
 * `npm start` with people signed in through the local identity provider: who may call what on the
 * agent and admin APIs (docs/api.md#who-may-call-what), and how refused credentials are answered.
 */
let local: TestStack;
let stack: LocalStack;
let anna: SignedIn;
let ben: SignedIn;
let sam: SignedIn;
let admin: SignedIn;
const ORIGIN = "https://console.example";

beforeAll(async () => {
  // sam oversees the endpoint of the supervisor's test only.
  local = await startTestStack({
    GMS_DEV_USERS: DEFAULT_DEV_USERS.replace("supervisor+endpoint:gms_builtin", "supervisor+endpoint:auth_watch"),
    // The console is served from another origin here, which the stack names (npm start allows only its own by default).
    CORS_ALLOWED_ORIGINS: ORIGIN,
  });
  stack = local.stack;
  [anna, ben, sam, admin] = await Promise.all([
    signIn(stack, ...LOCAL_USERS.anna),
    signIn(stack, ...LOCAL_USERS.ben),
    signIn(stack, ...LOCAL_USERS.sam),
    signIn(stack, ...LOCAL_USERS.admin),
  ]);
});
afterAll(async () => {
  await local?.stop();
});

// biome-ignore lint/suspicious/noExplicitAny: test-side JSON is checked by assertions, not by types.
type Json = Record<string, any>;

function call(path: string, headers: Record<string, string>, init: { method?: string; form?: Record<string, string> } = {}) {
  return fetch(`${stack.baseUrl}/genesys/1/${path}`, {
    method: init.method ?? "GET",
    headers: { origin: ORIGIN, ...headers },
    ...(init.form === undefined ? {} : { body: new URLSearchParams(init.form) }),
  });
}

/** A chat waiting on `endpoint`, with anna ready there. */
async function waitingChat(endpoint: string): Promise<string> {
  expect(
    (await call(`admin/services/${endpoint}`, admin.authorization, { method: "PUT", form: { _chat_endpoint: endpoint } })).status,
  ).toBeLessThan(300);
  // Anna serves the test's endpoints, whose agents pick their chats.
  await serve(stack, "anna", ["gms_builtin", "auth_desk", "auth_watch"]);
  await letAgentsPick(stack, [endpoint]);
  const ready = await call("agent/anna/presence", anna.authorization, { method: "PUT", form: { endpoint, state: "ready" } });
  expect(ready.status).toBe(200);
  const opened = (await (await fetch(`${stack.baseUrl}/genesys/1/service/${endpoint}`, { method: "POST" })).json()) as Json;
  const created = await fetch(`${stack.baseUrl}${opened["_chatIxnAPI-CREATE-URL"]}`, {
    method: "POST",
    body: new URLSearchParams({ firstName: "Max" }),
  });
  expect(created.status).toBe(200);
  return String(opened._id);
}

async function expectUnauthorized(response: Response) {
  expect(response.status).toBe(401);
  expect(response.headers.get("www-authenticate")).toMatch(/^Bearer realm="gms"/);
  expect(response.headers.get("access-control-allow-origin")).toBe(ORIGIN);
  expect(response.headers.get("access-control-expose-headers")).toContain("WWW-Authenticate");
  expect((await response.json()) as Json).toEqual({ message: expect.any(String), exception: "UnauthorizedException" });
}

async function expectForbidden(response: Response) {
  expect(response.status).toBe(403);
  expect(response.headers.get("access-control-allow-origin")).toBe(ORIGIN);
  expect((await response.json()) as Json).toEqual({ message: expect.any(String), exception: "AccessDeniedException" });
}

describe("npm start: agents act only as themselves", () => {
  it("lets anna take and answer a chat as anna, and refuses her presence, accept and send as ben", async () => {
    const id = await waitingChat("auth_desk");
    await expectForbidden(
      await call("agent/ben/presence", anna.authorization, { method: "PUT", form: { endpoint: "auth_desk", state: "ready" } }),
    );
    await expectForbidden(await call(`agent/ben/chats/${chatIdOf(id)}/accept`, anna.authorization, { method: "POST" }));
    await expectForbidden(await call("agent/ben/queue?endpoint=auth_desk", anna.authorization));
    expect((await call(`agent/anna/chats/${chatIdOf(id)}/accept`, anna.authorization, { method: "POST" })).status).toBe(200);
    await expectForbidden(
      await call(`agent/ben/chats/${chatIdOf(id)}/send`, anna.authorization, { method: "POST", form: { message: "hi" } }),
    );
    // Ben, as himself, cannot write in anna's chat either (the chat's own check).
    expect(
      (await call(`agent/ben/chats/${chatIdOf(id)}/send`, ben.authorization, { method: "POST", form: { message: "hi" } })).status,
    ).toBe(403);
    expect(
      (await call(`agent/anna/chats/${chatIdOf(id)}/send`, anna.authorization, { method: "POST", form: { message: "Hello" } })).status,
    ).toBe(200);
  });

  it("lets a supervisor read anyone's queue and chat on its endpoints, but not act for them", async () => {
    const id = await waitingChat("auth_watch");
    expect((await call("agent/anna/queue?endpoint=auth_watch", sam.authorization)).status).toBe(200);
    await expectForbidden(await call("agent/anna/queue?endpoint=gms_builtin", sam.authorization));
    expect((await call(`agent/anna/chats/${chatIdOf(id)}/accept`, anna.authorization, { method: "POST" })).status).toBe(200);
    expect((await call(`agent/anna/chats/${chatIdOf(id)}/refresh`, sam.authorization, { method: "POST" })).status).toBe(200);
    await expectForbidden(
      await call(`agent/anna/chats/${chatIdOf(id)}/send`, sam.authorization, { method: "POST", form: { message: "x" } }),
    );
    await expectForbidden(
      await call("agent/anna/presence", sam.authorization, { method: "PUT", form: { endpoint: "auth_watch", state: "not_ready" } }),
    );
  });
});

describe("npm start: the admin API", () => {
  it("takes an admin's token or the API key, and refuses an agent's token with 403", async () => {
    expect((await call("admin/services", admin.authorization)).status).toBe(200);
    expect((await call("admin/services", { "x-api-key": STACK_ADMIN_KEY })).status).toBe(200);
    await expectForbidden(await call("admin/services", anna.authorization));
    await expectForbidden(await call("admin/services", sam.authorization));
  });
});

describe("npm start: refused credentials", () => {
  function signWith(privateKey: ReturnType<typeof generateKeyPairSync>["privateKey"], claims: Record<string, unknown>): string {
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const input = `${b64({ alg: "RS256", typ: "JWT", kid: "foreign" })}.${b64(claims)}`;
    return `${input}.${createSign("RSA-SHA256").update(input).sign(privateKey).toString("base64url")}`;
  }
  const foreign = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const claims = (overrides: Record<string, unknown>) => {
    const now = Math.floor(Date.now() / 1000);
    return {
      sub: randomUUID(),
      iss: stack.identity.issuer,
      client_id: stack.identity.clientId,
      token_use: "access",
      username: "anna",
      "cognito:groups": ["agent"],
      iat: now,
      exp: now + 600,
      jti: randomUUID(),
      ...overrides,
    };
  };

  it("answers the API key alone on an agent route with 401", async () => {
    await expectUnauthorized(await call("agent/anna/queue?endpoint=auth_desk", { "x-api-key": STACK_ADMIN_KEY }));
    await expectUnauthorized(
      await call(
        "agent/anna/presence",
        { "x-api-key": STACK_ADMIN_KEY },
        { method: "PUT", form: { endpoint: "auth_desk", state: "ready" } },
      ),
    );
  });

  it("answers no token, a flipped signature byte, an expired token and another issuer's with 401, JSON, CORS and WWW-Authenticate", async () => {
    const [head, body, signature = ""] = anna.accessToken.split(".");
    const flipped = Buffer.from(signature, "base64url");
    flipped[12] = (flipped[12] ?? 0) ^ 0x01;
    const now = Math.floor(Date.now() / 1000);
    const tokens = [
      `${head}.${body}.${flipped.toString("base64url")}`,
      signWith(foreign.privateKey, claims({ iat: now - 7200, exp: now - 3600 })),
      signWith(foreign.privateKey, claims({ iss: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other" })),
      "not-a-token",
    ];
    await expectUnauthorized(await call("agent/anna/queue?endpoint=auth_desk", {}));
    for (const token of tokens) {
      await expectUnauthorized(await call("agent/anna/queue?endpoint=auth_desk", { authorization: `Bearer ${token}` }));
      await expectUnauthorized(await call("admin/services", { authorization: `Bearer ${token}` }));
    }
  });

  it("signs out a sign-in for the API and the push channel: every token of it refused, the person's other sign-ins untouched", async () => {
    const [signedIn, other] = await Promise.all([signIn(stack, ...LOCAL_USERS.ben), signIn(stack, ...LOCAL_USERS.ben)]);
    // A token refreshed from the same sign-in belongs to it too.
    const refreshed = await cognito(stack, "InitiateAuth", {
      AuthFlow: "REFRESH_TOKEN_AUTH",
      ClientId: stack.identity.clientId,
      AuthParameters: { REFRESH_TOKEN: signedIn.refreshToken },
    });
    const sibling = ((await refreshed.json()) as Json).AuthenticationResult.AccessToken as string;
    const presence = "agent/ben/presence";
    expect((await call(presence, signedIn.authorization)).status).toBe(200);
    expect((await call("agent/ben/sign-out", signedIn.authorization, { method: "POST" })).status).toBe(204);
    for (const token of [signedIn.accessToken, sibling]) {
      const refused = await call(presence, { authorization: `Bearer ${token}` });
      expect([refused.status, ((await refused.json()) as Json).message]).toEqual([401, "This sign-in was signed out: sign in again"]);
      const client = await PushClient.open(stack.pushUrl);
      client.send({ action: "subscribe", agentId: "ben", token });
      expect((await client.next()).data).toMatchObject({ status: 401, message: "This sign-in was signed out: sign in again" });
      await client.close();
    }
    expect((await call(presence, other.authorization)).status).toBe(200);
  });

  it("no longer refreshes after the refresh token is revoked", async () => {
    const refresh = () =>
      cognito(stack, "InitiateAuth", {
        AuthFlow: "REFRESH_TOKEN_AUTH",
        ClientId: stack.identity.clientId,
        AuthParameters: { REFRESH_TOKEN: ben.refreshToken },
      });
    expect((await refresh()).status).toBe(200);
    expect((await cognito(stack, "RevokeToken", { ClientId: stack.identity.clientId, Token: ben.refreshToken })).status).toBe(200);
    expect((await refresh()).status).toBe(400);
  });
});
