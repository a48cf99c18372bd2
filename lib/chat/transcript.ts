import { ChatStateError, NotYourChatError, StorageUnavailableError, TranscriptFullError } from "../errors.ts";
import { requireLive } from "../session/session.ts";
import type {
  ChatDeps,
  ChatState,
  Claim,
  ClaimedPosition,
  EventType,
  NewEvent,
  Party,
  PostBy,
  TimedEvent,
  TranscriptEntry,
  TranscriptEvent,
} from "../storage.ts";
import { epochSeconds } from "../time.ts";

/**
 * Reading and writing a live session's chat, by its chat id (lib/session/ids.ts). A write claims the
 * next position of the transcript on the chat's record (one atomic update, which also checks the
 * chat allows it) and then writes its event there; a read takes the records and a page of the
 * events after a position (one read, which also proves the session live).
 */

/** Where a client has got to in a chat: the last position it has seen (`transcriptPosition`), when it sent one. */
export interface Position {
  readonly position: number | undefined;
}

/** A message or typing notice, from the customer or an agent: what the event says. */
export interface Post {
  readonly type: Extract<EventType, "Message.Text" | "Notice.TypingStarted" | "Notice.TypingStopped">;
  /** The message; "" for typing notices. */
  readonly text: string;
}

/** The live session, its chat if it has one, and the last event's position. */
/** What reading a chat needs: its store and the clock. */
export type ReadDeps = Pick<ChatDeps, "sessions" | "now">;

export async function liveHead(deps: ReadDeps, chatId: string) {
  const head = await deps.sessions.head(chatId);
  return { ...head, session: requireLive(head.session, deps.now()) };
}

/** The live session, its chat if it has one, and a page of the events after `since`. */
export async function liveTranscript(deps: ReadDeps, chatId: string, since: number) {
  const { session, chat, entries } = await deps.sessions.read(chatId, since, PAGE_LIMITS.events);
  const live = requireLive(session, deps.now());
  const page = chat === undefined ? { events: [], reached: since } : await pageOf(deps, chat, since, entries);
  return { session: live, chat, page };
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

/**
 * The caps of one chat's transcript: a chat is a conversation, not a store. Posts past either cap
 * are refused (409); the notices of accept and the end always fit. With 4,096-character messages
 * the byte cap comes first; with short ones, the event cap.
 */
export const TRANSCRIPT_LIMITS = { maxEvents: 1000, maxBytes: 512 * 1024 } as const;

/**
 * Typing notices have a cap of their own and add no bytes, so that no number of them leaves a
 * message no room; past it they are dropped (answered as if shown: a client has nothing to do about it).
 */
export const MAX_TYPING_NOTICES = 1000;

/**
 * One answer shows at most this many events and about this many bytes of names and texts; a client
 * that is further behind catches up over several refreshes (GMS clients refresh until they are
 * current), so no answer comes near Lambda's 6 MB.
 */
export const PAGE_LIMITS = { events: 100, bytes: 128 * 1024 } as const;

/**
 * A claimed position that its writer has not filled after this long (from the time of the event
 * after it, written after its own claim) is given up by the next reader, so a writer that died
 * between its claim and its write, or a claim applied by an attempt whose answer was lost, stops
 * nobody for longer. A live writer writes within one call (at most WORST_CASE_CALL_MS, 3.35 s) of
 * its claim; one that was slower finds its position given up and claims another.
 */
const GIVE_UP_AFTER_MS = 5_000;
/** Claims one write may make: a given-up position or a chat from before position counters costs one more. */
const MAX_CLAIMS = 3;
/** What a post counts against the byte cap beside its text: its nickname (at most 64 characters) and its other fields. */
const EVENT_ALLOWANCE_BYTES = 512;

/** The bytes of an event's words, as an answer carries them. */
function eventBytes(event: Pick<NewEvent, "nickname" | "text">): number {
  return Buffer.byteLength(event.nickname) + Buffer.byteLength(event.text);
}

/** The event as it is stored: with the time it was written and its offset from the chat's start. */
export function timed(chat: ChatState, event: NewEvent, at: Date): TimedEvent {
  const offset = Math.max(0, Math.floor((at.getTime() - Date.parse(chat.startedAt)) / 1000));
  return { ...event, offset, at: at.toISOString() };
}

/** An event written: the chat as its claim left it, and the event at its position. */
export interface Written extends ClaimedPosition {
  readonly event: TranscriptEvent;
}

/**
 * Claims the next position of the chat's transcript and writes the event there: one atomic claim
 * (so concurrent writers never collide, however many) and one insert. Resolves what was written, or
 * undefined when the chat does not allow the claim (the caller says why). `alongside`: what the
 * caller does once the claim is granted (a change of phase's consequences elsewhere, given the chat
 * as the claim left it), run beside the write rather than after it.
 */
export async function claimAndWrite(
  deps: ChatDeps,
  chatId: string,
  claim: Claim,
  event: (chat: ChatState) => NewEvent,
  alongside?: (chat: ChatState) => Promise<unknown>,
): Promise<Written | undefined> {
  let beside: Promise<unknown> | undefined;
  try {
    for (let tries = 0; tries < MAX_CLAIMS; tries += 1) {
      // Only the first claim checks what the chat allows: once granted (an accept won, the end
      // reached), the event is owed whatever happened since.
      const claimed = await deps.sessions.claim(chatId, tries === 0 ? claim : { kind: "again" }, epochSeconds(deps.now()));
      if (claimed === undefined) return undefined;
      if (tries === 0) beside = alongside?.(claimed.chat);
      const stored = timed(claimed.chat, event(claimed.chat), deps.now());
      const outcome = await deps.sessions.write(claimed.chat, claimed.position, stored);
      if (outcome === "written") {
        const written = { ...claimed, event: { ...stored, position: claimed.position } };
        await Promise.all([tellListeners(deps, written.chat, written.event), beside]);
        return written;
      }
      // Taken: a chat whose events were written before it had a counter; the counter catches up.
      if (outcome === "taken" && tries + 1 < MAX_CLAIMS)
        await deps.sessions.advance(chatId, (await deps.sessions.head(chatId)).lastPosition);
    }
    throw new StorageUnavailableError(new Error(`No transcript position after ${MAX_CLAIMS} claims`));
  } catch (error) {
    // What went on beside ends before the failure is answered.
    await beside?.catch(() => undefined);
    throw error;
  }
}

/** Tells the listeners of an event written; a listener's failure is never the writer's (ChatListeners). */
export async function tellListeners(deps: ChatDeps, chat: ChatState, event: TranscriptEvent): Promise<void> {
  await deps.listeners?.written(chat, event).catch(() => undefined);
}

/**
 * A message or typing notice: claims a position if the chat takes posts from this party and has room.
 * Resolves what was written, or undefined for a typing notice dropped past MAX_TYPING_NOTICES.
 */
export async function postEvent(
  deps: ChatDeps,
  chatId: string,
  by: PostBy,
  type: Post["type"],
  text: string,
  actor?: string,
): Promise<Written | undefined> {
  const nicknameOf = (chat: ChatState) => (by.party === "CLIENT" ? chat.customerNickname : (chat.agentNickname ?? ""));
  const typing = type !== "Message.Text";
  // The nickname is the chat's, known once claimed: the claim counts an allowance for it.
  const bytes = Buffer.byteLength(text) + EVENT_ALLOWANCE_BYTES;
  const claim: Claim = typing ? { kind: "typing", by, maxTyping: MAX_TYPING_NOTICES } : { kind: "post", by, bytes, ...TRANSCRIPT_LIMITS };
  const claimed = await claimAndWrite(deps, chatId, claim, (chat) => ({
    type,
    nickname: nicknameOf(chat),
    text,
    party: by.party,
    ...(actor === undefined ? {} : { actor }),
  }));
  if (claimed !== undefined) return claimed;
  // Refused: say why, from what the chat is now.
  const head = await liveHead(deps, chatId);
  const chat = requireRunning(requireChat(head.chat));
  if (by.party === "AGENT") requireOwner(chat, by.agentId);
  if (typing) return undefined;
  throw new TranscriptFullError();
}

/** The nickname the agent took the chat with, if the chat is the agent's. */
export function requireOwner(chat: ChatState, agentId: string): string {
  if (chat.agentId === undefined || chat.agentNickname === undefined) throw new ChatStateError("Accept this chat first");
  if (chat.agentId !== agentId) throw new NotYourChatError();
  return chat.agentNickname;
}

/** What a client is shown after `since`: the events of one page, and the position it reached. */
export interface TranscriptPage {
  readonly events: readonly TranscriptEvent[];
  /** The last position the page accounts for: the client sends it back to get what follows. */
  readonly reached: number;
}

/**
 * The entries after `since` that a client may be shown, in order and without a gap: a position
 * claimed but not yet written stops the page there (its event may still come, and skipping it
 * would lose it); one left unwritten for too long is given up and passed over. Cut to the page's
 * byte budget.
 */
async function pageOf(deps: ReadDeps, chat: ChatState, since: number, entries: readonly TranscriptEntry[]): Promise<TranscriptPage> {
  const events: TranscriptEvent[] = [];
  let reached = since;
  let bytes = 0;
  let givenUp = false;
  for (const entry of entries) {
    if (entry.position > reached + 1) {
      // A hole at reached + 1, claimed before `entry` was. One give-up per read keeps a read's calls bounded.
      const age = "givenUp" in entry ? Number.POSITIVE_INFINITY : deps.now().getTime() - Date.parse(entry.at);
      if (givenUp || !(age > GIVE_UP_AFTER_MS)) break;
      givenUp = true;
      if (!(await deps.sessions.giveUp(chat, reached + 1))) break;
      reached += 1;
      if (entry.position > reached + 1) break;
    }
    if (!("givenUp" in entry)) {
      bytes += eventBytes(entry);
      if (bytes > PAGE_LIMITS.bytes && events.length > 0) break;
      events.push(entry);
    }
    reached = entry.position;
  }
  return { events, reached };
}

/** A chat and a page of its transcript: what an answer shows. */
export interface ChatPage {
  readonly chat: ChatState;
  readonly page: TranscriptPage;
}

/**
 * The answer to a post: with the client's `transcriptPosition`, the events after it; without, the
 * new event alone (later ones come with the next refresh), which costs no read.
 */
export async function pageOfPost(
  deps: ChatDeps,
  chatId: string,
  position: number | undefined,
  written: Written | undefined,
): Promise<ChatPage> {
  if (position !== undefined) return pageSince(deps, chatId, position);
  if (written === undefined) {
    // A typing notice dropped: nothing new to show, from where the transcript is.
    const { chat, lastPosition } = await liveHead(deps, chatId);
    return { chat: requireChat(chat), page: { events: [], reached: lastPosition } };
  }
  return { chat: written.chat, page: { events: [written.event], reached: written.position } };
}

/** The chat and its events after `since`. One read, which also proves the session live and the chat created. */
export async function pageSince(deps: ReadDeps, chatId: string, since: number): Promise<ChatPage> {
  const { chat, page } = await liveTranscript(deps, chatId, since);
  return { chat: requireChat(chat), page };
}
