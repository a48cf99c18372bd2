/**
 * The endpoints' queues: each waiting chat has an entry on its endpoint, oldest first, from its
 * creation until an offer or an agent takes it or it ends (lib/routing/router.ts keeps them). On an
 * endpoint that lets agents pick (`routing=pick`), agents read the queue a page at a time.
 */
import { requireServes } from "../agents/state.ts";
import type { AgentStore } from "../agents/store.ts";
import { type QueueView, queueItem } from "../chat/view.ts";
import type { ChatDeps, ChatState } from "../storage.ts";
import { epochSeconds } from "../time.ts";
import { settingsOf } from "./settings.ts";
import type { RoutingStore, WaitingEntry } from "./store.ts";

/** A chat's entry in its endpoint's queue. */
export function waitingEntry(chat: ChatState): WaitingEntry {
  return { endpoint: chat.endpoint, chatId: chat.chatId, queuedAt: chat.queuedAt ?? chat.startedAt, expiresAt: chat.expiresAt };
}

/** Whether `entry` stands for a chat that waits (`chat` as read, absent when not found). */
export function isWaiting(entry: WaitingEntry, chat: ChatState | undefined, now: number): chat is ChatState {
  return (
    chat !== undefined &&
    chat.phase === "WAITING" &&
    chat.expiresAt > now &&
    chat.endpoint === entry.endpoint &&
    (chat.queuedAt ?? chat.startedAt) === entry.queuedAt
  );
}

/**
 * Whether `entry` can never stand for a waiting chat again: its chat ended or expired, which no
 * chat comes back from. Read eventually, a chat that waits may look taken, or (just opened) absent:
 * neither condemns its entry.
 */
export function isOver(entry: WaitingEntry, chat: ChatState | undefined, now: number): boolean {
  return entry.expiresAt <= now || (chat !== undefined && (chat.phase === "ENDED" || chat.expiresAt <= now));
}

/** Which page of a queue, and whether with each chat's attached data. */
export interface QueueQuery {
  readonly endpoint: string;
  readonly limit: number;
  readonly after: string | undefined;
  readonly attachedData: boolean;
}

/** Who reads a queue: an agent, and whether it oversees the endpoint (lib/http/caller.ts `oversees`). */
export interface QueueReader {
  readonly agentId: string;
  readonly oversees: boolean;
}

/** Queue pages: 20 chats unless asked otherwise, at most 50, and 10 with attached data (up to 32 KB each). */
export const QUEUE_PAGE = { default: 20, max: 50, maxWithAttachedData: 10 } as const;

/**
 * A page of the chats waiting on the endpoint, oldest first, with where the next page starts: the
 * queue's entries, then the chats' own records (one read for the page, eventually consistent). A
 * page reads a bounded number of entries, however many wait; entries that do not stand for a
 * waiting chat are passed over (so a page can show fewer), and those that never can again dropped.
 * An agent reads only the queues of its profile's endpoints (its profile read beside the queue).
 */
export async function waitingChats(
  deps: Pick<ChatDeps, "sessions" | "now"> & { readonly routing: RoutingStore; readonly agents: Pick<AgentStore, "getProfile"> },
  query: QueueQuery,
  reader: QueueReader,
): Promise<QueueView> {
  const now = epochSeconds(deps.now());
  const [page, settings] = await Promise.all([
    deps.routing.waiting(query.endpoint, { limit: query.limit, ...(query.after === undefined ? {} : { after: query.after }) }),
    settingsOf(deps, query.endpoint),
    reader.oversees
      ? undefined
      : deps.agents.getProfile(reader.agentId, true).then((profile) => requireServes(profile, reader.agentId, [query.endpoint])),
  ]);
  const live = page.entries;
  const [chats, attached] = await Promise.all([
    deps.sessions.chats(live.map((entry) => entry.chatId)),
    // Kept apart from the chats' records: one more read, only when asked for.
    query.attachedData ? deps.sessions.attachedData(live.map((entry) => entry.chatId)) : undefined,
  ]);
  const waiting: ChatState[] = [];
  const stale: WaitingEntry[] = [];
  for (const entry of live) {
    const chat = chats.get(entry.chatId);
    if (isWaiting(entry, chat, now)) waiting.push(chat);
    else if (isOver(entry, chat, now)) stale.push(entry);
  }
  // Housekeeping: a failure here is the next reader's to repeat.
  await Promise.all(stale.map((entry) => deps.routing.dropWaiting(entry).catch(() => undefined)));
  const items = waiting.map((chat) => queueItem(chat, attached && (attached.get(chat.chatId) ?? {})));
  return { endpoint: query.endpoint, routing: settings.routing, chats: items, ...(page.next === undefined ? {} : { next: page.next }) };
}
