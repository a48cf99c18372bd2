import { type QueueView, queueItem } from "../chat/view.ts";
import type { ChatDeps, ChatRouter, ChatState } from "../storage.ts";
import { epochSeconds } from "../time.ts";
import type { RoutingStore, WaitingEntry } from "./store.ts";

/**
 * The endpoints' queues: a chat that needs an agent is queued on its endpoint, oldest first, until
 * an agent takes it from there (an accept) or it ends. The router the chat's operations tell
 * (ChatRouter): it keeps a chat's queue entry as the chat comes and goes.
 */
export function queueRouter(deps: { readonly routing: RoutingStore }): ChatRouter {
  return {
    async waiting(chat) {
      await deps.routing.putWaiting(waitingEntry(chat));
    },
    async left(chat) {
      if (chat.queuedAt !== undefined)
        await deps.routing.dropWaiting({ endpoint: chat.endpoint, queuedAt: chat.queuedAt, chatId: chat.chatId });
    },
  };
}

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
export function isStale(entry: WaitingEntry, chat: ChatState | undefined, now: number): boolean {
  return entry.expiresAt <= now || (chat !== undefined && (chat.phase === "ENDED" || chat.expiresAt <= now));
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
 * A page of the chats waiting on the endpoint, oldest first, with where the next page starts: the
 * queue's entries, then the chats' own records (one read for the page, eventually consistent). A
 * page reads a bounded number of entries, however many wait; entries that do not stand for a
 * waiting chat are passed over (so a page can show fewer), and those that never can again dropped.
 */
export async function waitingChats(
  deps: Pick<ChatDeps, "sessions" | "now"> & { readonly routing: RoutingStore },
  query: QueueQuery,
): Promise<QueueView> {
  const now = epochSeconds(deps.now());
  const page = await deps.routing.waiting(query.endpoint, {
    limit: query.limit,
    ...(query.after === undefined ? {} : { after: query.after }),
  });
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
    else if (isStale(entry, chat, now)) stale.push(entry);
  }
  // Housekeeping: a failure here is the next reader's to repeat.
  await Promise.all(stale.map((entry) => deps.routing.dropWaiting(entry).catch(() => undefined)));
  const items = waiting.map((chat) => queueItem(chat, attached && (attached.get(chat.chatId) ?? {})));
  return { endpoint: query.endpoint, chats: items, ...(page.next === undefined ? {} : { next: page.next }) };
}
