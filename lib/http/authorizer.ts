import { timingSafeEqual } from "node:crypto";
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from "aws-lambda";
import { StorageUnavailableError } from "../errors.ts";
import type { StorageSequence } from "../sequence.ts";
import { header } from "./decode.ts";
import { HttpError } from "./errors.ts";

/**
 * The API Gateway REQUEST authorizer in front of the agent, supervisor and admin routes
 * (handlers/authorizer.ts wires it). It never refuses: it always answers Allow, on every method of
 * the stage (the policy is cached per Authorization value, so it must hold for whichever method the
 * same token calls next), with a context that holds either the person the access token names or
 * why the credentials were refused. The function behind it (lib/http/caller.ts) turns a refusal
 * into a 401 through the one error table, so that the answer is the same JSON, CORS and
 * `WWW-Authenticate` under serverless-offline and on API Gateway, and checks the role.
 *
 * The API key is accepted only by the admin authorizer (`acceptsApiKey`), for machine callers
 * (availability notifiers, automation); an agent route never sees it as a credential.
 */

/** The one storage call an authorizer makes: whether the token's sign-in ended. */
export const LONGEST_STORAGE_SEQUENCE: StorageSequence = ["agents.signedOutUntil"];

/** The token check, as the identity adapter (lib/identity/tokens.ts) answers it. */
export type TokenCheck =
  | {
      readonly ok: true;
      readonly principal: {
        readonly userId: string;
        readonly username: string;
        readonly groups: readonly string[];
        readonly expiresAt: number;
        readonly family?: string;
      };
    }
  | { readonly ok: false; readonly reason: string; readonly message: string };

export interface AuthorizerDeps {
  readonly verify: (token: string) => Promise<TokenCheck>;
  /** Whether a sign-in (a token family) ended (lib/agents/sign-out.ts): its tokens are refused. */
  readonly signedOut: (family: string) => Promise<boolean>;
  /** The admin API's key, for machine callers; undefined where the key is not accepted. */
  readonly apiKey?: () => Promise<string | undefined>;
  /**
   * Whether the gateway runs the authorizer on every request, keeping no verdict (serverless-offline,
   * scripts/deploy/plugin.ts sets AUTHORIZER_UNCACHED): a check that could not be made is then
   * handed to the function, which answers the 503 that API Gateway's AUTHORIZER_FAILURE answer
   * gives deployed, rather than serverless-offline's bare 401.
   */
  readonly uncached?: boolean;
}

/** What the authorizer passes to the function, in API Gateway's flat context (strings only). */
export type AuthorizerContext =
  | {
      readonly outcome: "person";
      readonly userId: string;
      readonly username: string;
      readonly groups: string;
      readonly exp: string;
      /** The token's sign-in (empty when it names none), which the sign-out route ends. */
      readonly family: string;
    }
  | { readonly outcome: "machine" }
  | { readonly outcome: "refused"; readonly reason: string }
  /** The check could not be made (uncached authorizers only): `sign-in`, the issuer's keys; `storage`. */
  | { readonly outcome: "unavailable"; readonly reason: "sign-in" | "storage" };

/** Sign-in cannot be checked just now (the issuer's keys out of reach): try again shortly. */
export class SignInUnavailableError extends HttpError {
  constructor() {
    super(503, "ServiceUnavailableException", "Sign-in cannot be checked just now: try again shortly", { "Retry-After": "2" });
  }
}

/** RFC 6750: the scheme is case-insensitive; the token a JWT (three base64url parts). */
const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i;

/** Every method of the stage the event came through: `arn:...:api-id/stage/*`. */
export function stageWildcard(methodArn: string): string {
  const [prefix = "", apiAndStage = ""] = methodArn.split(":execute-api:");
  const [regionAccountApi = "", stage = ""] = apiAndStage.split("/");
  return `${prefix}:execute-api:${regionAccountApi}/${stage}/*`;
}

function same(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export async function authorize(deps: AuthorizerDeps, event: APIGatewayRequestAuthorizerEvent): Promise<AuthorizerContext> {
  const authorization = header(event, "authorization");
  if (authorization !== undefined) {
    const match = BEARER.exec(authorization.trim());
    if (!match?.[1]) return { outcome: "refused", reason: "malformed" };
    return authorizeToken(deps, match[1]);
  }
  const key = header(event, "x-api-key");
  if (key !== undefined && deps.apiKey !== undefined) {
    const expected = await deps.apiKey();
    if (expected !== undefined && expected !== "" && same(key, expected)) return { outcome: "machine" };
    return { outcome: "refused", reason: "api-key" };
  }
  return { outcome: "refused", reason: "missing" };
}

/**
 * An access token's verdict, as the authorizers and the push function's subscriptions take it:
 * the person it names, or why it was refused. The issuer's keys not fetched is no verdict on the
 * token: an error (a 503; behind API Gateway, its never-cached AUTHORIZER_FAILURE), not a refusal
 * that the cache would keep for this token for the whole TTL; so is storage out of reach. A token
 * of a sign-in that ended is refused: one storage read when a token is first seen, as API Gateway
 * keeps the verdict for the authorizer's TTL (so sign-out holds within it). `beside` (the push
 * function's read of the agent's profile) runs beside that read, only for a token whose signature holds.
 */
export async function authorizeToken(
  deps: Pick<AuthorizerDeps, "verify" | "signedOut">,
  token: string,
  beside?: () => Promise<void>,
): Promise<AuthorizerContext> {
  const checked = await deps.verify(token);
  if (!checked.ok && checked.reason === "keys-unavailable") throw new SignInUnavailableError();
  if (!checked.ok) return { outcome: "refused", reason: checked.reason };
  const { userId, username, groups, expiresAt, family = "" } = checked.principal;
  // `beside`: what a caller reads once the token's signature holds, side by side with this read.
  const [ended] = await Promise.all([family !== "" && deps.signedOut(family), beside?.()]);
  if (ended) return { outcome: "refused", reason: "signed-out" };
  // The context is flat strings, so the groups travel comma-joined. No role or `endpoint:` group
  // has a comma (chat endpoints cannot), but a pool's group may: such a group is dropped rather
  // than split into names it is not.
  const names = groups.filter((group) => !group.includes(","));
  return { outcome: "person", userId, username, groups: names.join(","), exp: String(expiresAt), family };
}

/** The authorizer's Lambda entry: always Allow on the whole stage, with the outcome in the context. */
export function authorizerHandler(deps: AuthorizerDeps) {
  return async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    const context = await authorize(deps, event).catch((error: unknown): AuthorizerContext => {
      if (deps.uncached && error instanceof SignInUnavailableError) return { outcome: "unavailable", reason: "sign-in" };
      if (deps.uncached && error instanceof StorageUnavailableError) return { outcome: "unavailable", reason: "storage" };
      throw error;
    });
    return {
      principalId: context.outcome === "person" ? context.userId : context.outcome,
      policyDocument: {
        Version: "2012-10-17",
        Statement: [{ Action: "execute-api:Invoke", Effect: "Allow", Resource: stageWildcard(event.methodArn) }],
      },
      context,
    };
  };
}
