import { cursorOf, positionOfCursor } from "../cursor.ts";

/**
 * What routing keeps (lib/routing/): the chats waiting on each endpoint, in the order they came.
 * An entry is an index, holding nothing of the customer: the chat's own record is the truth, so an
 * entry that outlives its chat's wait (an erasure racing the chat's creation, a write that failed)
 * shows nothing, tells nothing, and is dropped by the next reader that finds it stale.
 */
export interface WaitingEntry {
  readonly endpoint: string;
  readonly chatId: string;
  /** The queue's order: when the chat first came into its endpoint's queue (ISO time). */
  readonly queuedAt: string;
  /** The chat's expiry (epoch seconds): an entry of an expired chat is passed over, and TTL removes it. */
  readonly expiresAt: number;
}

/** A page of waiting entries, oldest first, and where the next page starts. */
export interface WaitingPage {
  readonly entries: readonly WaitingEntry[];
  /** Opaque: hand it back to read the next page; absent on the last page. */
  readonly next?: string;
}

/** Where a waiting entry is: its endpoint, its order and its chat. */
export type WaitingKey = Pick<WaitingEntry, "endpoint" | "queuedAt" | "chatId">;

/** An entry's place in its queue: by when its chat came, then by chat id. Stores sort by it. */
export function waitingOrder(key: Pick<WaitingKey, "queuedAt" | "chatId">): string {
  return `${key.queuedAt}#${key.chatId}`;
}

/**
 * An offer's place among its endpoint's offers: by when it expires (zero-padded, so that the text
 * orders as the number), then by chat id. Stores sort by it; `offersDue(now)` is where those
 * expiring after `now` begin.
 */
export function offerOrder(entry: Pick<OfferEntry, "expiresAt" | "chatId">): string {
  return `${String(entry.expiresAt).padStart(12, "0")}#${entry.chatId}`;
}

/** The first offer order past every offer expiring at or before `now`. */
export function offersDueBefore(now: number): string {
  return `${String(now + 1).padStart(12, "0")}#`;
}

/** A free agent's place in its endpoint's index: least loaded first, then idle longest, then by id. */
export function freeOrder(entry: Pick<FreeEntry, "load" | "idleSince" | "agentId">): string {
  return `${String(entry.load).padStart(2, "0")}#${entry.idleSince}#${entry.agentId}`;
}

const ORDER = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z#[A-Za-z0-9_-]{22,36}$/;

/** A page's `next`: opaque to clients, the order of the page's last entry. */
export function waitingCursor(order: string): string {
  return cursorOf(order);
}

/** The order a cursor this service handed out names; anything else is the client's mistake, never a key to pass to storage. */
export function orderOfCursor(cursor: string): string {
  return positionOfCursor(cursor, ORDER, "after must be the next value of a queue page");
}

/**
 * An agent with a free slot on an endpoint: routing's index of who can take work, least loaded
 * first, then longest waiting for work. Derived from the agent's state (lib/routing/free.ts), which
 * stays the truth: an offer claims the agent's own record, so an entry that is behind only costs a
 * claim refused, and is dropped.
 */
export interface FreeEntry {
  readonly endpoint: string;
  readonly agentId: string;
  /** Chats and offers it held when the entry was written. */
  readonly load: number;
  /** Since when it has been waiting for work (ISO time). */
  readonly idleSince: string;
}

/** An offer pending on an endpoint, kept so that any request on the endpoint can settle one whose timer was lost. */
export interface OfferEntry {
  readonly endpoint: string;
  readonly chatId: string;
  readonly agentId: string;
  /** When it expires, epoch seconds. */
  readonly expiresAt: number;
  /** The chat's expiry, epoch seconds: an entry outliving its chat is removed by TTL. */
  readonly chatExpiresAt: number;
}

/** How an endpoint's chats reach its agents (the admin API's `/genesys/1/admin/endpoints/{endpoint}`). */
export interface EndpointSettings {
  /** `offer`: each chat offered to one agent at a time; `pick`: agents take chats from the queue by hand. */
  readonly routing: "offer" | "pick";
  /** Seconds an offer stands before it is withdrawn and the agent made not ready (`missed`). */
  readonly offerTimeout: number;
  readonly updatedAt?: string;
}

/**
 * What routing keeps: each endpoint's settings, its queue (read strongly consistent, so that a chat
 * queued before a read is in it, which DynamoDB's indexes cannot promise), the agents with a free
 * slot on it (also strongly consistent: an agent published before a read is in it), and its
 * pending offers.
 */
export interface RoutingStore {
  /** The endpoint's settings; undefined when they were never set (the defaults apply). */
  settings(endpoint: string): Promise<EndpointSettings | undefined>;
  putSettings(endpoint: string, settings: EndpointSettings): Promise<void>;
  /** A page of the endpoint's waiting chats, oldest first, from where `after` (a page's `next`) left off. */
  waiting(endpoint: string, page: { readonly limit: number; readonly after?: string }): Promise<WaitingPage>;
  putWaiting(entry: WaitingEntry): Promise<void>;
  /** Removes the entry, if it is there. */
  dropWaiting(key: WaitingKey): Promise<void>;
  /** Up to `limit` agents with a free slot on the endpoint: least loaded first, then longest waiting for work. */
  free(endpoint: string, limit: number): Promise<FreeEntry[]>;
  /** Writes and removes free entries, side by side. */
  changeFree(changes: { readonly put: readonly FreeEntry[]; readonly drop: readonly FreeEntry[] }): Promise<void>;
  /** Up to `limit` of the endpoint's pending offers that expired by `now` (epoch seconds), oldest first. */
  expiredOffers(endpoint: string, now: number, limit: number): Promise<OfferEntry[]>;
  putOffer(entry: OfferEntry): Promise<void>;
  /** Removes the entry, if it is there. */
  dropOffer(entry: OfferEntry): Promise<void>;
}
