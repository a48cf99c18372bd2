import {
  type EndpointSettings,
  type FreeEntry,
  freeOrder,
  type OfferEntry,
  offerOrder,
  waitingOrder as order,
  orderOfCursor,
  type RoutingStore,
  type WaitingEntry,
  type WaitingKey,
  type WaitingPage,
  waitingCursor,
} from "../routing/store.ts";

/** Sorted by key: what a Query of a partition answers. */
function sorted<T>(map: ReadonlyMap<string, T> | undefined): [string, T][] {
  return [...(map ?? new Map<string, T>())].sort(([a], [b]) => (a < b ? -1 : 1));
}

function partition<T>(maps: Map<string, Map<string, T>>, endpoint: string): Map<string, T> {
  let found = maps.get(endpoint);
  if (found === undefined) {
    found = new Map();
    maps.set(endpoint, found);
  }
  return found;
}

/** What routing keeps, in memory, with the DynamoDB adapter's semantics (tests/contract/). */
export class MemoryRoutingStore implements RoutingStore {
  private readonly settingsByEndpoint = new Map<string, EndpointSettings>();
  private readonly queues = new Map<string, Map<string, WaitingEntry>>();
  private readonly freeByEndpoint = new Map<string, Map<string, FreeEntry>>();
  private readonly offers = new Map<string, Map<string, OfferEntry>>();

  async settings(endpoint: string): Promise<EndpointSettings | undefined> {
    const settings = this.settingsByEndpoint.get(endpoint);
    return settings && { ...settings };
  }

  async putSettings(endpoint: string, settings: EndpointSettings): Promise<void> {
    this.settingsByEndpoint.set(endpoint, { ...settings });
  }

  async waiting(endpoint: string, page: { readonly limit: number; readonly after?: string }): Promise<WaitingPage> {
    const after = page.after === undefined ? undefined : orderOfCursor(page.after);
    const all = sorted(this.queues.get(endpoint));
    const rest = after === undefined ? all : all.filter(([key]) => key > after);
    const entries = rest.slice(0, page.limit).map(([, entry]) => ({ ...entry }));
    const last = entries.at(-1);
    return rest.length > page.limit && last !== undefined ? { entries, next: waitingCursor(order(last)) } : { entries };
  }

  async putWaiting(entry: WaitingEntry): Promise<void> {
    partition(this.queues, entry.endpoint).set(order(entry), { ...entry });
  }

  async dropWaiting(key: WaitingKey): Promise<void> {
    this.queues.get(key.endpoint)?.delete(order(key));
  }

  async free(endpoint: string, limit: number): Promise<FreeEntry[]> {
    return sorted(this.freeByEndpoint.get(endpoint))
      .slice(0, limit)
      .map(([, entry]) => ({ ...entry }));
  }

  async changeFree(changes: { readonly put: readonly FreeEntry[]; readonly drop: readonly FreeEntry[] }): Promise<void> {
    for (const entry of changes.drop) this.freeByEndpoint.get(entry.endpoint)?.delete(freeOrder(entry));
    for (const entry of changes.put) partition(this.freeByEndpoint, entry.endpoint).set(freeOrder(entry), { ...entry });
  }

  async expiredOffers(endpoint: string, now: number, limit: number): Promise<OfferEntry[]> {
    return sorted(this.offers.get(endpoint))
      .map(([, entry]) => entry)
      .filter((entry) => entry.expiresAt <= now)
      .slice(0, limit)
      .map((entry) => ({ ...entry }));
  }

  async putOffer(entry: OfferEntry): Promise<void> {
    partition(this.offers, entry.endpoint).set(offerOrder(entry), { ...entry });
  }

  async dropOffer(entry: OfferEntry): Promise<void> {
    this.offers.get(entry.endpoint)?.delete(offerOrder(entry));
  }
}
