import type { Fields } from "../http/decode.ts";
import { HttpError } from "../http/errors.ts";
import { epochSeconds } from "../options.ts";
import { isPresent, parsePresence } from "../presence.ts";
import { requireChatEndpoint } from "../services.ts";
import { answer, appendEvent, ChatStateError, liveChat, readChat, requireMessage, requireRunning, viewOptions, type ChatDeps, type ChatRequest } from "./conversation.ts";
import { gmsTime, interactionView, type ChatState, type EventType } from "./model.ts";

class NotYourChatError extends HttpError {
  constructor() {
    super(403, "NotYourChatException", "This chat was accepted by another agent");
  }
}

class ChatTakenError extends HttpError {
  constructor() {
    super(409, "ChatAlreadyAcceptedException", "Another agent accepted this chat first");
  }
}

/** `PUT /genesys/1/agent/{agentId}/presence`. */
export async function setPresence(deps: ChatDeps, agentId: string, fields: Fields) {
  const parsed = parsePresence(agentId, fields, deps.now());
  if (!parsed.ready) {
    await deps.config.deletePresence(parsed.endpoint, agentId);
    return { agentId, endpoint: parsed.endpoint, state: "not_ready" };
  }
  await deps.config.putPresence(parsed.presence);
  const { presence } = parsed;
  return {
    agentId,
    endpoint: presence.endpoint,
    state: "ready",
    nickname: presence.nickname,
    expiresAt: new Date(presence.expiresAt * 1000).toISOString(),
  };
}

/** `GET /genesys/1/agent/{agentId}/queue?endpoint=`: chats waiting on the endpoint, oldest first. */
export async function waitingChats(deps: ChatDeps, fields: Fields) {
  const endpoint = requireChatEndpoint((fields.endpoint ?? "").trim(), "endpoint");
  const now = epochSeconds(deps.now());
  const chats = await deps.chats.queue(endpoint);
  return {
    endpoint,
    chats: chats
      .filter((chat) => chat.phase === "WAITING" && chat.expiresAt > now)
      .map((chat) => ({
        id: chat.sessionId,
        chatSessionId: chat.chatSessionId,
        nickname: chat.customerNickname,
        customer: chat.customer,
        attachedData: chat.attachedData,
        queuedAt: chat.queuedAt,
        startedAt: gmsTime(chat.startedAt),
      })),
  };
}

/** `POST .../chats/{id}/accept`: exactly one of several agents racing for a chat wins. */
export async function accept(deps: ChatDeps, agentId: string, request: ChatRequest) {
  const since = request.position ?? 0;
  const { chat, lastPosition } = await liveChat(deps, request.sessionId);
  if (chat.agentId === agentId && chat.phase === "ACCEPTED") return answer(deps, request, since);
  const presence = await deps.config.getPresence(chat.endpoint, agentId);
  if (presence === undefined || !isPresent(presence, deps.now())) {
    throw new ChatStateError("Go ready on the chat's endpoint before accepting its chats");
  }
  if (!(await deps.chats.transition(chat, ["WAITING"], { phase: "ACCEPTED", agentId, agentNickname: presence.nickname }))) {
    throw chat.phase === "ENDED" ? new ChatStateError("This chat has ended") : new ChatTakenError();
  }
  await appendEvent(deps, chat, lastPosition, { type: "Notice.Joined", nickname: presence.nickname, text: "has joined the session", party: "AGENT" });
  return answer(deps, request, since);
}

async function ownChat(deps: ChatDeps, agentId: string, sessionId: string) {
  const { chat, lastPosition } = await liveChat(deps, sessionId);
  return { chat: requireOwner(chat, agentId), lastPosition };
}

function requireOwner(chat: ChatState, agentId: string) {
  if (chat.agentId === undefined) throw new ChatStateError("Accept this chat first");
  if (chat.agentId !== agentId) throw new NotYourChatError();
  return chat as ChatState & { agentNickname: string };
}

/** `.../send`, `.../startTyping`, `.../stopTyping` on the agent's own chat. */
export async function agentEvent(deps: ChatDeps, agentId: string, request: ChatRequest, type: EventType) {
  const text = type === "Message.Text" ? requireMessage(request.fields.message) : "";
  const { chat, lastPosition } = await ownChat(deps, agentId, request.sessionId);
  const position = await appendEvent(deps, requireRunning(chat), lastPosition, { type, nickname: chat.agentNickname, text, party: "AGENT" });
  return answer(deps, request, request.position ?? position - 1);
}

/** `.../refresh`: the events after `transcriptPosition`. */
export async function agentRefresh(deps: ChatDeps, agentId: string, request: ChatRequest) {
  const since = request.position ?? 0;
  const { chat, events } = await readChat(deps, request.sessionId, since);
  return interactionView(requireOwner(chat, agentId), events, since, viewOptions(request));
}

/** `.../disconnect`: the agent leaves and the chat ends. */
export async function agentDisconnect(deps: ChatDeps, agentId: string, request: ChatRequest) {
  const { chat, lastPosition } = await ownChat(deps, agentId, request.sessionId);
  if (await deps.chats.transition(chat, ["ACCEPTED"], { phase: "ENDED" })) {
    await appendEvent(deps, chat, lastPosition, { type: "Notice.Left", nickname: chat.agentNickname, text: "has left the session", party: "AGENT" });
  }
  return answer(deps, request, request.position ?? lastPosition);
}
