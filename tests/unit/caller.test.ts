import type { APIGatewayProxyEvent, APIGatewayRequestAuthorizerEvent } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { StorageUnavailableError } from "../../lib/errors.ts";
import { authorize, authorizerHandler, stageWildcard, type TokenCheck } from "../../lib/http/authorizer.ts";
import { type Caller, callerOf, requireAdmin, requireAgentAccess, requireQueueAccess } from "../../lib/http/caller.ts";
import { AccessDeniedError, UnauthorizedError } from "../../lib/http/errors.ts";

/** The authorizer's decision on headers, and the roles of lib/http/caller.ts, without a pool. */
const JWT = "aaa.bbb.ccc";
const anna: TokenCheck = { ok: true, principal: { userId: "sub-anna", username: "anna", groups: ["agent"], expiresAt: 1_900_000_000 } };
const authorizerEvent = (headers: Record<string, string>) => ({ headers, methodArn: "" }) as unknown as APIGatewayRequestAuthorizerEvent;
const person = (username: string, ...groups: string[]): Caller => ({ kind: "person", userId: `sub-${username}`, username, groups });

describe("the authorizer's decision", () => {
  const signedOut = new Set<string>();
  const deps = {
    verify: async (token: string): Promise<TokenCheck> => (token === JWT ? anna : { ok: false, reason: "signature", message: "" }),
    signedOut: async (family: string) => signedOut.has(family),
  };

  it("reads a Bearer token, whatever the scheme's case, and passes the person on", async () => {
    for (const scheme of ["Bearer", "bearer", "BEARER"])
      expect(await authorize(deps, authorizerEvent({ Authorization: `${scheme} ${JWT}` }))).toMatchObject({
        outcome: "person",
        userId: "sub-anna",
        groups: "agent",
        exp: "1900000000",
      });
  });

  it("passes no group that its comma-joined list would split into others", async () => {
    const odd: TokenCheck = { ok: true, principal: { ...anna.principal, groups: ["supervisor", "x,endpoint:sales", "endpoint:support"] } };
    expect(await authorize({ ...deps, verify: async () => odd }, authorizerEvent({ authorization: `Bearer ${JWT}` }))).toMatchObject({
      groups: "supervisor,endpoint:support",
    });
  });

  it("refuses, with a reason and without calling the verifier, what is not a Bearer JWT", async () => {
    expect(await authorize(deps, authorizerEvent({ authorization: "Basic YTpi" }))).toEqual({ outcome: "refused", reason: "malformed" });
    expect(await authorize(deps, authorizerEvent({ authorization: `Bearer ${JWT} extra` }))).toEqual({
      outcome: "refused",
      reason: "malformed",
    });
    expect(await authorize(deps, authorizerEvent({ authorization: "Bearer x.y.z" }))).toEqual({ outcome: "refused", reason: "signature" });
    expect(await authorize(deps, authorizerEvent({}))).toEqual({ outcome: "refused", reason: "missing" });
  });

  it("takes the API key only where it is configured, compared exactly", async () => {
    expect(await authorize(deps, authorizerEvent({ "x-api-key": "k" }))).toEqual({ outcome: "refused", reason: "missing" });
    const withKey = { ...deps, apiKey: async () => "the-key" };
    expect(await authorize(withKey, authorizerEvent({ "x-api-key": "the-key" }))).toEqual({ outcome: "machine" });
    expect(await authorize(withKey, authorizerEvent({ "x-api-key": "the-ke" }))).toEqual({ outcome: "refused", reason: "api-key" });
    expect(await authorize({ ...deps, apiKey: async () => undefined }, authorizerEvent({ "x-api-key": "" }))).toEqual({
      outcome: "refused",
      reason: "api-key",
    });
  });

  it("fails, rather than refuses, when the issuer's keys cannot be fetched (a refusal would be cached for the token)", async () => {
    const down = { ...deps, verify: async (): Promise<TokenCheck> => ({ ok: false, reason: "keys-unavailable", message: "" }) };
    await expect(authorize(down, authorizerEvent({ authorization: `Bearer ${JWT}` }))).rejects.toThrow();
  });

  it("refuses a token of a sign-in that ended, passes its family on otherwise, and fails (never refuses) when it cannot tell", async () => {
    const signedIn: TokenCheck = { ok: true, principal: { ...anna.principal, family: "f-1" } };
    const withFamily = { ...deps, verify: async () => signedIn };
    const bearer = authorizerEvent({ authorization: `Bearer ${JWT}` });
    expect(await authorize(withFamily, bearer)).toMatchObject({ outcome: "person", family: "f-1" });
    signedOut.add("f-1");
    expect(await authorize(withFamily, bearer)).toEqual({ outcome: "refused", reason: "signed-out" });
    // A token that names no sign-in is not asked about; storage out of reach is no verdict.
    expect(await authorize(deps, bearer)).toMatchObject({ outcome: "person", family: "" });
    const unreachable = { ...withFamily, signedOut: async () => Promise.reject(new Error("DynamoDB unreachable")) };
    await expect(authorize(unreachable, bearer)).rejects.toThrow();
    const refused = { requestContext: { authorizer: { outcome: "refused", reason: "signed-out" } } } as unknown as APIGatewayProxyEvent;
    expect(() => callerOf(refused, 0)).toThrow(/signed out/);
  });

  it("hands a check it could not make to the function only when uncached (serverless-offline), which answers 503; cached, it fails", async () => {
    const down = { ...deps, verify: async (): Promise<TokenCheck> => ({ ok: true, principal: { ...anna.principal, family: "f" } }) };
    const failing = { ...down, signedOut: async () => Promise.reject(new StorageUnavailableError("down")) };
    const event = { ...authorizerEvent({ authorization: `Bearer ${JWT}` }), methodArn: "arn:aws:execute-api:r:1:api/prod/GET/x" };
    await expect(authorizerHandler(failing)(event)).rejects.toThrow();
    const answer = await authorizerHandler({ ...failing, uncached: true })(event);
    expect(answer.context).toEqual({ outcome: "unavailable", reason: "storage" });
    const passed = { requestContext: { authorizer: answer.context } } as unknown as APIGatewayProxyEvent;
    expect(() => callerOf(passed, 0)).toThrow(StorageUnavailableError);
    const keysDown = {
      ...deps,
      uncached: true,
      verify: async (): Promise<TokenCheck> => ({ ok: false, reason: "keys-unavailable", message: "" }),
    };
    const noKeys = {
      requestContext: { authorizer: (await authorizerHandler(keysDown)(event)).context },
    } as unknown as APIGatewayProxyEvent;
    expect(() => callerOf(noKeys, 0)).toThrow(expect.objectContaining({ status: 503 }));
  });

  it("allows the whole stage, since API Gateway caches one answer per token for all its methods", () => {
    expect(stageWildcard("arn:aws:execute-api:eu-west-1:123:api1/prod/PUT/genesys/1/agent/anna/presence")).toBe(
      "arn:aws:execute-api:eu-west-1:123:api1/prod/*",
    );
  });
});

describe("the roles", () => {
  const event = (authorizer: Record<string, string>) => ({ requestContext: { authorizer } }) as unknown as APIGatewayProxyEvent;

  it("turns the authorizer's context into the caller, and a refusal or a lapsed token into a 401", () => {
    expect(callerOf(event({ outcome: "person", userId: "s", username: "anna", groups: "agent,supervisor", exp: "100" }), 99)).toEqual({
      kind: "person",
      userId: "s",
      username: "anna",
      groups: ["agent", "supervisor"],
    });
    expect(() => callerOf(event({ outcome: "person", userId: "s", username: "anna", groups: "agent", exp: "100" }), 100)).toThrow(
      UnauthorizedError,
    );
    expect(() => callerOf(event({ outcome: "refused", reason: "issuer" }), 0)).toThrow(UnauthorizedError);
    expect(() => callerOf(event({}), 0)).toThrow(UnauthorizedError);
    expect(callerOf(event({ outcome: "machine" }), 0)).toEqual({ kind: "machine" });
  });

  it.each([
    ["an agent as itself", person("anna", "agent"), "anna", "act", true],
    ["an agent as another", person("anna", "agent"), "ben", "read", false],
    ["a supervisor reading another", person("sam", "supervisor", "endpoint:sales"), "anna", "read", true],
    ["a supervisor of no endpoint reading another", person("sam", "supervisor"), "anna", "read", false],
    ["an agent in an endpoint group reading another", person("eve", "agent", "endpoint:sales"), "anna", "read", false],
    ["a supervisor acting as another", person("sam", "supervisor", "endpoint:sales"), "anna", "act", false],
    ["an admin as another", person("root", "admin"), "anna", "read", false],
    ["a person with no role, as itself", person("eve"), "eve", "read", false],
  ] as const)("%s", (_name, caller, agentId, access, allowed) => {
    const check = () => requireAgentAccess(caller, agentId, access);
    if (allowed) expect(check().person).toBe(caller);
    else expect(check).toThrow(AccessDeniedError);
  });

  it("scopes a supervisor to the endpoints of its groups, and oneself to none", () => {
    const grant = requireAgentAccess(person("sam", "agent", "supervisor", "endpoint:sales", "endpoint:Env:support"), "anna", "read");
    expect([...(grant.supervises ?? [])]).toEqual(["sales", "Env:support"]);
    expect(() => requireQueueAccess(grant, "Env:support")).not.toThrow();
    expect(() => requireQueueAccess(grant, "billing")).toThrow(AccessDeniedError);
    const own = requireAgentAccess(person("sam", "supervisor", "endpoint:sales"), "sam", "read");
    expect(own.supervises).toBeUndefined();
    expect(() => requireQueueAccess(own, "billing")).not.toThrow();
  });

  it("opens the admin API to admins and the key, and the agent API to no key", () => {
    expect(requireAdmin(person("root", "admin"))).toBeTruthy();
    expect(requireAdmin({ kind: "machine" })).toEqual({ kind: "machine" });
    expect(() => requireAdmin(person("sam", "supervisor"))).toThrow(AccessDeniedError);
    expect(() => requireAgentAccess({ kind: "machine" }, "anna", "read")).toThrow(UnauthorizedError);
  });
});
