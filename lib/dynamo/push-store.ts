import { BatchWriteCommand, type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { StorageUnavailableError } from "../errors.ts";
import type { PushStore, PushSubscription, PushTopic } from "../storage.ts";
import { BATCH_TRIES, conditionalWrite, storageCall } from "./client.ts";
import { SESSION_KEY, SESSION_SORT_KEY } from "./tables.ts";

/**
 * Who listens to what, in the sessions table, in partitions of their own (named so that no chat
 * id can be one): `push#<topic>` holds one item per listening connection, so a fan-out reads a
 * topic's listeners with one query; `push#connection#<id>` names the topics of one connection, so
 * its close forgets them all. Every item carries the TTL attribute, `expiresAt`. A chat's listeners
 * are the exception: a string set `listeners` on the chat's own state record (its partition is the
 * chat id, lib/dynamo/session-store.ts), which every write's claim returns, so that the write tells
 * them without reading anything more.
 */
const PREFIX = "push#";
const CONNECTION_SK = "connection";
const LISTENER_PREFIX = "c#";
const CHAT_TOPIC = `${PREFIX}chat#`;
/** The chat's state record, where its listeners are kept. */
const chatStateKey = (chatId: string) => ({ [SESSION_KEY]: chatId, [SESSION_SORT_KEY]: "state" });

function topicKey(topic: PushTopic): string {
  switch (topic.kind) {
    case "chat":
      return `${CHAT_TOPIC}${topic.chatId}`;
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
/** A chat opened before chat ids is known by its session id, a UUID; its customers' subscriptions of then are in its topic's partition. */
const isLegacy = (chatId: string) => chatId.length === 36;
const listenerKey = (topic: string, connectionId: string) => ({ [SESSION_KEY]: topic, [SESSION_SORT_KEY]: LISTENER_PREFIX + connectionId });

type Request = { PutRequest: { Item: Record<string, unknown> } } | { DeleteRequest: { Key: Record<string, unknown> } };

export class DynamoPushStore implements PushStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async subscribe(
    connectionId: string,
    topics: readonly PushTopic[],
    expiresAt: number,
    limits: { readonly topics: number; readonly chatListeners: number },
    since = 0,
  ): Promise<boolean> {
    const keys = [...new Set(topics.map(topicKey))];
    const maxTopics = limits.topics;
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
    const chats = keys.filter((key) => key.startsWith(CHAT_TOPIC)).map((key) => key.slice(CHAT_TOPIC.length));
    const others = keys.filter((key) => !key.startsWith(CHAT_TOPIC));
    const [listened] = await Promise.all([
      Promise.all(chats.map((chatId) => this.listenTo(chatId, connectionId, limits.chatListeners))),
      this.batch(
        others.map((topic) => ({ PutRequest: { Item: { ...listenerKey(topic, connectionId), connectionId, expiresAt, since } } })),
      ),
    ]);
    return listened.every(Boolean);
  }

  /** The connection joins the chat's listeners, if the chat is there and has room (or has it already). */
  private listenTo(chatId: string, connectionId: string, max: number): Promise<boolean> {
    return conditionalWrite(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: chatStateKey(chatId),
          UpdateExpression: "ADD listeners :connection",
          ConditionExpression:
            "attribute_exists(#sk) AND (attribute_not_exists(listeners) OR size(listeners) < :max OR contains(listeners, :id))",
          ExpressionAttributeNames: { "#sk": SESSION_SORT_KEY },
          ExpressionAttributeValues: { ":connection": new Set([connectionId]), ":max": max, ":id": connectionId },
        }),
      ),
    );
  }

  private async stopListening(chatId: string, connectionId: string): Promise<void> {
    await conditionalWrite(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: chatStateKey(chatId),
          UpdateExpression: "DELETE listeners :connection",
          // Never creates a record for a chat that is gone.
          ConditionExpression: "attribute_exists(#sk)",
          ExpressionAttributeNames: { "#sk": SESSION_SORT_KEY },
          ExpressionAttributeValues: { ":connection": new Set([connectionId]) },
        }),
      ),
    );
  }

  async listening(topic: PushTopic, limit: number): Promise<PushSubscription[]> {
    if (topic.kind !== "chat") return this.topicListeners(topicKey(topic), limit);
    if (!isLegacy(topic.chatId)) return this.chatListeners(topic.chatId, limit);
    // A chat opened before chat ids: its listeners since, with it; those of before, in its topic's partition.
    const [current, earlier] = await Promise.all([this.chatListeners(topic.chatId, limit), this.topicListeners(topicKey(topic), limit)]);
    return [...current, ...earlier].slice(0, limit);
  }

  /** The listeners kept with the chat, which live as long as it does. */
  private async chatListeners(chatId: string, limit: number): Promise<PushSubscription[]> {
    const { Item } = await storageCall(() =>
      this.client.send(
        new GetCommand({
          TableName: this.table,
          Key: chatStateKey(chatId),
          ProjectionExpression: "listeners, expiresAt",
          ConsistentRead: true,
        }),
      ),
    );
    const listeners = Item?.listeners instanceof Set ? [...(Item.listeners as Set<string>)].sort() : [];
    return listeners.slice(0, limit).map((connectionId) => ({ connectionId, expiresAt: Number(Item?.expiresAt ?? 0), since: 0 }));
  }

  /** A topic's partition: one item per listening connection. */
  private async topicListeners(topic: string, limit: number): Promise<PushSubscription[]> {
    const { Items = [] } = await storageCall(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: "#id = :id",
          ExpressionAttributeNames: { "#id": SESSION_KEY },
          ExpressionAttributeValues: { ":id": topic },
          Limit: limit,
          // A connection that has just subscribed must hear the next event.
          ConsistentRead: true,
        }),
      ),
    );
    return Items.map((item) => ({
      connectionId: String(item.connectionId),
      expiresAt: Number(item.expiresAt),
      since: Number(item.since ?? 0),
    }));
  }

  async unsubscribe(topic: PushTopic, connectionId: string): Promise<void> {
    const legacy = topic.kind !== "chat" || isLegacy(topic.chatId);
    await Promise.all([
      topic.kind === "chat" && this.stopListening(topic.chatId, connectionId),
      legacy && this.batch([{ DeleteRequest: { Key: listenerKey(topicKey(topic), connectionId) } }]),
      // The connection's own record names the topic no more (nor keeps a place for it).
      conditionalWrite(() =>
        this.client.send(
          new UpdateCommand({
            TableName: this.table,
            Key: connectionKey(connectionId),
            UpdateExpression: "DELETE topics :topic",
            ConditionExpression: "attribute_exists(topics)",
            ExpressionAttributeValues: { ":topic": new Set([topicKey(topic)]) },
          }),
        ),
      ),
    ]);
  }

  async forget(connectionId: string): Promise<void> {
    const { Item } = await storageCall(() =>
      this.client.send(new GetCommand({ TableName: this.table, Key: connectionKey(connectionId), ConsistentRead: true })),
    );
    const topics = Item?.topics instanceof Set ? [...(Item.topics as Set<string>)] : [];
    const chats = topics.filter((topic) => topic.startsWith(CHAT_TOPIC)).map((topic) => topic.slice(CHAT_TOPIC.length));
    await Promise.all([
      ...chats.map((chatId) => this.stopListening(chatId, connectionId)),
      this.batch([
        // Chat topics too, for subscriptions made before chat ids (kept in the topic's partition then).
        ...topics
          .filter((topic) => !topic.startsWith(CHAT_TOPIC) || isLegacy(topic.slice(CHAT_TOPIC.length)))
          .map((topic): Request => ({ DeleteRequest: { Key: listenerKey(topic, connectionId) } })),
        { DeleteRequest: { Key: connectionKey(connectionId) } },
      ]),
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
