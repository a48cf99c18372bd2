import { NotSupervisedError, UnknownChatError, UnknownSessionError } from "../errors.ts";
import type { ChatDeps, NewEvent } from "../storage.ts";
import {
  type ChatPage,
  claimAndWrite,
  liveHead,
  liveTranscript,
  notice,
  type Position,
  type Post,
  pageOfPost,
  pageSince,
  postEvent,
  requireChat,
  requireOwner,
} from "./transcript.ts";
import { type AgentChatView, agentChatView } from "./view.ts";

/**
 * The agent side under `/genesys/1/agent/{agentId}`: the conversation on the agent's own chats
 * (taking, refusing and handing on chats is routing's: lib/routing/offers.ts). Chats are named by
 * their chat id (lib/session/ids.ts), never by the customer's session id, and answered with the
 * agent's view of the chat, which shows nothing of the session.
 */

/** A call an agent makes on a chat. */
export interface AgentCall extends Position {
  readonly chatId: string;
  readonly agentId: string;
  /** Who made the call (an opaque id of the person), recorded with what it writes. */
  readonly actor?: string;
  /** Set when a supervisor reads another agent's chat: the endpoints it oversees, the chat's must be one. */
  readonly supervises?: ReadonlySet<string>;
}

/** A message or typing notice from an agent. */
export type AgentPost = AgentCall & Post;

/** A chat an agent cannot find is unknown to it as a chat, not as a session (which agents never name). */
export async function onChat<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw error instanceof UnknownSessionError ? new UnknownChatError() : error;
  }
}

export function view({ chat, page }: ChatPage): AgentChatView {
  return agentChatView(chat, page);
}

async function ownChat(deps: ChatDeps, call: AgentCall) {
  const head = await liveHead(deps, call.chatId);
  const chat = requireChat(head.chat);
  return { chat, nickname: requireOwner(chat, call.agentId), lastPosition: head.lastPosition };
}

/** A message or typing notice on the agent's own chat. */
export function agentEvent(deps: ChatDeps, command: AgentPost): Promise<AgentChatView> {
  return onChat(async () =>
    view(
      await pageOfPost(
        deps,
        command.chatId,
        command.position,
        await postEvent(deps, command.chatId, { party: "AGENT", agentId: command.agentId }, command.type, command.text, command.actor),
      ),
    ),
  );
}

/** The events after `transcriptPosition` of the agent's own chat. */
export function agentRefresh(deps: ChatDeps, call: AgentCall): Promise<AgentChatView> {
  return onChat(async () => {
    const since = call.position ?? 0;
    const { chat, page } = await liveTranscript(deps, call.chatId, since);
    const own = requireChat(chat);
    // First, so that what lies outside a supervisor's endpoints answers the same whoever holds it.
    if (call.supervises !== undefined && !call.supervises.has(own.endpoint)) throw new NotSupervisedError();
    requireOwner(own, call.agentId);
    return agentChatView(own, page);
  });
}

/** The agent leaves and the chat ends. */
export function agentDisconnect(deps: ChatDeps, call: AgentCall): Promise<AgentChatView> {
  return onChat(async () => {
    const { nickname, lastPosition } = await ownChat(deps, call);
    const ended = await claimAndWrite(
      deps,
      call.chatId,
      { kind: "change", from: ["ACCEPTED"], change: { phase: "ENDED" } },
      () => withActor(notice("Notice.Left", nickname, "AGENT"), call.actor),
      (chat) => deps.router.ended(chat),
    );
    return view(await pageSince(deps, call.chatId, call.position ?? (ended === undefined ? lastPosition : ended.position - 1)));
  });
}

export function withActor(event: NewEvent, actor: string | undefined): NewEvent {
  return actor === undefined ? event : { ...event, actor };
}
