import type { APIGatewayProxyEvent } from "aws-lambda";
import { StorageUnavailableError } from "../errors.ts";
import { SignInUnavailableError } from "./authorizer.ts";
import { AccessDeniedError, UnauthorizedError } from "./errors.ts";

/**
 * Who is calling, as the authorizer (lib/http/authorizer.ts) found it, and what their role lets
 * them do. Roles are the user pool's groups:
 *
 * | role       | agent routes of its own id | reads and transfers of another agent id    | other agent routes of another id | admin API |
 * | ---------- | -------------------------- | ------------------------------------------ | -------------------------------- | --------- |
 * | agent      | yes                        | no                                         | no                               | no        |
 * | supervisor | yes                        | on the endpoints of its `endpoint:` groups | no                               | no        |
 * | admin      | yes                        | no                                         | no                               | yes       |
 * | API key    | no                         | no                                         | no                               | yes       |
 *
 * A supervisor oversees the endpoints its groups name, `endpoint:<chat endpoint>` (an access token
 * carries the groups, not custom attributes). In none, it oversees none: forgetting to assign a
 * supervisor shows it nothing rather than everything.
 */
export type Caller =
  | {
      readonly kind: "person";
      readonly userId: string;
      readonly username: string;
      readonly groups: readonly string[];
      /** The sign-in its token came from (lib/agents/sign-out.ts), when the token names one. */
      readonly family?: string;
    }
  | { readonly kind: "machine" };

const REASONS: Readonly<Record<string, string>> = {
  missing: "Sign in: send Authorization: Bearer <access token>",
  expired: "The access token has expired: refresh it or sign in again",
  "signed-out": "This sign-in was signed out: sign in again",
};

/** The caller of a request, or the 401 its credentials earn. `now`: seconds since the epoch. */
export function callerOf(event: APIGatewayProxyEvent, nowSeconds: number): Caller {
  return callerOfContext((event.requestContext?.authorizer ?? {}) as Record<string, unknown>, nowSeconds);
}

/** The caller an authorizer's context (lib/http/authorizer.ts) names, or the 401 its credentials earn. */
export function callerOfContext(context: Readonly<Record<string, unknown>>, nowSeconds: number): Caller {
  const outcome = context.outcome;
  if (outcome === "machine") return { kind: "machine" };
  if (outcome === "person") {
    // The authorizer's answer is cached per token for up to its TTL, which may outlive the token.
    const exp = Number(context.exp);
    if (!Number.isFinite(exp) || exp <= nowSeconds) throw new UnauthorizedError(REASONS.expired as string);
    const groups = String(context.groups ?? "")
      .split(",")
      .filter(Boolean);
    const family = typeof context.family === "string" && context.family !== "" ? { family: context.family } : {};
    return { kind: "person", userId: String(context.userId), username: String(context.username), groups, ...family };
  }
  if (outcome === "unavailable") {
    // An uncached authorizer that could not check (lib/http/authorizer.ts): the 503 API Gateway gives.
    throw context.reason === "storage" ? new StorageUnavailableError("the authorizer could not read") : new SignInUnavailableError();
  }
  const reason = typeof context.reason === "string" ? context.reason : "missing";
  if (reason === "missing") throw new UnauthorizedError(REASONS.missing as string, "invalid_request");
  throw new UnauthorizedError(REASONS[reason] ?? "The credentials are not valid here: sign in again");
}

/**
 * What an agent route does on an agent id: read (queue, refresh, presence, offers), act (go ready,
 * accept, reject, send, typing, disconnect) or hand on (transfer: the agent, or a supervisor of the
 * chat's endpoint).
 */
export type AgentAccess = "read" | "act" | "handOn";

/** The group that makes a supervisor oversee a chat endpoint. */
export const ENDPOINT_GROUP = "endpoint:";

/**
 * What a person may do on `/agent/{agentId}`: `person`, and, when a supervisor reads another
 * agent's id, `supervises`, the endpoints whose queues and chats it may read (undefined: its own id).
 */
export interface AgentGrant {
  readonly person: Extract<Caller, { kind: "person" }>;
  readonly supervises?: ReadonlySet<string>;
}

/** A person acting on `/agent/{agentId}`: itself, or a supervisor reading; anyone else is refused. */
export function requireAgentAccess(caller: Caller, agentId: string, access: AgentAccess): AgentGrant {
  if (caller.kind !== "person") throw new UnauthorizedError(REASONS.missing as string, "invalid_request");
  const roles = ["agent", "supervisor", "admin"];
  if (!caller.groups.some((group) => roles.includes(group))) throw new AccessDeniedError("Your account has no role on the agent API");
  if (caller.username === agentId) return { person: caller };
  if (access !== "act" && caller.groups.includes("supervisor")) {
    const supervises = caller.groups.filter((group) => group.startsWith(ENDPOINT_GROUP)).map((group) => group.slice(ENDPOINT_GROUP.length));
    if (supervises.length > 0) return { person: caller, supervises: new Set(supervises) };
    throw new AccessDeniedError(`You supervise no endpoint yet: an admin adds you to a group ${ENDPOINT_GROUP}<endpoint>`);
  }
  throw new AccessDeniedError("You can act only as yourself: the agent id must be your username");
}

/** A queue a grant may read: as a supervisor reading another agent's id, a supervised endpoint's (as oneself, the domain asks the profile). */
export function requireQueueAccess(grant: Pick<AgentGrant, "supervises">, endpoint: string): void {
  if (grant.supervises !== undefined && !grant.supervises.has(endpoint)) throw new AccessDeniedError("You do not supervise this endpoint");
}

/**
 * Whether the person oversees the endpoint, so that it reads and watches the endpoint's queue
 * whatever its agent profile says: an admin, or a supervisor in the endpoint's group. Everyone else
 * sees only its profile's endpoints (lib/agents/state.ts `requireServes`).
 */
export function oversees(person: AgentGrant["person"], endpoint: string): boolean {
  const { groups } = person;
  return groups.includes("admin") || (groups.includes("supervisor") && groups.includes(`${ENDPOINT_GROUP}${endpoint}`));
}

/** The admin API: the API key (machines) or a person in the admin group. */
export function requireAdmin(caller: Caller): Caller {
  if (caller.kind === "machine" || caller.groups.includes("admin")) return caller;
  throw new AccessDeniedError("The admin API needs the admin role");
}
