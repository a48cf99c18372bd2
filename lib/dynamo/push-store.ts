import { BatchWriteCommand, type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { StorageUnavailableError } from "../errors.ts";
import type { PushStore, PushSubscription, PushTopic } from "../storage.ts";
import { BATCH_TRIES, conditionalWrite, storageCall } from "./client.ts";
import { SESSION_KEY, SESSION_SORT_KEY } from "./tables.ts";

/**
 * Who listens to what, in the sessions table, in partitions of their own (named so that no session
 * id can be one): `push#<topic>` holds one item per listening connection, so a fan-out reads a
 * topic's listeners with one query; `push#connection#<id>` names the topics of one connection, so
 * its close forgets them all. Every item carries the TTL attribute, `expiresAt`.
 */
const PREFIX = "push#";
const CONNECTION_SK = "connection";
const LISTENER_PREFIX = "c#";

function topicKey(topic: PushTopic): string {
  switch (topic.kind) {
    case "chat":
      return `${PREFIX}chat#${topic.sessionId}`;
    case "agent":
      return `${PREFIX}agent#${topic.agentId}`;
    case "queue":
      return `${PREFIX}queue#${topic.endpoint}`;
  }
}

const connectionKey = (connectionId: string) => ({
  [SESSION_KEY]: `${PREFIX}connection#${connectionId}`,
  [SESSION_SORT_KEY]: CONNECTION_SK,
});
const listenerKey = (topic: string, connectionId: string) => ({ [SESSION_KEY]: topic, [SESSION_SORT_KEY]: LISTENER_PREFIX + connectionId });

type Request = { PutRequest: { Item: Record<string, unknown> } } | { DeleteRequest: { Key: Record<string, unknown> } };

export class DynamoPushStore implements PushStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async subscribe(connectionId: string, topics: readonly PushTopic[], expiresAt: number, maxTopics: number): Promise<boolean> {
    const keys = [...new Set(topics.map(topicKey))];
    // The connection's own record first: it bounds what one connection can make the table hold.
    const room = await conditionalWrite(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: connectionKey(connectionId),
          UpdateExpression: "ADD topics :topics SET expiresAt = :expiresAt",
          // Room for every topic, or none new: a renewal (the same topics, a fresh token) always fits.
          ConditionExpression: `attribute_not_exists(topics) OR size(topics) <= :room OR (${keys.map((_, n) => `contains(topics, :t${n})`).join(" AND ")})`,
          ExpressionAttributeValues: {
            ":topics": new Set(keys),
            ":expiresAt": expiresAt,
            ":room": maxTopics - keys.length,
            ...Object.fromEntries(keys.map((key, n) => [`:t${n}`, key])),
          },
        }),
      ),
    );
    if (!room) return false;
    await this.batch(keys.map((topic) => ({ PutRequest: { Item: { ...listenerKey(topic, connectionId), connectionId, expiresAt } } })));
    return true;
  }

  async listening(topic: PushTopic, limit: number): Promise<PushSubscription[]> {
    const { Items = [] } = await storageCall(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: "#id = :id",
          ExpressionAttributeNames: { "#id": SESSION_KEY },
          ExpressionAttributeValues: { ":id": topicKey(topic) },
          Limit: limit,
          // A connection that has just subscribed must hear the next event.
          ConsistentRead: true,
        }),
      ),
    );
    return Items.map((item) => ({ connectionId: String(item.connectionId), expiresAt: Number(item.expiresAt) }));
  }

  async unsubscribe(topic: PushTopic, connectionId: string): Promise<void> {
    await this.batch([{ DeleteRequest: { Key: listenerKey(topicKey(topic), connectionId) } }]);
  }

  async forget(connectionId: string): Promise<void> {
    const { Item } = await storageCall(() =>
      this.client.send(new GetCommand({ TableName: this.table, Key: connectionKey(connectionId), ConsistentRead: true })),
    );
    const topics = Item?.topics instanceof Set ? [...(Item.topics as Set<string>)] : [];
    await this.batch([
      ...topics.map((topic): Request => ({ DeleteRequest: { Key: listenerKey(topic, connectionId) } })),
      { DeleteRequest: { Key: connectionKey(connectionId) } },
    ]);
  }

  /** Up to 25 puts and deletes in one call, with what DynamoDB left unprocessed sent again. */
  private async batch(requests: readonly Request[]): Promise<void> {
    let pending = [...requests];
    for (let tries = 0; tries < BATCH_TRIES && pending.length > 0; tries += 1) {
      const { UnprocessedItems } = await storageCall(() =>
        this.client.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending as Request[] } })),
      );
      pending = (UnprocessedItems?.[this.table] ?? []) as Request[];
    }
    if (pending.length > 0) throw new StorageUnavailableError(new Error(`${pending.length} push records left unprocessed`));
  }
}
