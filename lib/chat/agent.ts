import { isPresent } from "../config/presence.ts";
import { ChatStateError, ChatTakenError, NotYourChatError } from "../errors.ts";
import type { ChatDeps, ChatState, Deps } from "../storage.ts";
import { epochSeconds } from "../time.ts";
import {
  appendEvent,
  type ChatCall,
  liveHead,
  liveTranscript,
  notice,
  type PostCommand,
  requireChat,
  requireRunning,
  viewSince,
} from "./transcript.ts";
import { type InteractionView, interactionView, type QueueView, queueItem } from "./view.ts";

/**
 * The agent side under `/genesys/1/agent/{agentId}`: the queue of an endpoint, accept (exactly one
 * of several agents racing for a chat wins), and the conversation on the agent's own chats.
 */

/** A call an agent makes on a chat. */
export interface AgentCall extends ChatCall {
  readonly agentId: string;
}

/** Chats waiting on the endpoint, oldest first. */
export async function waitingChats(deps: ChatDeps, endpoint: string): Promise<QueueView> {
  const now = epochSeconds(deps.now());
  const chats = await deps.sessions.queue(endpoint);
  return { endpoint, chats: chats.filter((chat) => chat.phase === "WAITING" && chat.expiresAt > now).map(queueItem) };
}

/** Takes a waiting chat: the agent must be ready on its endpoint, and the first of racing agents wins. */
export async function accept(deps: Deps, call: AgentCall): Promise<InteractionView> {
  const { agentId } = call;
  const since = call.position ?? 0;
  const head = await liveHead(deps, call.sessionId);
  const chat = requireChat(head.chat);
  if (chat.agentId === agentId && chat.phase === "ACCEPTED") return viewSince(deps, call, since);
  const presence = await deps.config.getPresence(chat.endpoint, agentId);
  if (presence === undefined || !isPresent(presence, deps.now())) {
    throw new ChatStateError("Go ready on the chat's endpoint before accepting its chats");
  }
  if (!(await deps.sessions.transition(chat, ["WAITING"], { phase: "ACCEPTED", agentId, agentNickname: presence.nickname }))) {
    throw chat.phase === "ENDED" ? new ChatStateError("This chat has ended") : new ChatTakenError();
  }
  await appendEvent(deps, chat, head.lastPosition, notice("Notice.Joined", presence.nickname, "AGENT"));
  return viewSince(deps, call, since);
}

/** The nickname the agent took the chat with, if the chat is the agent's. */
function requireOwner(chat: ChatState, agentId: string): string {
  if (chat.agentId === undefined || chat.agentNickname === undefined) throw new ChatStateError("Accept this chat first");
  if (chat.agentId !== agentId) throw new NotYourChatError();
  return chat.agentNickname;
}

async function ownChat(deps: ChatDeps, call: AgentCall) {
  const head = await liveHead(deps, call.sessionId);
  const chat = requireChat(head.chat);
  return { chat, nickname: requireOwner(chat, call.agentId), lastPosition: head.lastPosition };
}

/** A message or typing notice on the agent's own chat. */
export async function agentEvent(deps: ChatDeps, command: AgentCall & PostCommand): Promise<InteractionView> {
  const { chat, nickname, lastPosition } = await ownChat(deps, command);
  const position = await appendEvent(deps, requireRunning(chat), lastPosition, {
    type: command.type,
    nickname,
    text: command.text,
    party: "AGENT",
  });
  return viewSince(deps, command, command.position ?? position - 1);
}

/** The events after `transcriptPosition` of the agent's own chat. */
export async function agentRefresh(deps: ChatDeps, call: AgentCall): Promise<InteractionView> {
  const since = call.position ?? 0;
  const { chat, events } = await liveTranscript(deps, call.sessionId, since);
  const own = requireChat(chat);
  requireOwner(own, call.agentId);
  return interactionView(own, events, since, call.view);
}

/** The agent leaves and the chat ends. */
export async function agentDisconnect(deps: ChatDeps, call: AgentCall): Promise<InteractionView> {
  const { chat, nickname, lastPosition } = await ownChat(deps, call);
  if (await deps.sessions.transition(chat, ["ACCEPTED"], { phase: "ENDED" })) {
    await appendEvent(deps, chat, lastPosition, notice("Notice.Left", nickname, "AGENT"));
  }
  return viewSince(deps, call, call.position ?? lastPosition);
}
