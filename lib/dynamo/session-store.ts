import { PutItemCommand, type AttributeValue } from "@aws-sdk/client-dynamodb";
import { GetCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { ChatChange, ChatStore, SessionView } from "../chat/store.ts";
import type { ChatPhase, ChatState, NewEvent, TranscriptEvent } from "../chat/model.ts";
import type { Fields } from "../http/decode.ts";
import { epochSeconds } from "../options.ts";
import type { Session } from "../session.ts";
import type { SessionStore } from "../stores.ts";
import { conditionalWrite, queryAll, storageCall } from "./client.ts";
import { QUEUE_INDEX, SESSION_KEY, SESSION_SORT_KEY } from "./tables.ts";

const SESSION_SK = "session";
const STATE_SK = "state";
const EVENT_PREFIX = "e#";
/** Positions are zero-padded so that sort keys order as numbers. */
const eventKey = (position: number) => `${EVENT_PREFIX}${String(position).padStart(10, "0")}`;
/** Concurrent writers retry at the next position; this many collisions in a row means a bug. */
const MAX_APPEND_TRIES = 50;

type Item = Record<string, unknown>;

/** Sessions, their chats and transcripts: one partition per session id in the sessions table. */
export class DynamoSessionStore implements SessionStore, ChatStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async create(session: Session): ReturnType<SessionStore["create"]> {
    if (await this.putIfAbsent(sessionItem(session))) return { stored: true };
    // A write that timed out after DynamoDB applied it is retried by the SDK and then fails its
    // condition: the item is ours if it is exactly what we wrote.
    const existing = await this.get(session.id);
    const ours = existing !== undefined && existing.createdAt === session.createdAt && existing.requestHash === session.requestHash;
    return ours ? { stored: true } : { stored: false, existing };
  }

  async get(id: string): Promise<Session | undefined> {
    const { Item } = await storageCall(() =>
      this.client.send(new GetCommand({ TableName: this.table, Key: key(id, SESSION_SK), ConsistentRead: true })),
    );
    return Item && toSession(Item);
  }

  async head(sessionId: string) {
    const { Items = [] } = await storageCall(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: "#id = :id",
          ExpressionAttributeNames: { "#id": SESSION_KEY },
          ExpressionAttributeValues: { ":id": sessionId },
          ScanIndexForward: false,
          Limit: 3,
          ConsistentRead: true,
        }),
      ),
    );
    const last = Items.find((item) => String(item[SESSION_SORT_KEY]).startsWith(EVENT_PREFIX));
    return { ...view(Items), lastPosition: last ? Number(last.position) : 0 };
  }

  async read(sessionId: string, afterPosition: number) {
    const items = await queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: "#id = :id AND #sk > :after",
      ExpressionAttributeNames: { "#id": SESSION_KEY, "#sk": SESSION_SORT_KEY },
      ExpressionAttributeValues: { ":id": sessionId, ":after": eventKey(afterPosition) },
      ConsistentRead: true,
    });
    const events = items.filter((item) => String(item[SESSION_SORT_KEY]).startsWith(EVENT_PREFIX)).map(toEvent);
    return { ...view(items), events };
  }

  createChat(chat: ChatState): Promise<boolean> {
    return this.putIfAbsent(stateItem(chat));
  }

  async append(chat: ChatState, next: number, event: NewEvent, at: Date): Promise<number> {
    const offset = Math.max(0, Math.floor((at.getTime() - Date.parse(chat.startedAt)) / 1000));
    // A position that is taken exists, so the next free one leaves no gap.
    for (let position = next; position < next + MAX_APPEND_TRIES; position += 1) {
      const stored = await this.putIfAbsent({
        [SESSION_KEY]: { S: chat.sessionId },
        [SESSION_SORT_KEY]: { S: eventKey(position) },
        position: { N: String(position) },
        type: { S: event.type },
        nickname: { S: event.nickname },
        text: { S: event.text },
        party: { S: event.party },
        offset: { N: String(offset) },
        at: { S: at.toISOString() },
        expiresAt: { N: String(chat.expiresAt) },
      });
      if (stored) return position;
    }
    throw new Error("Could not find a free transcript position");
  }

  async transition(chat: ChatState, from: readonly ChatPhase[], change: ChatChange): Promise<boolean> {
    const values: Record<string, unknown> = { ":phase": change.phase };
    const sets = ["#phase = :phase"];
    if (change.agentId !== undefined) {
      sets.push("agentId = :agentId", "agentNickname = :agentNickname");
      values[":agentId"] = change.agentId;
      values[":agentNickname"] = change.agentNickname ?? change.agentId;
    }
    from.forEach((phase, i) => (values[`:from${i}`] = phase));
    return conditionalWrite(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key(chat.sessionId, STATE_SK),
          // Leaving WAITING takes the chat off the queue index.
          UpdateExpression: `SET ${sets.join(", ")} REMOVE queueEndpoint, queuedAt`,
          ConditionExpression: `#phase IN (${from.map((_, i) => `:from${i}`).join(", ")})`,
          ExpressionAttributeNames: { "#phase": "phase" },
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }

  async queue(endpoint: string): Promise<ChatState[]> {
    const { Items = [] } = await storageCall(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: QUEUE_INDEX,
          KeyConditionExpression: "queueEndpoint = :endpoint",
          ExpressionAttributeValues: { ":endpoint": endpoint },
          ScanIndexForward: true,
        }),
      ),
    );
    return Items.map(toChat);
  }

  async endSession(sessionId: string, at: Date): Promise<void> {
    // Only an existing record: an update would otherwise create one.
    await conditionalWrite(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key(sessionId, SESSION_SK),
          UpdateExpression: "SET expiresAt = :now, #data = :none",
          ConditionExpression: "attribute_exists(#sk)",
          ExpressionAttributeNames: { "#data": "data", "#sk": SESSION_SORT_KEY },
          ExpressionAttributeValues: { ":now": epochSeconds(at), ":none": {} },
        }),
      ),
    );
  }

  /** Insert-only put: resolves false when an item with this key exists. */
  private putIfAbsent(item: Record<string, AttributeValue>): Promise<boolean> {
    return conditionalWrite(() =>
      this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: "attribute_not_exists(#sk)",
          ExpressionAttributeNames: { "#sk": SESSION_SORT_KEY },
        }),
      ),
    );
  }
}

function key(id: string, sk: string): Item {
  return { [SESSION_KEY]: id, [SESSION_SORT_KEY]: sk };
}

function view(items: Item[]): SessionView {
  const session = items.find((item) => item[SESSION_SORT_KEY] === SESSION_SK);
  const chat = items.find((item) => item[SESSION_SORT_KEY] === STATE_SK);
  return { session: session && toSession(session), chat: chat && toChat(chat) };
}

/**
 * Items are written in DynamoDB's own format: the document client's marshaller cannot store every
 * key a client may send (a context key named `constructor` breaks it).
 */
function stringMap(fields: Fields): AttributeValue {
  const map: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(fields)) map[name] = { S: value };
  return { M: map };
}

function sessionItem(session: Session): Record<string, AttributeValue> {
  return {
    [SESSION_KEY]: { S: session.id },
    [SESSION_SORT_KEY]: { S: SESSION_SK },
    serviceName: { S: session.serviceName },
    chatEndpoint: { S: session.chatEndpoint },
    data: stringMap(session.data),
    createdAt: { S: session.createdAt },
    ttlSeconds: { N: String(session.ttlSeconds) },
    expiresAt: { N: String(session.expiresAt) },
    ...(session.requestHash === undefined ? {} : { requestHash: { S: session.requestHash } }),
  };
}

function stateItem(chat: ChatState): Record<string, AttributeValue> {
  return {
    [SESSION_KEY]: { S: chat.sessionId },
    [SESSION_SORT_KEY]: { S: STATE_SK },
    chatSessionId: { S: chat.chatSessionId },
    phase: { S: chat.phase },
    startedAt: { S: chat.startedAt },
    endpoint: { S: chat.endpoint },
    customerNickname: { S: chat.customerNickname },
    customer: stringMap(chat.customer),
    attachedData: stringMap(chat.attachedData),
    userId: { S: chat.userId },
    secureKey: { S: chat.secureKey },
    expiresAt: { N: String(chat.expiresAt) },
    ...(chat.queuedAt === undefined ? {} : { queueEndpoint: { S: chat.endpoint }, queuedAt: { S: chat.queuedAt } }),
  };
}

function toSession(item: Item): Session {
  const { [SESSION_SORT_KEY]: _sk, ...session } = item;
  return session as unknown as Session;
}

function toChat(item: Item): ChatState {
  const { [SESSION_SORT_KEY]: _sk, [SESSION_KEY]: sessionId, queueEndpoint: _queue, ...chat } = item;
  return { ...chat, sessionId } as unknown as ChatState;
}

function toEvent(item: Item): TranscriptEvent {
  return {
    position: Number(item.position),
    type: item.type as TranscriptEvent["type"],
    nickname: String(item.nickname),
    text: String(item.text),
    party: item.party as TranscriptEvent["party"],
    offset: Number(item.offset),
  };
}
