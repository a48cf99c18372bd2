import { createPrivateKey, createPublicKey, type JsonWebKey, sign, verify } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_DEV_USERS, parseDevUsers } from "../../scripts/local/identity.ts";
import { type LocalStack, startLocalStack } from "../../scripts/local/launch.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";

/**
 * `npm start`'s local identity provider, driven as a browser console would: Cognito's JSON protocol
 * over HTTP on the browser-facing address, with the default users plus one with a temporary password.
 */
const temporary = { username: "tina", password: "Tina-temp-1", newPassword: "Tina-chosen-2" };
let local: TestStack;
let stack: LocalStack;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "gms-chat-identity-data-"));
  local = await startTestStack({
    GMS_DEV_USERS: `${DEFAULT_DEV_USERS},${temporary.username}:${temporary.password}:agent:temporary`,
    GMS_DATA_DIR: dataDir,
  });
  stack = local.stack;
});
afterAll(async () => {
  await local?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

// biome-ignore lint/suspicious/noExplicitAny: test-side JSON is checked by assertions, not by types.
type Json = Record<string, any>;

function cognito(operation: string, body: object, headers: Record<string, string> = {}) {
  return fetch(stack.identity.endpoint, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": `AWSCognitoIdentityProviderService.${operation}`,
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

function signIn(username: string, password: string) {
  return cognito("InitiateAuth", {
    AuthFlow: "USER_PASSWORD_AUTH",
    ClientId: stack.identity.clientId,
    AuthParameters: { USERNAME: username, PASSWORD: password },
  });
}

function claims(token: string): Json {
  return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as Json;
}

describe("npm start: the local users sign in", () => {
  it("signs each default user in with USER_PASSWORD_AUTH: an ID token with its group and the reported issuer", async () => {
    for (const user of parseDevUsers(DEFAULT_DEV_USERS)) {
      const answer = await signIn(user.username, user.password);
      expect(answer.status).toBe(200);
      const { AuthenticationResult } = (await answer.json()) as Json;
      const id = claims(AuthenticationResult.IdToken);
      expect(id).toMatchObject({
        "cognito:username": user.username,
        "cognito:groups": expect.arrayContaining([...user.groups]),
        iss: stack.identity.issuer,
        aud: stack.identity.clientId,
      });
    }
    expect(stack.identity.issuer).toBe(`${stack.identity.endpoint}/${stack.identity.userPoolId}`);
    expect(stack.output()).toContain("anna / Anna-local-1 (agent)");
    expect(stack.output()).toContain("sam / Sam-local-1 (supervisor, endpoint:gms_builtin)");
  });

  it("refuses a wrong password", async () => {
    const answer = await signIn("anna", "Not-her-password-1");
    expect(answer.status).toBe(400);
    // Cognito says NotAuthorizedException; the emulator says InvalidPasswordException. Either way, no tokens.
    const body = (await answer.json()) as Json;
    expect(body.__type).toMatch(/^(NotAuthorized|InvalidPassword)Exception$/);
    expect(body.AuthenticationResult).toBeUndefined();
    // And, as the deployed pool (PreventUserExistenceErrors), the same answer as for a user who does not exist.
    const unknown = await signIn("nobody-here", "Not-her-password-1");
    expect([unknown.status, await unknown.json()]).toEqual([400, body]);
  });

  it("refreshes with REFRESH_TOKEN_AUTH until the refresh token is revoked", async () => {
    const { AuthenticationResult } = (await (await signIn("ben", "Ben-local-1")).json()) as Json;
    const refresh = () =>
      cognito("InitiateAuth", {
        AuthFlow: "REFRESH_TOKEN_AUTH",
        ClientId: stack.identity.clientId,
        AuthParameters: { REFRESH_TOKEN: AuthenticationResult.RefreshToken },
      });
    const refreshed = await refresh();
    expect(refreshed.status).toBe(200);
    expect(claims(((await refreshed.json()) as Json).AuthenticationResult.IdToken)).toMatchObject({ "cognito:username": "ben" });
    const revoked = await cognito("RevokeToken", { ClientId: stack.identity.clientId, Token: AuthenticationResult.RefreshToken });
    expect(revoked.status).toBe(200);
    expect((await refresh()).status).toBe(400);
  });

  it("serves the JWKS that verifies the ID token's signature", async () => {
    const { AuthenticationResult } = (await (await signIn("sam", "Sam-local-1")).json()) as Json;
    const token = String(AuthenticationResult.IdToken);
    const [header = "", payload = "", signature = ""] = token.split(".");
    const { kid, alg } = JSON.parse(Buffer.from(header, "base64url").toString("utf8")) as Json;
    expect(alg).toBe("RS256");
    const jwks = await fetch(stack.identity.jwksUri);
    expect(jwks.status).toBe(200);
    const { keys } = (await jwks.json()) as { keys: (JsonWebKey & { kid: string })[] };
    const jwk = keys.find((key) => key.kid === kid);
    expect(jwk).toBeDefined();
    const key = createPublicKey({ key: jwk as JsonWebKey, format: "jwk" });
    const signed = Buffer.from(`${header}.${payload}`);
    expect(verify("RSA-SHA256", signed, key, Buffer.from(signature, "base64url"))).toBe(true);
    expect(verify("RSA-SHA256", Buffer.from(`${header}.${payload}x`), key, Buffer.from(signature, "base64url"))).toBe(false);
  });

  it("signs with a key of the data folder's own: a token minted with the emulator's published key opens nothing", async () => {
    const { AuthenticationResult } = (await (await signIn("admin", "Admin-local-1")).json()) as Json;
    const genuine = String(AuthenticationResult.AccessToken);
    const admin = (token: string) => fetch(`${stack.baseUrl}/genesys/1/admin/services`, { headers: { authorization: `Bearer ${token}` } });
    expect((await admin(genuine)).status).toBe(200);

    // The attack: the same claims, signed with the private key cognito-local ships in its package.
    const published = JSON.parse(await readFile("node_modules/cognito-local/lib/keys/cognitoLocal.private.json", "utf8")) as {
      jwk: JsonWebKey & { kid: string };
    };
    const forge = (kid: string) => {
      const header = Buffer.from(JSON.stringify({ alg: "RS256", typ: "JWT", kid })).toString("base64url");
      const payload = genuine.split(".")[1] ?? "";
      const key = createPrivateKey({ key: published.jwk, format: "jwk" });
      return `${header}.${payload}.${sign("sha256", Buffer.from(`${header}.${payload}`), key).toString("base64url")}`;
    };
    const { keys } = (await (await fetch(stack.identity.jwksUri)).json()) as { keys: (JsonWebKey & { kid: string })[] };
    expect(keys.map((key) => key.n)).not.toContain(published.jwk.n);
    for (const kid of ["CognitoLocal", keys[0]?.kid ?? ""]) expect((await admin(forge(kid))).status).toBe(401);

    // A short life, as deployed: a token that sign-out cannot end lasts 30 minutes at most.
    expect(claims(genuine).exp - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(30 * 60);
    expect(AuthenticationResult.ExpiresIn).toBeLessThanOrEqual(30 * 60);

    // The key is kept with the data, readable by this user only.
    expect((await stat(join(dataDir, "cognito", "signing-key.pem"))).mode & 0o777).toBe(0o600);
  });

  it("asks a user with a temporary password for a new one (NEW_PASSWORD_REQUIRED), then signs it in with that", async () => {
    const first = (await (await signIn(temporary.username, temporary.password)).json()) as Json;
    expect(first.ChallengeName).toBe("NEW_PASSWORD_REQUIRED");
    const answered = await cognito("RespondToAuthChallenge", {
      ClientId: stack.identity.clientId,
      ChallengeName: "NEW_PASSWORD_REQUIRED",
      Session: first.Session,
      ChallengeResponses: { USERNAME: temporary.username, NEW_PASSWORD: temporary.newPassword },
    });
    expect(answered.status).toBe(200);
    expect(claims(((await answered.json()) as Json).AuthenticationResult.IdToken)).toMatchObject({ "cognito:groups": ["agent"] });
    expect((await signIn(temporary.username, temporary.newPassword)).status).toBe(200);
  });
});

describe("npm start: what web pages can do with the identity provider", () => {
  it("refuses admin and listing operations, other flows and other clients on the browser-facing address", async () => {
    const { userPoolId, clientId } = stack.identity;
    const refused = [
      await cognito("AdminCreateUser", { UserPoolId: userPoolId, Username: "mallory", TemporaryPassword: "Mallory-1!" }),
      await cognito("AdminSetUserPassword", { UserPoolId: userPoolId, Username: "admin", Password: "Taken-over-1", Permanent: true }),
      await cognito("ListUsers", { UserPoolId: userPoolId }),
      await cognito("ListUserPools", { MaxResults: 10 }),
      await cognito("AdminInitiateAuth", { UserPoolId: userPoolId, ClientId: clientId, AuthFlow: "ADMIN_USER_PASSWORD_AUTH" }),
      await cognito("InitiateAuth", { AuthFlow: "CUSTOM_AUTH", ClientId: clientId, AuthParameters: { USERNAME: "admin" } }),
      await cognito("InitiateAuth", {
        AuthFlow: "USER_PASSWORD_AUTH",
        ClientId: "another",
        AuthParameters: { USERNAME: "admin", PASSWORD: "x" },
      }),
    ];
    expect(refused.map((answer) => answer.status)).toEqual([403, 403, 403, 403, 403, 403, 403]);
    expect((await signIn("admin", "Taken-over-1")).status).toBe(400);
  });

  it("answers a preflight and a sign-in from the API's origin, and refuses both from another site", async () => {
    const preflight = (origin: string) =>
      fetch(stack.identity.endpoint, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type,x-amz-target,x-amz-user-agent",
        },
      });
    const own = await preflight(`http://localhost:${stack.ports.http}`);
    expect(own.status).toBe(204);
    expect(own.headers.get("access-control-allow-origin")).toBe(`http://localhost:${stack.ports.http}`);
    expect(own.headers.get("access-control-allow-headers")).toContain("x-amz-target");
    const evil = await preflight("http://evil.example");
    expect(evil.status).toBe(403);
    expect(evil.headers.get("access-control-allow-origin")).toBeNull();

    const annaSignsIn = (origin: string) =>
      cognito(
        "InitiateAuth",
        {
          AuthFlow: "USER_PASSWORD_AUTH",
          ClientId: stack.identity.clientId,
          AuthParameters: { USERNAME: "anna", PASSWORD: "Anna-local-1" },
        },
        { origin },
      );
    expect((await annaSignsIn("http://evil.example")).status).toBe(403);
    const fromConsole = await annaSignsIn(`http://127.0.0.1:${stack.ports.http}`);
    expect(fromConsole.status).toBe(200);
    expect(fromConsole.headers.get("access-control-allow-origin")).toBe(`http://127.0.0.1:${stack.ports.http}`);
  });
});

describe("GMS_DEV_USERS", () => {
  it("reads username:password:role entries, with endpoint groups and an optional :temporary", () => {
    expect(parseDevUsers("a:Pw-1aaaaa:admin, b.c:x:agent:temporary,s:y:supervisor+endpoint:Env:default+endpoint:sales:temporary")).toEqual([
      { username: "a", password: "Pw-1aaaaa", groups: ["admin"], temporary: false },
      { username: "b.c", password: "x", groups: ["agent"], temporary: true, profile: { endpoints: ["gms_builtin"], maxChats: 1 } },
      {
        username: "s",
        password: "y",
        groups: ["supervisor", "endpoint:Env:default", "endpoint:sales"],
        temporary: true,
        profile: { endpoints: ["gms_builtin"], maxChats: 1 },
      },
    ]);
  });

  it("reads each user's agent profile: role@endpoint|endpoint/maxChats", () => {
    expect(
      parseDevUsers("anna:pw:agent@gms_builtin/3,ben:pw:agent@sales|support,sam:pw:supervisor/2+endpoint:sales,root:pw:admin@ops"),
    ).toEqual([
      { username: "anna", password: "pw", groups: ["agent"], temporary: false, profile: { endpoints: ["gms_builtin"], maxChats: 3 } },
      { username: "ben", password: "pw", groups: ["agent"], temporary: false, profile: { endpoints: ["sales", "support"], maxChats: 1 } },
      {
        username: "sam",
        password: "pw",
        groups: ["supervisor", "endpoint:sales"],
        temporary: false,
        profile: { endpoints: ["gms_builtin"], maxChats: 2 },
      },
      { username: "root", password: "pw", groups: ["admin"], temporary: false, profile: { endpoints: ["ops"], maxChats: 1 } },
    ]);
  });

  it.each([
    ["anna:pw", "is not username:password:group"],
    ["anna:pw:agent:forever", 'names the role "agent:forever"'],
    ["sam:pw:supervisor+sales", 'names the group "sales"'],
    ["sam:pw:supervisor+endpoint:", 'names the group "endpoint:"'],
    [":pw:agent", "needs a user name"],
    ["anna::agent", "has an empty password"],
    ["anna:pw:root", 'names the role "root"'],
    ["anna:pw:agent,anna:pw2:admin", "repeats a user name"],
    ["anna:pw:agent/11", "names an agent profile that is not"],
    ["anna:pw:agent@bad endpoint", "names an agent profile that is not"],
  ])("refuses %s", (text, message) => {
    expect(() => parseDevUsers(text)).toThrow(message);
  });

  it("stops npm start with its message when malformed", async () => {
    await expect(startLocalStack({ GMS_DEV_USERS: "anna:pw:root" })).rejects.toThrow(
      /GMS_DEV_USERS: the entry "anna:pw:root" names the role "root"/,
    );
  });
});
