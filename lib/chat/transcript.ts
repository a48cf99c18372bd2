import { ChatStateError } from "../errors.ts";
import { requireLive } from "../session/session.ts";
import type { ChatDeps, ChatState, EventType, NewEvent, Party } from "../storage.ts";
import { type InteractionView, interactionView, type ViewOptions } from "./view.ts";

/**
 * Reading and writing a live session's chat. Two reads, each of which also proves the session live:
 * the head (the records and the last event's position, what a write needs: one small read) and the
 * transcript (the records and the events after a position, what an answer needs: one read, in
 * pages of 1 MB).
 */

/** A Chat API call on one session, checked: the id is a session id and the position a number. */
export interface ChatCall {
  readonly sessionId: string;
  /** The client's `transcriptPosition`: the last position it has seen, when it sent one. */
  readonly position: number | undefined;
  readonly view: ViewOptions;
}

/** A message or typing notice, from the customer or an agent: what the event says. */
export interface PostCommand extends ChatCall {
  readonly type: Extract<EventType, "Message.Text" | "Notice.TypingStarted" | "Notice.TypingStopped">;
  /** The message; "" for typing notices. */
  readonly text: string;
}

/** The live session, its chat if it has one, and the last event's position. */
export async function liveHead(deps: ChatDeps, sessionId: string) {
  const head = await deps.sessions.head(sessionId);
  return { ...head, session: requireLive(head.session, deps.now()) };
}

/** The live session, its chat if it has one, and the events after `since`. */
export async function liveTranscript(deps: ChatDeps, sessionId: string, since: number) {
  const records = await deps.sessions.read(sessionId, since);
  return { ...records, session: requireLive(records.session, deps.now()) };
}

export function requireChat(chat: ChatState | undefined): ChatState {
  if (chat === undefined) throw new ChatStateError("No chat on this service id yet: create it first");
  return chat;
}

/** Nothing more can be said in a chat that has ended. */
export function requireRunning(chat: ChatState): ChatState {
  if (chat.phase === "ENDED") throw new ChatStateError("This chat has ended");
  return chat;
}

/** Someone joining or leaving the chat, as the transcript says it. */
export function notice(type: "Notice.Joined" | "Notice.Left", nickname: string, party: Party): NewEvent {
  return { type, nickname, text: type === "Notice.Joined" ? "has joined the session" : "has left the session", party };
}

/** Writes the event after `lastPosition` (or the first free position after it), timed now. */
export function appendEvent(deps: ChatDeps, chat: ChatState, lastPosition: number, event: NewEvent): Promise<number> {
  const at = deps.now();
  const offset = Math.max(0, Math.floor((at.getTime() - Date.parse(chat.startedAt)) / 1000));
  return deps.sessions.append(chat, lastPosition + 1, { ...event, offset, at: at.toISOString() });
}

/** The chat as the client asked to see it: the events after `since`. One read, which also proves the session live and the chat created. */
export async function viewSince(deps: ChatDeps, call: ChatCall, since: number): Promise<InteractionView> {
  const { chat, events } = await liveTranscript(deps, call.sessionId, since);
  return interactionView(requireChat(chat), events, since, call.view);
}
