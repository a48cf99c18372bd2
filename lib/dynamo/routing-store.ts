import { BatchWriteCommand, DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { StorageUnavailableError } from "../errors.ts";
import { isSettings } from "../routing/settings.ts";
import {
  type EndpointSettings,
  type FreeEntry,
  freeOrder,
  type OfferEntry,
  offerOrder,
  offersDueBefore,
  orderOfCursor,
  type RoutingStore,
  type WaitingEntry,
  type WaitingKey,
  type WaitingPage,
  waitingCursor,
  waitingOrder,
} from "../routing/store.ts";
import { BATCH_TRIES, storageCall } from "./client.ts";
import { CONFIG_PARTITION_KEY as PK, SESSION_KEY, SESSION_SORT_KEY, CONFIG_SORT_KEY as SK, type TableNames } from "./tables.ts";

type Item = Record<string, unknown>;

/**
 * What routing keeps, in partitions of their own, each named by its endpoint (no chat id, UUID or
 * digest can be one), so that no request reads or writes more as the centre grows:
 *
 * - sessions table, `waiting#<endpoint>` / `<queuedAt>#<chat id>`: the endpoint's queue, read
 *   strongly consistent a page at a time; each entry carries its chat's expiry, so TTL removes those
 *   of chats that expired waiting.
 * - sessions table, `offers#<endpoint>` / `<expiry>#<chat id>`: its pending offers, by when they
 *   expire, so that a pass on the endpoint finds those whose timer was lost in one small read.
 * - config table, `endpoint#<endpoint>` / `routing`: its settings.
 * - config table, `free#<endpoint>` / `<load>#<idleSince>#<agent>`: its agents with a free slot,
 *   least loaded first, then longest waiting for work: a pass reads the first few.
 */
const WAITING = "waiting#";
const OFFERS = "offers#";
const FREE = "free#";
const waitingKey = (key: WaitingKey): Item => ({ [SESSION_KEY]: WAITING + key.endpoint, [SESSION_SORT_KEY]: waitingOrder(key) });
const offerKey = (entry: Pick<OfferEntry, "endpoint" | "expiresAt" | "chatId">): Item => ({
  [SESSION_KEY]: OFFERS + entry.endpoint,
  [SESSION_SORT_KEY]: offerOrder(entry),
});
const freeKey = (entry: FreeEntry): Item => ({ [PK]: FREE + entry.endpoint, [SK]: freeOrder(entry) });
const settingsKey = (endpoint: string): Item => ({ [PK]: `endpoint#${endpoint}`, [SK]: "routing" });

type Request = { PutRequest: { Item: Item } } | { DeleteRequest: { Key: Item } };

export class DynamoRoutingStore implements RoutingStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tables: TableNames,
  ) {}

  async settings(endpoint: string): Promise<EndpointSettings | undefined> {
    // Eventually consistent, at half the price: a change applies within a second.
    const { Item } = await storageCall(() =>
      this.client.send(new GetCommand({ TableName: this.tables.config, Key: settingsKey(endpoint), ConsistentRead: false })),
    );
    if (Item === undefined) return undefined;
    const settings = {
      routing: Item.routing as EndpointSettings["routing"],
      offerTimeout: Number(Item.offerTimeout),
      updatedAt: String(Item.updatedAt),
    };
    return isSettings(settings) ? settings : undefined;
  }

  async putSettings(endpoint: string, settings: EndpointSettings): Promise<void> {
    await storageCall(() =>
      this.client.send(new PutCommand({ TableName: this.tables.config, Item: { ...settingsKey(endpoint), ...settings } })),
    );
  }

  async waiting(endpoint: string, page: { readonly limit: number; readonly after?: string }): Promise<WaitingPage> {
    const { Items = [], LastEvaluatedKey } = await storageCall(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.tables.sessions,
          KeyConditionExpression: "#id = :id",
          ExpressionAttributeNames: { "#id": SESSION_KEY },
          ExpressionAttributeValues: { ":id": WAITING + endpoint },
          Limit: page.limit,
          ConsistentRead: true,
          ...(page.after === undefined
            ? {}
            : { ExclusiveStartKey: { [SESSION_KEY]: WAITING + endpoint, [SESSION_SORT_KEY]: orderOfCursor(page.after) } }),
        }),
      ),
    );
    const entries = Items.map(
      (item): WaitingEntry => ({
        endpoint,
        chatId: String(item.chatId),
        queuedAt: String(item.queuedAt),
        expiresAt: Number(item.expiresAt),
      }),
    );
    return LastEvaluatedKey === undefined ? { entries } : { entries, next: waitingCursor(String(LastEvaluatedKey[SESSION_SORT_KEY])) };
  }

  async putWaiting(entry: WaitingEntry): Promise<void> {
    const { endpoint: _endpoint, ...fields } = entry;
    await storageCall(() =>
      this.client.send(new PutCommand({ TableName: this.tables.sessions, Item: { ...waitingKey(entry), ...fields } })),
    );
  }

  async dropWaiting(key: WaitingKey): Promise<void> {
    await storageCall(() => this.client.send(new DeleteCommand({ TableName: this.tables.sessions, Key: waitingKey(key) })));
  }

  async free(endpoint: string, limit: number): Promise<FreeEntry[]> {
    const { Items = [] } = await storageCall(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.tables.config,
          KeyConditionExpression: "#pk = :pk",
          ExpressionAttributeNames: { "#pk": PK },
          ExpressionAttributeValues: { ":pk": FREE + endpoint },
          Limit: limit,
          // An agent published before this read is in it (see lib/routing/router.ts, "work-conserving").
          ConsistentRead: true,
        }),
      ),
    );
    return Items.map((item) => ({ endpoint, agentId: String(item.agentId), load: Number(item.load), idleSince: String(item.idleSince) }));
  }

  async changeFree(changes: { readonly put: readonly FreeEntry[]; readonly drop: readonly FreeEntry[] }): Promise<void> {
    const requests: Request[] = [
      ...changes.drop.map((entry): Request => ({ DeleteRequest: { Key: freeKey(entry) } })),
      ...changes.put.map(
        (entry): Request => ({
          PutRequest: { Item: { ...freeKey(entry), agentId: entry.agentId, load: entry.load, idleSince: entry.idleSince } },
        }),
      ),
    ];
    // BatchWriteItem takes 25 requests at a time.
    const batches: Request[][] = [];
    for (let i = 0; i < requests.length; i += 25) batches.push(requests.slice(i, i + 25));
    await Promise.all(batches.map((batch) => this.batch(this.tables.config, batch)));
  }

  async expiredOffers(endpoint: string, now: number, limit: number): Promise<OfferEntry[]> {
    const { Items = [] } = await storageCall(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.tables.sessions,
          KeyConditionExpression: "#id = :id AND #sk < :due",
          ExpressionAttributeNames: { "#id": SESSION_KEY, "#sk": SESSION_SORT_KEY },
          ExpressionAttributeValues: { ":id": OFFERS + endpoint, ":due": offersDueBefore(now) },
          Limit: limit,
          // Eventually consistent, at half the price: an offer just written is not due yet.
          ConsistentRead: false,
        }),
      ),
    );
    return Items.map((item) => ({
      endpoint,
      chatId: String(item.chatId),
      agentId: String(item.agentId),
      expiresAt: Number(item.offerExpiresAt),
      chatExpiresAt: Number(item.expiresAt),
    }));
  }

  async putOffer(entry: OfferEntry): Promise<void> {
    await storageCall(() =>
      this.client.send(
        new PutCommand({
          TableName: this.tables.sessions,
          // `expiresAt` is the table's TTL attribute: the entry goes with its chat at the latest.
          Item: {
            ...offerKey(entry),
            chatId: entry.chatId,
            agentId: entry.agentId,
            offerExpiresAt: entry.expiresAt,
            expiresAt: entry.chatExpiresAt,
          },
        }),
      ),
    );
  }

  async dropOffer(entry: OfferEntry): Promise<void> {
    await storageCall(() => this.client.send(new DeleteCommand({ TableName: this.tables.sessions, Key: offerKey(entry) })));
  }

  /** Up to 25 puts and deletes in one call, with what DynamoDB left unprocessed sent again. */
  private async batch(table: string, requests: readonly Request[]): Promise<void> {
    let pending = [...requests];
    for (let tries = 0; tries < BATCH_TRIES && pending.length > 0; tries += 1) {
      const { UnprocessedItems } = await storageCall(() => this.client.send(new BatchWriteCommand({ RequestItems: { [table]: pending } })));
      pending = (UnprocessedItems?.[table] ?? []) as Request[];
    }
    if (pending.length > 0) throw new StorageUnavailableError(new Error(`${pending.length} routing entries left unprocessed`));
  }
}
