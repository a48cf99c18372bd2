import { DeleteCommand, type DynamoDBDocumentClient, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import {
  orderOfCursor,
  type RoutingStore,
  type WaitingEntry,
  type WaitingKey,
  type WaitingPage,
  waitingCursor,
  waitingOrder,
} from "../routing/store.ts";
import { storageCall } from "./client.ts";
import { SESSION_KEY, SESSION_SORT_KEY } from "./tables.ts";

type Item = Record<string, unknown>;

/**
 * The endpoints' queues, in the sessions table: each endpoint's waiting chats in a partition of its
 * own, `waiting#<endpoint>` (no chat id, UUID or digest can be one), sorted by `<queuedAt>#<chat id>`.
 * Read strongly consistent with a Query, a page at a time: a chat queued before the read is in it,
 * which an index (read only eventually) could not promise. Entries carry the chat's expiry, so TTL
 * removes those of chats that expired waiting.
 */
const PREFIX = "waiting#";
const keyOf = (key: WaitingKey): Item => ({ [SESSION_KEY]: PREFIX + key.endpoint, [SESSION_SORT_KEY]: waitingOrder(key) });

export class DynamoRoutingStore implements RoutingStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async waiting(endpoint: string, page: { readonly limit: number; readonly after?: string }): Promise<WaitingPage> {
    const { Items = [], LastEvaluatedKey } = await storageCall(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: "#id = :id",
          ExpressionAttributeNames: { "#id": SESSION_KEY },
          ExpressionAttributeValues: { ":id": PREFIX + endpoint },
          Limit: page.limit,
          ConsistentRead: true,
          ...(page.after === undefined
            ? {}
            : { ExclusiveStartKey: { [SESSION_KEY]: PREFIX + endpoint, [SESSION_SORT_KEY]: orderOfCursor(page.after) } }),
        }),
      ),
    );
    const entries = Items.map((item) => toEntry(endpoint, item));
    return LastEvaluatedKey === undefined ? { entries } : { entries, next: waitingCursor(String(LastEvaluatedKey[SESSION_SORT_KEY])) };
  }

  async putWaiting(entry: WaitingEntry): Promise<void> {
    const { endpoint: _endpoint, ...fields } = entry;
    await storageCall(() => this.client.send(new PutCommand({ TableName: this.table, Item: { ...keyOf(entry), ...fields } })));
  }

  async dropWaiting(key: WaitingKey): Promise<void> {
    await storageCall(() => this.client.send(new DeleteCommand({ TableName: this.table, Key: keyOf(key) })));
  }
}

function toEntry(endpoint: string, item: Item): WaitingEntry {
  return { endpoint, chatId: String(item.chatId), queuedAt: String(item.queuedAt), expiresAt: Number(item.expiresAt) };
}
