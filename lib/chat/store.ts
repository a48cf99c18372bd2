import type { Session } from "../session.ts";
import type { ChatPhase, ChatState, NewEvent, TranscriptEvent } from "./model.ts";

/** What one read of a session's partition returns. */
export interface SessionView {
  readonly session: Session | undefined;
  readonly chat: ChatState | undefined;
}

export interface ChatChange {
  readonly phase: ChatPhase;
  readonly agentId?: string;
  readonly agentNickname?: string;
}

/** The chat of a session: state, transcript and the queue, all in the sessions table. */
export interface ChatStore {
  /** The session, its chat and the last event's position: one small Query. */
  head(sessionId: string): Promise<SessionView & { readonly lastPosition: number }>;
  /** The session, its chat and the events after `position`: one Query, whose cost grows with the new events only. */
  read(sessionId: string, afterPosition: number): Promise<SessionView & { readonly events: TranscriptEvent[] }>;
  /** Insert-only; resolves false when the session already has a chat. */
  createChat(chat: ChatState): Promise<boolean>;
  /**
   * Appends an event at the first free position from `next` on: concurrent writers never share a
   * position and leave no gap. Resolves the event's position.
   */
  append(chat: ChatState, next: number, event: NewEvent, at: Date): Promise<number>;
  /** Changes the phase only if it is one of `from`; resolves false otherwise. */
  transition(chat: ChatState, from: readonly ChatPhase[], change: ChatChange): Promise<boolean>;
  /** Chats waiting on an endpoint, oldest first. */
  queue(endpoint: string): Promise<ChatState[]>;
  /**
   * Ends the session at `at` and drops its context data: from then on the id answers as unknown.
   * The record stays (until TTL removes it) so a retry with its Idempotency-Key is refused instead
   * of opening a new session on the old chat's partition.
   */
  endSession(sessionId: string, at: Date): Promise<void>;
}
