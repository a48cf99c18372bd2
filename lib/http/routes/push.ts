import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2, Context } from "aws-lambda";
import { requireAgentId } from "../../agents/presence.ts";
import { signedOutCheck } from "../../agents/sign-out.ts";
import type { AgentProfile, AgentStore } from "../../agents/store.ts";
import { requireChatEndpoint } from "../../config/services.ts";
import { InvalidInputError } from "../../errors.ts";
import { errorFrame, pongFrame } from "../../push/frames.ts";
import {
  type AgentSubscribe,
  type CustomerSubscribe,
  MAX_ENDPOINTS,
  MAX_RESUMED_CHATS,
  type PushDeps,
  subscribeAgent,
  subscribeCustomer,
} from "../../push/push.ts";
import type { StorageSequence } from "../../sequence.ts";
import { chatIdOrUnknown } from "../../session/ids.ts";
import { sessionIdOrUnknown } from "../../session/session.ts";
import { epochSeconds } from "../../time.ts";
import { authorizeToken, type TokenCheck } from "../authorizer.ts";
import { callerOfContext, oversees, requireAgentAccess } from "../caller.ts";
import { decodeUtf8, requireNoReplacement } from "../decode.ts";
import { errorAnswer } from "../errors.ts";
import { onlyKeys, parsePosition } from "../fields.ts";
import type { RequestScope } from "../respond.ts";

/**
 * The push function's WebSocket routes (handlers/push.ts; the protocol is docs/push.md and
 * asyncapi.yaml). `$connect` takes anyone: a connection hears nothing until it subscribes, with the
 * credential the REST API takes for what it asks (a customer the session id; an agent its access
 * token, as itself). `$disconnect` forgets its subscriptions. Every other message is `$default`:
 * `subscribe` or `ping`. Answers and refusals go back as frames on the connection.
 */

/**
 * The longest sequence of storage calls: an agent's subscribe (whether its sign-in ended, beside
 * its profile when it names queues; its subscription, its consoles, then the oldest let go beside the chats it resumes). A
 * customer's is shorter: the session's head, the subscription, the catch-up read.
 */
export const LONGEST_STORAGE_SEQUENCE: StorageSequence = [
  ["agents.signedOutUntil", "agents.getProfile"],
  "push.subscribe",
  "push.listening",
  ["push.forget", "sessions.read"],
];

/** A message from a client: JSON, a few KB at most (an access token is the largest field). */
const MAX_MESSAGE_BYTES = 16 * 1024;

export interface PushOptions {
  /** Checks an agent's access token (lib/identity/tokens.ts on the production wiring). */
  readonly verify: (token: string) => Promise<TokenCheck>;
  readonly scope?: RequestScope | undefined;
}

/** The agents' store, for an agent's subscription: its profile, and whether its sign-in ended. */
type PushAgents = { readonly agents: Pick<AgentStore, "getProfile" | "signedOutUntil"> };

export function pushHandler(deps: PushDeps & PushOptions & PushAgents) {
  const { scope } = deps;
  const route = async (event: APIGatewayProxyWebsocketEventV2): Promise<string | undefined> => {
    // By the event's type, not its route key: a message's route key can come from what the client sent.
    const { eventType, connectionId } = event.requestContext;
    if (eventType === "CONNECT") return undefined;
    if (eventType === "DISCONNECT") {
      await deps.push.forget(connectionId);
      return undefined;
    }
    const message = parseMessage(event.body, event.isBase64Encoded);
    if (message.action === "ping") {
      await deps.sender.send(connectionId, pongFrame()).catch(() => undefined);
      return "ping";
    }
    if ("token" in message || "agentId" in message) await subscribeAgent(deps, await agentSubscribe(deps, connectionId, message));
    else await subscribeCustomer(deps, customerSubscribe(connectionId, message));
    return "subscribe";
  };

  return async (event: APIGatewayProxyWebsocketEventV2, context?: Context): Promise<APIGatewayProxyResultV2> => {
    const started = performance.now();
    const deadline = context?.getRemainingTimeInMillis === undefined ? undefined : Date.now() + context.getRemainingTimeInMillis();
    const run = () => route(event);
    const outcome = scope
      ? await scope.run(run, deadline)
      : await run().then(
          (result) => ({ result, cost: {} }),
          (error: unknown) => ({ error, cost: {} }),
        );
    let status = 200;
    let action: string | undefined;
    if ("error" in outcome) {
      const answer = errorAnswer(outcome.error);
      status = answer.status;
      // The client learns why on its connection; a connection gone meanwhile hears nothing.
      await deps.sender
        .send(event.requestContext.connectionId, errorFrame(answer.status, answer.message, answer.exception))
        .catch(() => undefined);
    } else {
      action = outcome.result;
    }
    const line: Record<string, unknown> = {
      level: status >= 500 ? "error" : "info",
      requestId: context?.awsRequestId ?? event.requestContext.requestId,
      route: ROUTES[event.requestContext.eventType] ?? "$default",
      status,
      latencyMs: Math.round((performance.now() - started) * 10) / 10,
    };
    if (action !== undefined) line.action = action;
    if (scope) line[scope.name] = outcome.cost;
    console.log(JSON.stringify(line));
    // API Gateway needs 200 to open a connection; other answers reach no client.
    return { statusCode: 200 };
  };
}

/** The log line's route: named by the event's type, never by what a client sent. */
const ROUTES: Readonly<Record<string, string>> = { CONNECT: "$connect", DISCONNECT: "$disconnect", MESSAGE: "$default" };

type Message = Readonly<Record<string, unknown>>;

function parseMessage(body: string | undefined, base64: boolean): Message {
  const raw = body ?? "";
  // A message is at most MAX_MESSAGE_BYTES: larger text (or base64 of it) is refused before decoding.
  if (raw.length > (base64 ? Math.ceil((MAX_MESSAGE_BYTES * 4) / 3) + 4 : MAX_MESSAGE_BYTES)) {
    throw new InvalidInputError(`A message must be at most ${MAX_MESSAGE_BYTES} bytes`);
  }
  const text = base64 ? decodeUtf8(Buffer.from(raw, "base64")) : raw;
  if (Buffer.byteLength(text) > MAX_MESSAGE_BYTES) throw new InvalidInputError(`A message must be at most ${MAX_MESSAGE_BYTES} bytes`);
  requireNoReplacement(text);
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    throw new InvalidInputError('A message must be a JSON object such as {"action":"subscribe",...}');
  }
  if (typeof message !== "object" || message === null || Array.isArray(message)) {
    throw new InvalidInputError('A message must be a JSON object such as {"action":"subscribe",...}');
  }
  const action = (message as Message).action;
  if (action !== "subscribe" && action !== "ping") throw new InvalidInputError("action must be subscribe or ping");
  if (action === "ping") onlyKeys(message as Message, ["action"], "Unknown field; expected action");
  return message as Message;
}

/** A position given as digits, in a string or a number, as REST takes it (lib/http/fields.ts). */
function position(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "number" || typeof value === "string") return parsePosition(String(value));
  throw new InvalidInputError("transcriptPosition must be a whole number");
}

function text(value: unknown, name: string): string {
  if (typeof value !== "string") throw new InvalidInputError(`${name} must be a string`);
  return value;
}

function customerSubscribe(connectionId: string, message: Message): CustomerSubscribe {
  onlyKeys(message, ["action", "chat", "transcriptPosition"], "Unknown field; expected action, chat and transcriptPosition");
  const transcriptPosition = position(message.transcriptPosition);
  return { connectionId, sessionId: sessionIdOrUnknown(text(message.chat, "chat")), position: transcriptPosition };
}

async function agentSubscribe(
  deps: PushOptions & PushAgents & Pick<PushDeps, "now">,
  connectionId: string,
  message: Message,
): Promise<AgentSubscribe> {
  onlyKeys(
    message,
    ["action", "agentId", "token", "endpoints", "chats"],
    "Unknown field; expected action, agentId, token, endpoints and chats",
  );
  const endpoints = list(message.endpoints, "endpoints", MAX_ENDPOINTS).map((endpoint) =>
    requireChatEndpoint(text(endpoint, "endpoints"), "endpoints"),
  );
  const chats = list(message.chats, "chats", MAX_RESUMED_CHATS).map((chat) => {
    if (typeof chat !== "object" || chat === null) throw new InvalidInputError('chats must list {"id", "transcriptPosition"} objects');
    onlyKeys(chat as Message, ["id", "transcriptPosition"], "Unknown field in chats; expected id and transcriptPosition");
    const { id, transcriptPosition } = chat as Message;
    return { chatId: chatIdOrUnknown(text(id, "chats[].id")), position: position(transcriptPosition) };
  });
  const agentId = requireAgentId(text(message.agentId, "agentId"));
  const token = text(message.token, "token");
  const distinct = [...new Set(endpoints)];
  // The token checked as the agent API's authorizer checks it, and the caller as its routes take it;
  // the agent's profile (which queues it may watch) read beside its sign-out check.
  let profile: AgentProfile | undefined;
  const readProfile = async () => {
    profile = await deps.agents.getProfile(agentId, true);
  };
  const context = await authorizeToken(
    { verify: deps.verify, signedOut: signedOutCheck(deps) },
    token,
    distinct.length > 0 ? readProfile : undefined,
  );
  const { person } = requireAgentAccess(callerOfContext(context, epochSeconds(deps.now())), agentId, "act");
  // A person, or callerOfContext refused it: the subscription lapses with the token.
  const until = context.outcome === "person" ? Number(context.exp) : 0;
  const overseen = distinct.filter((endpoint) => oversees(person, endpoint));
  return { connectionId, agentId, endpoints: distinct, overseen, profile, chats, until };
}

function list(value: unknown, name: string, max: number): readonly unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > max) throw new InvalidInputError(`${name} must be a list of at most ${max}`);
  return value;
}
