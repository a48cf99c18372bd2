import { type AttributeValue, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { StorageUnavailableError } from "../errors.ts";
import type {
  ChatChange,
  ChatPhase,
  ChatState,
  EventType,
  Party,
  Session,
  SessionRecords,
  SessionStore,
  TimedEvent,
  TranscriptEvent,
} from "../storage.ts";
import type { TextMap } from "../text.ts";
import { conditionalWrite, queryAll, storageCall } from "./client.ts";
import { QUEUE_INDEX, SESSION_KEY, SESSION_SORT_KEY } from "./tables.ts";

const SESSION_SK = "session";
const STATE_SK = "state";
const EVENT_PREFIX = "e#";
/** Positions are zero-padded so that sort keys order as numbers. */
const eventKey = (position: number) => `${EVENT_PREFIX}${String(position).padStart(10, "0")}`;
/**
 * Concurrent writers retry at the next position. After this many collisions in a row the chat is
 * being written faster than it can take: the writer is told to try again (503, Retry-After), as
 * when DynamoDB throttles. The request's deadline (lib/dynamo/request-scope.ts) stops the tries
 * sooner when its time runs out.
 */
const MAX_APPEND_TRIES = 50;

type Item = Record<string, unknown>;

/** Sessions, their chats and transcripts: one partition per session id in the sessions table. */
export class DynamoSessionStore implements SessionStore {
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
          // The state and session records sort after the events: the last three items are them and the last event.
          ScanIndexForward: false,
          Limit: 3,
          ConsistentRead: true,
        }),
      ),
    );
    const last = Items.find(isEvent);
    return { ...records(Items), lastPosition: last ? Number(last.position) : 0 };
  }

  async read(sessionId: string, afterPosition: number) {
    const items = await queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: "#id = :id AND #sk > :after",
      ExpressionAttributeNames: { "#id": SESSION_KEY, "#sk": SESSION_SORT_KEY },
      ExpressionAttributeValues: { ":id": sessionId, ":after": eventKey(afterPosition) },
      ConsistentRead: true,
    });
    return { ...records(items), events: items.filter(isEvent).map(toEvent) };
  }

  createChat(chat: ChatState): Promise<boolean> {
    return this.putIfAbsent(stateItem(chat));
  }

  async append(chat: ChatState, from: number, event: TimedEvent): Promise<number> {
    // A position that is taken exists, so the next free one leaves no gap.
    for (let position = from; position < from + MAX_APPEND_TRIES; position += 1) {
      if (await this.putIfAbsent(eventItem(chat, position, event))) return position;
    }
    throw new StorageUnavailableError(new Error(`No free transcript position after ${MAX_APPEND_TRIES} tries`));
  }

  async transition(chat: ChatState, from: readonly ChatPhase[], change: ChatChange): Promise<boolean> {
    const values: Record<string, unknown> = { ":phase": change.phase };
    const sets = ["#phase = :phase"];
    if (change.phase === "ACCEPTED") {
      sets.push("agentId = :agentId", "agentNickname = :agentNickname");
      values[":agentId"] = change.agentId;
      values[":agentNickname"] = change.agentNickname;
    }
    from.forEach((phase, i) => {
      values[`:from${i}`] = phase;
    });
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

  async endSession(sessionId: string, endedAt: number): Promise<void> {
    // Only an existing record: an update would otherwise create one.
    await conditionalWrite(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key(sessionId, SESSION_SK),
          UpdateExpression: "SET expiresAt = :now, #data = :none",
          ConditionExpression: "attribute_exists(#sk)",
          ExpressionAttributeNames: { "#data": "data", "#sk": SESSION_SORT_KEY },
          ExpressionAttributeValues: { ":now": endedAt, ":none": {} },
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

function isEvent(item: Item): boolean {
  return String(item[SESSION_SORT_KEY]).startsWith(EVENT_PREFIX);
}

function records(items: Item[]): SessionRecords {
  const session = items.find((item) => item[SESSION_SORT_KEY] === SESSION_SK);
  const chat = items.find((item) => item[SESSION_SORT_KEY] === STATE_SK);
  return { session: session && toSession(session), chat: chat && toChat(chat) };
}

/**
 * Items are written in DynamoDB's own format: the document client's marshaller cannot store every
 * key a client may send (a context key named `constructor` breaks it).
 */
function stringMap(fields: TextMap): AttributeValue {
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

function eventItem(chat: ChatState, position: number, event: TimedEvent): Record<string, AttributeValue> {
  return {
    [SESSION_KEY]: { S: chat.sessionId },
    [SESSION_SORT_KEY]: { S: eventKey(position) },
    position: { N: String(position) },
    type: { S: event.type },
    nickname: { S: event.nickname },
    text: { S: event.text },
    party: { S: event.party },
    offset: { N: String(event.offset) },
    at: { S: event.at },
    expiresAt: { N: String(chat.expiresAt) },
  };
}

function toTextMap(value: unknown): TextMap {
  const map: Record<string, string> = {};
  if (value !== null && typeof value === "object") for (const [name, text] of Object.entries(value)) map[name] = String(text);
  return map;
}

/**
 * A name this service stored from a closed set (a phase, an event type, a party). It is not
 * checked against the set: a newer version may store a name this one does not know (during a
 * deploy, both run), and it passes on as it was stored; the queue drops phases it does not know.
 */
function storedName<Name extends string>(value: unknown): Name {
  return String(value) as Name;
}

function toSession(item: Item): Session {
  return {
    id: String(item[SESSION_KEY]),
    serviceName: String(item.serviceName),
    chatEndpoint: String(item.chatEndpoint),
    data: toTextMap(item.data),
    createdAt: String(item.createdAt),
    ttlSeconds: Number(item.ttlSeconds),
    expiresAt: Number(item.expiresAt),
    ...(item.requestHash === undefined ? {} : { requestHash: String(item.requestHash) }),
  };
}

function toChat(item: Item): ChatState {
  return {
    sessionId: String(item[SESSION_KEY]),
    chatSessionId: String(item.chatSessionId),
    phase: storedName<ChatPhase>(item.phase),
    startedAt: String(item.startedAt),
    endpoint: String(item.endpoint),
    customerNickname: String(item.customerNickname),
    customer: toTextMap(item.customer),
    attachedData: toTextMap(item.attachedData),
    userId: String(item.userId),
    secureKey: String(item.secureKey),
    expiresAt: Number(item.expiresAt),
    ...(item.agentId === undefined ? {} : { agentId: String(item.agentId) }),
    ...(item.agentNickname === undefined ? {} : { agentNickname: String(item.agentNickname) }),
    ...(item.queuedAt === undefined ? {} : { queuedAt: String(item.queuedAt) }),
  };
}

function toEvent(item: Item): TranscriptEvent {
  return {
    position: Number(item.position),
    type: storedName<EventType>(item.type),
    nickname: String(item.nickname),
    text: String(item.text),
    party: storedName<Party>(item.party),
    offset: Number(item.offset),
  };
}
