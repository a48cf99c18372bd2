import {
  waitingOrder as order,
  orderOfCursor,
  type RoutingStore,
  type WaitingEntry,
  type WaitingKey,
  type WaitingPage,
  waitingCursor,
} from "../routing/store.ts";

/** The endpoints' queues in memory, with the DynamoDB adapter's semantics (tests/contract/). */
export class MemoryRoutingStore implements RoutingStore {
  /** Endpoint, then order: the entry. */
  private readonly queues = new Map<string, Map<string, WaitingEntry>>();

  async waiting(endpoint: string, page: { readonly limit: number; readonly after?: string }): Promise<WaitingPage> {
    const sorted = [...(this.queues.get(endpoint) ?? new Map<string, WaitingEntry>())].sort(([a], [b]) => (a < b ? -1 : 1));
    const after = page.after === undefined ? undefined : orderOfCursor(page.after);
    const rest = after === undefined ? sorted : sorted.filter(([key]) => key > after);
    const entries = rest.slice(0, page.limit).map(([, entry]) => structuredClone(entry));
    const last = entries.at(-1);
    return rest.length > page.limit && last !== undefined ? { entries, next: waitingCursor(order(last)) } : { entries };
  }

  async putWaiting(entry: WaitingEntry): Promise<void> {
    const queue = this.queues.get(entry.endpoint) ?? new Map<string, WaitingEntry>();
    queue.set(order(entry), structuredClone(entry));
    this.queues.set(entry.endpoint, queue);
  }

  async dropWaiting(key: WaitingKey): Promise<void> {
    this.queues.get(key.endpoint)?.delete(order(key));
  }
}
