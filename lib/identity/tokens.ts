import { JwtRsaVerifier } from "aws-jwt-verify";
import {
  FetchError,
  JwkInvalidKtyError,
  JwkInvalidUseError,
  JwksValidationError,
  JwkValidationError,
  JwtExpiredError,
  JwtInvalidIssuerError,
  JwtInvalidSignatureAlgorithmError,
  JwtInvalidSignatureError,
  JwtNotBeforeError,
  JwtParseError,
  JwtWithoutValidKidError,
  KidNotFoundInJwksError,
  NonRetryableFetchError,
  WaitPeriodNotYetEndedJwkError,
} from "aws-jwt-verify/error";
import type { Fetcher } from "aws-jwt-verify/https";
import { SimpleJwksCache } from "aws-jwt-verify/jwk";
import { type IdentityConfig, identityConfigFromEnv } from "./config.ts";

/**
 * Verifies the access tokens the agents' user pool issues (a Cognito pool, or a local emulator of
 * one), so that a request can be attributed to a person rather than to whoever holds the API key.
 *
 * The access token, not the ID token: in OAuth 2.0 and OpenID Connect, which Cognito follows, the
 * access token is the one meant for the APIs a client calls, while the ID token is meant for the
 * client itself (its `aud` is the client, to read who signed in) and carries the person's profile
 * attributes (name, email, phone), which would then travel with every request. The access token
 * carries only what an API needs: the client in `client_id`, its purpose in `token_use: access`,
 * the person in `sub`, `username` and `cognito:groups`, and room for scopes should a route want
 * one. An ID token presented instead is refused.
 *
 * The signing keys are fetched from the issuer's JWKS once per instance and cached; a token signed
 * with a key not in the cached set makes one more fetch (a rotation), after which aws-jwt-verify
 * waits ten seconds before it fetches for that address again.
 */
export interface Principal {
  /** The pool's immutable id of the person (`sub`). */
  readonly userId: string;
  readonly username: string;
  /** The pool's groups the person is in (`cognito:groups`), e.g. admin, supervisor, agent. */
  readonly groups: readonly string[];
  /** When the token expires, in epoch seconds (`exp`). */
  readonly expiresAt: number;
  /**
   * The sign-in the token came from (`origin_jti`: every access token refreshed from one refresh
   * token carries the same), which sign-out ends (lib/agents/sign-out.ts). Pools that revoke tokens
   * put it in; a token without it cannot be signed out before it expires.
   */
  readonly family?: string;
}

/**
 * Why a token was refused. `keys-unavailable` is the issuer's key set not being fetched, not the
 * caller's fault: an authorizer may answer it with a 503 rather than a 401.
 */
export type TokenFailureReason =
  | "malformed"
  | "algorithm"
  | "signature"
  | "unknown-key"
  | "expired"
  | "issuer"
  | "client"
  | "token-use"
  | "claims"
  | "keys-unavailable";

export type TokenVerification =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly reason: TokenFailureReason; readonly message: string };

export interface TokenVerifier {
  verify(token: string): Promise<TokenVerification>;
}

/** A claim the issuer's own checks pass but this service refuses. */
class ClaimError extends Error {
  constructor(
    readonly reason: "client" | "token-use" | "claims" | "algorithm",
    message: string,
  ) {
    super(message);
  }
}

/** The key set's fetch: bounded, since a request waits for it (aws-jwt-verify retries a failed one once). */
const JWKS_TIMEOUT_MS = 3000;
/** A key set is a few keys; anything much larger is not one. */
const JWKS_MAX_BYTES = 64 * 1024;

/**
 * aws-jwt-verify's own fetcher speaks https only; an emulator on this machine serves plain http
 * (config.ts allows it only on loopback), so the key set is fetched with Node's fetch for both.
 */
const jwksFetcher: Fetcher = {
  async fetch(uri) {
    let response: Response;
    try {
      response = await fetch(uri, { signal: AbortSignal.timeout(JWKS_TIMEOUT_MS), redirect: "error" });
    } catch (error) {
      throw new FetchError(uri, error instanceof Error ? error.message : String(error));
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new NonRetryableFetchError(uri, `Status code is ${response.status}, expected 200`);
    }
    const body = await response.arrayBuffer();
    if (body.byteLength > JWKS_MAX_BYTES) throw new NonRetryableFetchError(uri, `key set larger than ${JWKS_MAX_BYTES} bytes`);
    return body;
  },
};

function stringClaim(payload: Readonly<Record<string, unknown>>, name: string): string {
  const value = payload[name];
  if (typeof value !== "string" || value === "") throw new ClaimError("claims", `the token has no ${name}`);
  return value;
}

function groupsOf(payload: Readonly<Record<string, unknown>>): readonly string[] {
  const groups = payload["cognito:groups"];
  if (groups === undefined) return [];
  if (!Array.isArray(groups) || !groups.every((group): group is string => typeof group === "string"))
    throw new ClaimError("claims", "the token's cognito:groups is not a list of names");
  return groups;
}

/** The principal an access token names, or the ClaimError that refuses it. */
function principalOf(payload: Readonly<Record<string, unknown>>, clientId: string): Principal {
  if (payload.token_use !== "access")
    throw new ClaimError("token-use", `expected an access token, got token_use ${String(payload.token_use)}`);
  // Access tokens name their client in client_id and have no aud (ID tokens have aud and no client_id).
  if (payload.client_id !== clientId) throw new ClaimError("client", "the token was issued to another client");
  if (typeof payload.exp !== "number") throw new ClaimError("claims", "the token has no expiry");
  return {
    userId: stringClaim(payload, "sub"),
    username: stringClaim(payload, "username"),
    groups: groupsOf(payload),
    expiresAt: payload.exp,
    ...(typeof payload.origin_jti === "string" && payload.origin_jti !== "" ? { family: payload.origin_jti } : {}),
  };
}

/** aws-jwt-verify's errors, by what they say about the token; anything else is a claim this service refuses. */
const FAILURES: ReadonlyArray<readonly [abstract new (...args: never[]) => Error, TokenFailureReason]> = [
  [JwtInvalidSignatureAlgorithmError, "algorithm"],
  [JwtInvalidSignatureError, "signature"],
  [JwtExpiredError, "expired"],
  [JwtNotBeforeError, "expired"],
  [JwtInvalidIssuerError, "issuer"],
  [KidNotFoundInJwksError, "unknown-key"],
  [JwtWithoutValidKidError, "unknown-key"],
  [WaitPeriodNotYetEndedJwkError, "unknown-key"],
  [FetchError, "keys-unavailable"],
  [JwksValidationError, "keys-unavailable"],
  [JwkValidationError, "keys-unavailable"],
  [JwkInvalidUseError, "keys-unavailable"],
  [JwkInvalidKtyError, "keys-unavailable"],
  [JwtParseError, "malformed"],
];

function failureOf(error: unknown): { reason: TokenFailureReason; message: string } {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof ClaimError) return { reason: error.reason, message };
  const reason = FAILURES.find(([type]) => error instanceof type)?.[1] ?? "claims";
  return { reason, message };
}

/** A verifier for one pool and client. Build it once per instance: it holds the cached key set. */
export function createTokenVerifier(config: IdentityConfig): TokenVerifier {
  const verifier = JwtRsaVerifier.create(
    {
      issuer: config.issuer,
      jwksUri: config.jwksUri,
      // Access tokens have no aud: the client is checked on client_id below.
      audience: null,
      customJwtCheck: ({ header, payload }) => {
        // Cognito signs with RS256 only; a token naming another algorithm the key could verify is refused.
        if (header.alg !== "RS256") throw new ClaimError("algorithm", `expected RS256, got ${String(header.alg)}`);
        principalOf(payload, config.clientId);
      },
    },
    { jwksCache: new SimpleJwksCache({ fetcher: jwksFetcher }) },
  );
  return {
    async verify(token) {
      try {
        // The claims were checked in customJwtCheck, after the signature and the standard claims.
        return { ok: true, principal: principalOf(await verifier.verify(token), config.clientId) };
      } catch (error) {
        return { ok: false, ...failureOf(error) };
      }
    },
  };
}

/**
 * The verifier a Lambda entry builds once per instance from its environment (IDENTITY_ISSUER,
 * IDENTITY_JWKS_URI, IDENTITY_CLIENT_ID): without them the function cannot check anyone, so it
 * fails at init.
 */
export function tokenVerifierFromEnv(env: Readonly<Record<string, string | undefined>>): TokenVerifier {
  const config = identityConfigFromEnv(env);
  if (config === undefined) throw new Error("IDENTITY_ISSUER, IDENTITY_JWKS_URI and IDENTITY_CLIENT_ID must be set for the authorizer");
  return createTokenVerifier(config);
}
