import { isPresent } from "../config/presence.ts";
import { ChatStateError, ChatTakenError, NotSupervisedError } from "../errors.ts";
import type { ChatDeps, Deps, NewEvent } from "../storage.ts";
import { epochSeconds } from "../time.ts";
import {
  type ChatCall,
  claimAndWrite,
  liveHead,
  liveTranscript,
  notice,
  type PostCommand,
  postEvent,
  requireChat,
  requireOwner,
  viewOfPost,
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
  /** Who made the call (an opaque id of the person), recorded with what it writes. */
  readonly actor?: string;
  /** Set when a supervisor reads another agent's chat: the endpoints it oversees, the chat's must be one. */
  readonly supervises?: ReadonlySet<string>;
}

/** Which page of a queue, and whether with each chat's attached data. */
export interface QueueQuery {
  readonly endpoint: string;
  readonly limit: number;
  readonly after: string | undefined;
  readonly attachedData: boolean;
}

/** Queue pages: 20 chats unless asked otherwise, at most 50, and 10 with attached data (up to 32 KB each). */
export const QUEUE_PAGE = { default: 20, max: 50, maxWithAttachedData: 10 } as const;

/**
 * A page of the chats waiting on the endpoint, oldest first, with where the next page starts. A page
 * reads a bounded number of chats, however many wait; chats that left the queue since the index was
 * written are dropped, so a page can show fewer.
 */
export async function waitingChats(deps: ChatDeps, query: QueueQuery): Promise<QueueView> {
  const now = epochSeconds(deps.now());
  const page = await deps.sessions.queue(query.endpoint, {
    limit: query.limit,
    ...(query.after === undefined ? {} : { after: query.after }),
  });
  const waiting = page.chats.filter((chat) => chat.phase === "WAITING" && chat.expiresAt > now);
  // Kept apart from the chats' records (which the queue reads): one more read, only when asked for.
  const attached = query.attachedData ? await deps.sessions.attachedData(waiting.map((chat) => chat.sessionId)) : undefined;
  const chats = waiting.map((chat) => queueItem(chat, attached && (chat.attachedData ?? attached.get(chat.sessionId) ?? {})));
  return { endpoint: query.endpoint, chats, ...(page.next === undefined ? {} : { next: page.next }) };
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
  const change = { phase: "ACCEPTED", agentId, agentNickname: presence.nickname } as const;
  const joined = await claimAndWrite(deps, call.sessionId, { kind: "change", from: ["WAITING"], change }, () =>
    withActor(notice("Notice.Joined", presence.nickname, "AGENT"), call.actor),
  );
  if (joined === undefined) {
    // Refused: say why, from what the chat is now (it may have ended since it was read).
    const now = requireChat((await liveHead(deps, call.sessionId)).chat);
    if (now.phase === "ACCEPTED" && now.agentId === agentId) return viewSince(deps, call, since);
    throw now.phase === "ENDED" ? new ChatStateError("This chat has ended") : new ChatTakenError();
  }
  return viewSince(deps, call, since);
}

async function ownChat(deps: ChatDeps, call: AgentCall) {
  const head = await liveHead(deps, call.sessionId);
  const chat = requireChat(head.chat);
  return { chat, nickname: requireOwner(chat, call.agentId), lastPosition: head.lastPosition };
}

/** A message or typing notice on the agent's own chat. */
export async function agentEvent(deps: ChatDeps, command: AgentCall & PostCommand): Promise<InteractionView> {
  return viewOfPost(
    deps,
    command,
    await postEvent(deps, command.sessionId, { party: "AGENT", agentId: command.agentId }, command.type, command.text, command.actor),
  );
}

/** The events after `transcriptPosition` of the agent's own chat. */
export async function agentRefresh(deps: ChatDeps, call: AgentCall): Promise<InteractionView> {
  const since = call.position ?? 0;
  const { chat, page } = await liveTranscript(deps, call.sessionId, since);
  const own = requireChat(chat);
  // First, so that what lies outside a supervisor's endpoints answers the same whoever holds it.
  if (call.supervises !== undefined && !call.supervises.has(own.endpoint)) throw new NotSupervisedError();
  requireOwner(own, call.agentId);
  return interactionView(own, page, call.view);
}

/** The agent leaves and the chat ends. */
export async function agentDisconnect(deps: ChatDeps, call: AgentCall): Promise<InteractionView> {
  const { nickname, lastPosition } = await ownChat(deps, call);
  const ended = await claimAndWrite(deps, call.sessionId, { kind: "change", from: ["ACCEPTED"], change: { phase: "ENDED" } }, () =>
    withActor(notice("Notice.Left", nickname, "AGENT"), call.actor),
  );
  return viewSince(deps, call, call.position ?? (ended === undefined ? lastPosition : ended.position - 1));
}

function withActor(event: NewEvent, actor: string | undefined): NewEvent {
  return actor === undefined ? event : { ...event, actor };
}
