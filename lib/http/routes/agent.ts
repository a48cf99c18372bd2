import type { APIGatewayProxyEvent } from "aws-lambda";
import {
  type PresenceCommand,
  type PresenceDeps,
  presenceOf,
  requireAgentId,
  requireNickname,
  setPresence,
} from "../../agents/presence.ts";
import { requireEndpoints } from "../../agents/profile.ts";
import { signOut } from "../../agents/sign-out.ts";
import { type AgentCall, agentDisconnect, agentEvent, agentRefresh } from "../../chat/agent.ts";
import type { Post } from "../../chat/transcript.ts";
import { requireChatEndpoint } from "../../config/services.ts";
import { InvalidInputError } from "../../errors.ts";
import { accept, type OffersDeps, offersOf, reject, type TransferTarget, transfer } from "../../routing/offers.ts";
import { QUEUE_PAGE, type QueueQuery, waitingChats } from "../../routing/queue.ts";
import type { StorageSequence } from "../../sequence.ts";
import { chatIdOrUnknown } from "../../session/ids.ts";
import { epochSeconds } from "../../time.ts";
import { type AgentAccess, type AgentGrant, callerOf, oversees, requireAgentAccess, requireQueueAccess } from "../caller.ts";
import { decodeFields, type Fields } from "../decode.ts";
import { onlyKeys, parsePosition, parsePostText, pathParameter } from "../fields.ts";
import { dispatch, type HttpOptions, httpHandler } from "../respond.ts";

const A = "/genesys/1/agent/{agentId}";
const C = `${A}/chats/{chatId}`;

/**
 * The longest sequence of storage calls one request makes: going ready on other endpoints than
 * before, or not ready (its record read with its profile, then written, and the endpoints it leaves
 * closed if it was their last agent, beside routing's index of it). It posts no frame.
 */
export const LONGEST_STORAGE_SEQUENCE: StorageSequence = [["agents.presence", "routing.changeFree"]];

/**
 * The longest of those that write a chat event, and so also wait for its listeners (the push
 * fan-out): an accept of an offer (the chat's head; its claim; the notice beside the agent's slot;
 * the offer's entry beside the agent's index entries; the answer). A take, a transfer and a
 * disconnect take as long.
 */
export const LISTENING_SEQUENCE: StorageSequence = [
  "sessions.head",
  "sessions.claim",
  ["sessions.write", "agents.change"],
  ["routing.dropOffer", "routing.changeFree"],
  "sessions.read",
];

/**
 * The agent function's routes under `/genesys/1/agent/{agentId}` (its Lambda entry is
 * handlers/agent.ts), for people signed in to the agents' user pool: API Gateway's authorizer
 * (lib/http/authorizer.ts) checks the `Authorization: Bearer` access token, and each route checks
 * that the caller acts as itself (a supervisor may also read others' queues and chats:
 * lib/http/caller.ts). The API key opens none of them. Agents go ready on an endpoint, take chats
 * from its queue and talk to the customer, naming each chat by its chat id (lib/session/ids.ts). The
 * operations are lib/config/presence.ts, lib/routing/queue.ts and lib/chat/agent.ts.
 */
export function agentHandler(deps: OffersDeps & PresenceDeps & HttpOptions) {
  /**
   * The path's agent id, if the caller may use it; `actor`: the person's pool id, recorded with what
   * the call writes; `supervises`: the endpoints a supervisor reading another agent's id oversees.
   */
  const agentIdOf = (
    event: APIGatewayProxyEvent,
    access: AgentAccess,
  ): { agentId: string; actor: string; person: AgentGrant["person"]; supervises?: ReadonlySet<string> } => {
    const caller = callerOf(event, epochSeconds(deps.now()));
    const agentId = requireAgentId(pathParameter(event, "agentId"));
    const { person, supervises } = requireAgentAccess(caller, agentId, access);
    return { agentId, actor: person.userId, person, ...(supervises === undefined ? {} : { supervises }) };
  };
  /** A call on one chat: who, the position, then the chat id from the path (a bad field is a 400 even on an unknown id). */
  const agentCall = (event: APIGatewayProxyEvent, access: AgentAccess, fields: Fields): AgentCall => {
    const { agentId, actor, supervises } = agentIdOf(event, access);
    const position = parsePosition(fields.transcriptPosition);
    return {
      agentId,
      actor,
      ...(supervises === undefined ? {} : { supervises }),
      position,
      chatId: chatIdOrUnknown(pathParameter(event, "chatId")),
    };
  };
  const post = (type: Post["type"]) => async (event: APIGatewayProxyEvent) => {
    const fields = await decodeFields(event);
    const text = parsePostText(fields, type);
    return { status: 200, body: await agentEvent(deps, { ...agentCall(event, "act", fields), ...text }) };
  };
  const call = (access: AgentAccess, run: (call: AgentCall) => Promise<unknown>) => async (event: APIGatewayProxyEvent) => ({
    status: 200,
    body: await run(agentCall(event, access, await decodeFields(event))),
  });
  return httpHandler(
    dispatch({
      [`${A}/presence`]: {
        GET: async (event) => {
          const { agentId } = agentIdOf(event, "act");
          onlyKeys(await decodeFields(event), [], "This call takes no fields");
          return { status: 200, body: await presenceOf(deps, agentId) };
        },
        PUT: async (event) => ({ status: 200, body: await setPresence(deps, await parsePresence(agentIdOf(event, "act"), event)) }),
      },
      [`${A}/sign-out`]: {
        POST: async (event) => {
          const { person } = agentIdOf(event, "act");
          onlyKeys(await decodeFields(event), [], "This call takes no fields");
          await signOut(deps, person.family ?? "");
          return { status: 204 };
        },
      },
      [`${A}/offers`]: {
        GET: async (event) => {
          const { agentId } = agentIdOf(event, "act");
          onlyKeys(await decodeFields(event), [], "This call takes no fields");
          return { status: 200, body: await offersOf(deps, agentId) };
        },
      },
      [`${A}/queue`]: {
        GET: async (event) => {
          const who = agentIdOf(event, "read");
          const query = parseQueueQuery(await decodeFields(event));
          requireQueueAccess(who, query.endpoint);
          const reader = { agentId: who.agentId, oversees: who.supervises !== undefined || oversees(who.person, query.endpoint) };
          return { status: 200, body: await waitingChats(deps, query, reader) };
        },
      },
      [`${C}/accept`]: { POST: call("act", (agentCall) => accept(deps, agentCall)) },
      [`${C}/reject`]: {
        POST: async (event) => {
          await reject(deps, agentCall(event, "act", await decodeFields(event)));
          return { status: 204 };
        },
      },
      [`${C}/transfer`]: {
        POST: async (event) => {
          const fields = await decodeFields(event);
          const to = parseTransfer(fields);
          return { status: 200, body: await transfer(deps, agentCall(event, "handOn", fields), to) };
        },
      },
      [`${C}/send`]: { POST: post("Message.Text") },
      [`${C}/startTyping`]: { POST: post("Notice.TypingStarted") },
      [`${C}/stopTyping`]: { POST: post("Notice.TypingStopped") },
      [`${C}/refresh`]: { POST: call("read", (agentCall) => agentRefresh(deps, agentCall)) },
      [`${C}/disconnect`]: { POST: call("act", (agentCall) => agentDisconnect(deps, agentCall)) },
    }),
    deps,
  );
}

/** The chat endpoint an agent works on (`endpoint`, in the body or the query string). */
function endpointField(fields: Fields): string {
  return requireChatEndpoint((fields.endpoint ?? "").trim(), "endpoint");
}

const QUEUE_KEYS = ["endpoint", "limit", "after", "attachedData"];
const CURSOR = /^[A-Za-z0-9_-]{1,512}$/;

/** `endpoint`, and which page: `limit` chats (20 by default), `after` a page's `next`, `attachedData=true` to include it. */
function parseQueueQuery(fields: Fields): QueueQuery {
  onlyKeys(fields, QUEUE_KEYS, "Unknown field; expected endpoint, limit, after and attachedData");
  const attachedData = (fields.attachedData ?? "false").trim().toLowerCase();
  if (attachedData !== "true" && attachedData !== "false") throw new InvalidInputError("attachedData must be true or false");
  const max = attachedData === "true" ? QUEUE_PAGE.maxWithAttachedData : QUEUE_PAGE.max;
  const limitText = (fields.limit ?? "").trim();
  const limit = limitText === "" ? Math.min(QUEUE_PAGE.default, max) : Number(limitText);
  if (!/^\d{1,3}$/.test(limitText || "0") || !Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new InvalidInputError(`limit must be a whole number from 1 to ${max}`);
  }
  const after = fields.after?.trim() || undefined;
  if (after !== undefined && !CURSOR.test(after)) throw new InvalidInputError("after must be the next value of a queue page");
  return { endpoint: endpointField(fields), limit, after, attachedData: attachedData === "true" };
}

const PRESENCE_KEYS = ["endpoint", "endpoints", "state", "nickname", "renew"];

/**
 * `ready`, on `endpoints` (or `endpoint`; absent: every endpoint of the agent's profile), as
 * `nickname` (the agent id by default), or `not_ready`; `renew=true`: a console keeping its agent
 * ready, which never makes a not-ready agent ready again.
 */
async function parsePresence(
  { agentId, actor }: { agentId: string; actor: string },
  event: APIGatewayProxyEvent,
): Promise<PresenceCommand> {
  const fields = await decodeFields(event);
  onlyKeys(fields, PRESENCE_KEYS, "Unknown field; expected state, and endpoints, nickname and renew");
  const state = fields.state?.trim().toLowerCase();
  const renew = (fields.renew ?? "false").trim().toLowerCase();
  if (renew !== "true" && renew !== "false") throw new InvalidInputError("renew must be true or false");
  if (fields.endpoint !== undefined && fields.endpoints !== undefined) throw new InvalidInputError("Send endpoints or endpoint, not both");
  const named = fields.endpoints ?? fields.endpoint;
  const endpoints = named === undefined ? undefined : requireEndpoints(named);
  if (state === "not_ready") return { agentId, ready: false, actor };
  if (state !== "ready") throw new InvalidInputError("state must be ready or not_ready");
  const nickname = fields.nickname === undefined ? undefined : requireNickname(fields.nickname);
  return { agentId, ready: true, endpoints, nickname, renew: renew === "true", actor };
}

/** Exactly one of `endpoint` (back into its routing) and `agent` (offered to that agent). */
function parseTransfer(fields: Fields): TransferTarget {
  onlyKeys(fields, ["endpoint", "agent", "transcriptPosition"], "Unknown field; expected endpoint or agent, and transcriptPosition");
  if ((fields.endpoint === undefined) === (fields.agent === undefined)) {
    throw new InvalidInputError("Send endpoint (back into its routing) or agent (offered to that agent), one of them");
  }
  if (fields.agent !== undefined) return { agentId: requireAgentId(fields.agent.trim()) };
  return { endpoint: endpointField(fields) };
}
