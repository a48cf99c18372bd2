import { createSign, generateKeyPairSync, type KeyObject, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type IdentityConfig, identityConfigFromEnv, identitySettingProblems } from "../../lib/identity/config.ts";
import { createTokenVerifier, type TokenVerification } from "../../lib/identity/tokens.ts";
import { startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

/**
 * The access-token verifier against a stand-in for a user pool: an RSA key pair made here, its
 * public half served as a JWKS by a local HTTP server (as a local emulator serves it: plain http
 * on loopback, an issuer that is not Cognito's), and tokens signed with a small RS256 signer.
 */
const POOL = "eu-west-1_TestPool";
const CLIENT_ID = "console0client0id0000000000";
const KID = "key-1";
const NOW = () => Math.floor(Date.now() / 1000);

const signing = generateKeyPairSync("rsa", { modulusLength: 2048 });
const stranger = generateKeyPairSync("rsa", { modulusLength: 2048 });

let issuer: TestIssuer;
let config: IdentityConfig;

function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString("base64url");
}

/** A JWT with `header` and `payload`, signed RS256 with `key` (or with no signature when `key` is null). */
function sign(payload: Record<string, unknown>, header: Record<string, unknown> = {}, key: KeyObject | null = signing.privateKey): string {
  const input = `${base64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid: KID, ...header }))}.${base64url(JSON.stringify(payload))}`;
  if (key === null) return `${input}.`;
  return `${input}.${createSign("RSA-SHA256").update(input).sign(key).toString("base64url")}`;
}

/** The claims of an access token as Cognito issues it for the console client. */
function accessClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = NOW();
  return {
    sub: "8f3c2a1e-0000-4000-8000-00000000a9e7",
    "cognito:groups": ["agent", "supervisor"],
    iss: config.issuer,
    client_id: CLIENT_ID,
    origin_jti: randomUUID(),
    event_id: randomUUID(),
    token_use: "access",
    scope: "aws.cognito.signin.user.admin",
    auth_time: iat,
    exp: iat + 1800,
    iat,
    jti: randomUUID(),
    username: "anna.agent",
    ...overrides,
  };
}

beforeAll(async () => {
  issuer = await startTestIssuer(POOL, CLIENT_ID, signing.publicKey, KID);
  config = issuer.config;
});

afterAll(async () => {
  await issuer.close();
});

function failure(result: TokenVerification) {
  expect(result.ok, JSON.stringify(result)).toBe(false);
  return result.ok ? undefined : result.reason;
}

describe("the access-token verifier", () => {
  it("accepts a valid access token and names its person and groups, fetching the key set once for many tokens", async () => {
    const verifier = createTokenVerifier(config);
    const before = issuer.jwksRequests();
    const claims = accessClaims();
    const result = await verifier.verify(sign(claims));
    expect(result).toEqual({
      ok: true,
      principal: {
        userId: "8f3c2a1e-0000-4000-8000-00000000a9e7",
        username: "anna.agent",
        groups: ["agent", "supervisor"],
        expiresAt: expect.any(Number),
        // The sign-in it came from, which sign-out ends.
        family: claims.origin_jti,
      },
    });
    const tokens = Array.from({ length: 200 }, (_, i) => sign(accessClaims({ username: `agent-${i}`, "cognito:groups": undefined })));
    const results = await Promise.all(tokens.map((token) => verifier.verify(token)));
    expect(results.every((r) => r.ok && r.principal.groups.length === 0)).toBe(true);
    expect(issuer.jwksRequests() - before).toBe(1);
  });

  it("fetches the key set once when many first requests arrive together", async () => {
    const verifier = createTokenVerifier(config);
    const before = issuer.jwksRequests();
    const results = await Promise.all(Array.from({ length: 20 }, () => verifier.verify(sign(accessClaims()))));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(issuer.jwksRequests() - before).toBe(1);
  });

  it("refuses, each with its reason, what is not a valid access token for this client and pool", async () => {
    const verifier = createTokenVerifier(config);
    const valid = sign(accessClaims());
    const [head, body, signature] = valid.split(".") as [string, string, string];
    const flipped = Buffer.from(signature, "base64url");
    flipped[10] = (flipped[10] ?? 0) ^ 0x01;
    const cases: [string, string, string][] = [
      ["a flipped signature byte", `${head}.${body}.${flipped.toString("base64url")}`, "signature"],
      [
        "a payload changed after signing",
        `${head}.${base64url(JSON.stringify(accessClaims({ username: "root" })))}.${signature}`,
        "signature",
      ],
      ["signed by another key under the same kid", sign(accessClaims(), {}, stranger.privateKey), "signature"],
      ["expired", sign(accessClaims({ iat: NOW() - 3600, exp: NOW() - 60 })), "expired"],
      ["another issuer", sign(accessClaims({ iss: `https://cognito-idp.eu-west-1.amazonaws.com/${POOL}` })), "issuer"],
      ["another client", sign(accessClaims({ client_id: "another0client" })), "client"],
      [
        "an ID token",
        sign(
          accessClaims({ token_use: "id", client_id: undefined, aud: CLIENT_ID, "cognito:username": "anna.agent", username: undefined }),
        ),
        "token-use",
      ],
      ["no token_use", sign(accessClaims({ token_use: undefined })), "token-use"],
      ["no username", sign(accessClaims({ username: undefined })), "claims"],
      ["groups that are not a list of names", sign(accessClaims({ "cognito:groups": "admin" })), "claims"],
      // aws-jwt-verify refuses an empty signature as it parses the token, before reading alg.
      ["alg none, unsigned", sign(accessClaims(), { alg: "none" }, null), "malformed"],
      ["alg none, with a signature", sign(accessClaims(), { alg: "none" }), "algorithm"],
      ["alg HS256 with the key set's key", sign(accessClaims(), { alg: "HS256" }), "algorithm"],
      ["no kid", sign(accessClaims(), { kid: undefined }), "unknown-key"],
      ["garbage", "not-a-token", "malformed"],
      ["three parts of garbage", "a.b.c", "malformed"],
      ["empty", "", "malformed"],
    ];
    const reasons: Record<string, string | undefined> = {};
    for (const [name, token] of cases) reasons[name] = failure(await verifier.verify(token));
    expect(reasons).toEqual(Object.fromEntries(cases.map(([name, , reason]) => [name, reason])));
    // And a valid one still passes after all of them.
    expect((await verifier.verify(valid)).ok).toBe(true);
  });

  it("refuses a token whose kid the key set lacks, after fetching the set once more for a rotation", async () => {
    const verifier = createTokenVerifier(config);
    expect((await verifier.verify(sign(accessClaims()))).ok).toBe(true);
    const before = issuer.jwksRequests();
    expect(failure(await verifier.verify(sign(accessClaims(), { kid: "key-2" })))).toBe("unknown-key");
    expect(issuer.jwksRequests() - before).toBe(1);
    // Then it waits before fetching for an unknown key again: a flood of forged kids makes no flood of fetches.
    expect(failure(await verifier.verify(sign(accessClaims(), { kid: "key-3" })))).toBe("unknown-key");
    expect(issuer.jwksRequests() - before).toBe(1);
    expect((await verifier.verify(sign(accessClaims()))).ok).toBe(true);
  });

  it("says the keys are unavailable, not that the token is bad, when the key set cannot be fetched", async () => {
    const { port } = issuer;
    const missing = createTokenVerifier({ ...config, jwksUri: `http://127.0.0.1:${port}/no-such-pool/.well-known/jwks.json` });
    expect(failure(await missing.verify(sign(accessClaims())))).toBe("keys-unavailable");
  });
});

describe("the identity configuration", () => {
  const cognito = {
    IDENTITY_ISSUER: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123",
    IDENTITY_JWKS_URI: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123/.well-known/jwks.json",
    IDENTITY_CLIENT_ID: "1example23456789abcdefghij",
  };

  it("is absent when none of its settings is given", () => {
    expect(identityConfigFromEnv({})).toBeUndefined();
    expect(identityConfigFromEnv({ IDENTITY_ISSUER: "", IDENTITY_JWKS_URI: "", IDENTITY_CLIENT_ID: "" })).toBeUndefined();
    expect(identitySettingProblems({})).toEqual([]);
  });

  it("reads Cognito's issuer and a local emulator's", () => {
    expect(identityConfigFromEnv(cognito)).toEqual({
      issuer: cognito.IDENTITY_ISSUER,
      jwksUri: cognito.IDENTITY_JWKS_URI,
      clientId: cognito.IDENTITY_CLIENT_ID,
    });
    const local = {
      IDENTITY_ISSUER: "http://127.0.0.1:9229/local_pool",
      IDENTITY_JWKS_URI: "http://localhost:9229/local_pool/.well-known/jwks.json",
      IDENTITY_CLIENT_ID: "localclient",
    };
    expect(identityConfigFromEnv(local)?.issuer).toBe(local.IDENTITY_ISSUER);
  });

  it.each([
    [{ IDENTITY_ISSUER: cognito.IDENTITY_ISSUER }, "IDENTITY_JWKS_URI and IDENTITY_CLIENT_ID must be set with IDENTITY_ISSUER"],
    [
      { ...cognito, IDENTITY_ISSUER: "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123" },
      "IDENTITY_ISSUER must be an absolute https:// URL",
    ],
    [{ ...cognito, IDENTITY_ISSUER: `${cognito.IDENTITY_ISSUER}/` }, "IDENTITY_ISSUER must not end with /"],
    [{ ...cognito, IDENTITY_JWKS_URI: "http://keys.example.com/jwks.json" }, "IDENTITY_JWKS_URI must use https://"],
    [{ ...cognito, IDENTITY_JWKS_URI: "https://user:pw@keys.example.com/jwks.json" }, "IDENTITY_JWKS_URI must have no credentials"],
    [{ ...cognito, IDENTITY_CLIENT_ID: "a client" }, "IDENTITY_CLIENT_ID must be an app client id"],
  ])("refuses %j with a message naming the setting", (env, message) => {
    expect(() => identityConfigFromEnv(env)).toThrow(message);
    expect(identitySettingProblems(env)).toEqual([expect.stringContaining(message)]);
  });
});
