import { InvalidInputError } from "../errors.ts";

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

const ORDER = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z#[A-Za-z0-9_-]{22,36}$/;

/** A page's `next`: opaque to clients, the order of the page's last entry. */
export function waitingCursor(order: string): string {
  return Buffer.from(order).toString("base64url");
}

/** The order a cursor this service handed out names; anything else is the client's mistake, never a key to pass to storage. */
export function orderOfCursor(cursor: string): string {
  const order = Buffer.from(cursor, "base64url").toString("utf8");
  if (!ORDER.test(order)) throw new InvalidInputError("after must be the next value of a queue page");
  return order;
}

/**
 * The endpoints' queues, each read strongly consistent, so that a chat queued before a read is in
 * it (DynamoDB's indexes are read only eventually).
 */
export interface RoutingStore {
  /** A page of the endpoint's waiting chats, oldest first, from where `after` (a page's `next`) left off. */
  waiting(endpoint: string, page: { readonly limit: number; readonly after?: string }): Promise<WaitingPage>;
  putWaiting(entry: WaitingEntry): Promise<void>;
  /** Removes the entry, if it is there. */
  dropWaiting(key: WaitingKey): Promise<void>;
}
