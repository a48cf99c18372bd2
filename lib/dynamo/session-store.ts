import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { type AttributeValue, type ConditionalCheckFailedException, PutItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type {
  ChatPhase,
  ChatRouting,
  ChatState,
  Claim,
  ClaimedPosition,
  EventType,
  IdempotencyRecord,
  Party,
  Session,
  SessionRecords,
  SessionStore,
  TimedEvent,
  TranscriptEntry,
  WriteOutcome,
} from "../storage.ts";
import type { TextMap } from "../text.ts";
import { batchGetAll, conditionalWrite, storageCall, storageFailure } from "./client.ts";
import { SESSION_KEY, SESSION_SORT_KEY } from "./tables.ts";

const SESSION_SK = "session";
const STATE_SK = "state";
const IDEMPOTENCY_SK = "idempotency";
const EVENT_PREFIX = "e#";
/** Idempotency records have partitions of their own, named so that no session id can be one. */
const IDEMPOTENCY_PREFIX = "key#";
/** Positions are zero-padded so that sort keys order as numbers. */
const eventKey = (position: number) => `${EVENT_PREFIX}${String(position).padStart(10, "0")}`;
/** The cipher of sealed events: AES-256-GCM under the chat's key, a fresh 12-byte IV per event. */
const CIPHER = "aes-256-gcm";
const IV_BYTES = 12;
const TAG_BYTES = 16;

type Item = Record<string, unknown>;

/**
 * Sessions, their chats and transcripts: one partition per session in the sessions table, keyed by
 * its chat id (Session.chatId: the chat id of the session id, or, for sessions opened before chat
 * ids, the session id itself).
 */
export class DynamoSessionStore implements SessionStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async create(session: Session): ReturnType<SessionStore["create"]> {
    const found = await this.insert(sessionItem(session));
    if (found === undefined) return { stored: true };
    // A write applied by an attempt that timed out fails its condition on retry: the item is ours
    // if it is exactly what we wrote.
    const existing = toSession(found);
    const ours =
      existing.createdAt === session.createdAt && existing.expiresAt === session.expiresAt && existing.requestHash === session.requestHash;
    return ours ? { stored: true } : { stored: false, existing };
  }

  async get(chatId: string): Promise<Session | undefined> {
    const { Item } = await storageCall(() =>
      this.client.send(new GetCommand({ TableName: this.table, Key: this.keyOf(chatId, SESSION_SK), ConsistentRead: true })),
    );
    return Item && toSession(Item);
  }

  async getIdempotency(key: string): Promise<IdempotencyRecord | undefined> {
    const { Item } = await storageCall(() =>
      this.client.send(
        new GetCommand({ TableName: this.table, Key: this.keyOf(IDEMPOTENCY_PREFIX + key, IDEMPOTENCY_SK), ConsistentRead: true }),
      ),
    );
    return Item && toIdempotency(Item);
  }

  async putIdempotency(record: IdempotencyRecord): Promise<IdempotencyRecord> {
    const item: Record<string, AttributeValue> = {
      [SESSION_KEY]: { S: IDEMPOTENCY_PREFIX + record.key },
      [SESSION_SORT_KEY]: { S: IDEMPOTENCY_SK },
      sessionId: { S: record.sessionId },
      ...(record.chatId === undefined ? {} : { chatId: { S: record.chatId } }),
      requestHash: { S: record.requestHash },
      expiresAt: { N: String(record.expiresAt) },
    };
    const found = await this.insert(item);
    // Another request's record; or gone again (expired) since; or, when a write applied by an
    // attempt that timed out failed its condition on retry, ours.
    return found === undefined || found.sessionId === undefined ? record : toIdempotency(found);
  }

  async head(chatId: string) {
    const { Items = [] } = await storageCall(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: "#id = :id",
          ExpressionAttributeNames: { "#id": SESSION_KEY },
          ExpressionAttributeValues: { ":id": chatId },
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

  async read(chatId: string, afterPosition: number, limit: number) {
    const page = await storageCall(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: "#id = :id AND #sk > :after",
          ExpressionAttributeNames: { "#id": SESSION_KEY, "#sk": SESSION_SORT_KEY },
          ExpressionAttributeValues: { ":id": chatId, ":after": eventKey(afterPosition) },
          // The entries, then the session and state records, which sort after them.
          Limit: limit + 2,
          ConsistentRead: true,
        }),
      ),
    );
    const items = page.Items ?? [];
    const eventItems = items.filter(isEvent);
    const entryItems = eventItems.slice(0, limit);
    const more = eventItems.length > limit || (page.LastEvaluatedKey !== undefined && isEvent(page.LastEvaluatedKey));
    // A page cut before the state record lacks the records: they take a second, small read.
    const complete = page.LastEvaluatedKey === undefined || items.some((item) => item[SESSION_SORT_KEY] === STATE_SK);
    const recordItems = complete ? items : await this.records(chatId);
    const found = records(recordItems);
    return { ...found, entries: entryItems.map((item) => toEntry(item, found.chat?.transcriptKey)), more };
  }

  /** The session and state records alone. */
  private async records(chatId: string): Promise<Record<string, unknown>[]> {
    const { Items = [] } = await storageCall(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: "#id = :id AND #sk BETWEEN :session AND :state",
          ExpressionAttributeNames: { "#id": SESSION_KEY, "#sk": SESSION_SORT_KEY },
          ExpressionAttributeValues: { ":id": chatId, ":session": SESSION_SK, ":state": STATE_SK },
          ConsistentRead: true,
        }),
      ),
    );
    return Items;
  }

  async createChat(chat: ChatState): Promise<boolean> {
    return (await this.insert(stateItem(chat))) === undefined;
  }

  attach(chatId: string, attached: TextMap, now: number): Promise<boolean> {
    return conditionalWrite(() =>
      this.client.send(
        // In DynamoDB's own format, as stringMap explains.
        new UpdateItemCommand({
          TableName: this.table,
          Key: { [SESSION_KEY]: { S: chatId }, [SESSION_SORT_KEY]: { S: SESSION_SK } },
          UpdateExpression: "SET attached = :attached",
          ConditionExpression: "attribute_exists(#sk) AND expiresAt > :now",
          ExpressionAttributeNames: { "#sk": SESSION_SORT_KEY },
          ExpressionAttributeValues: { ":attached": stringMap(attached), ":now": { N: String(now) } },
        }),
      ),
    );
  }

  async chats(chatIds: readonly string[]): Promise<ReadonlyMap<string, ChatState>> {
    // Eventually consistent, at half the price (see the interface).
    const items = await batchGetAll(
      this.client,
      this.table,
      chatIds.map((id) => this.keyOf(id, STATE_SK)),
      undefined,
      false,
    );
    return new Map(items.map((item) => [String(item[SESSION_KEY]), toChat(item)]));
  }

  async attachedData(chatIds: readonly string[]): Promise<ReadonlyMap<string, TextMap>> {
    const items = await batchGetAll(
      this.client,
      this.table,
      chatIds.map((id) => this.keyOf(id, SESSION_SK)),
      { expression: "#id, #data, attached", names: { "#id": SESSION_KEY, "#data": "data" } },
    );
    return new Map(items.map((item) => [String(item[SESSION_KEY]), { ...toTextMap(item.data), ...toTextMap(item.attached) }]));
  }

  /**
   * The claim's rule (lib/chat/claims.ts: claimAllowed, applyClaim) said as one conditional update:
   * the condition is claimAllowed, the update applyClaim.
   */
  async claim(chatId: string, claim: Claim, now: number): Promise<ClaimedPosition | undefined> {
    // The claim's token tells a retried claim that an attempt which timed out was applied: it
    // finds its own token and takes that position instead of a second one.
    const token = randomBytes(12).toString("base64url");
    const names: Record<string, string> = { "#sk": SESSION_SORT_KEY, ...(claim.kind === "again" ? {} : { "#phase": "phase" }) };
    const values: Record<string, unknown> = { ":zero": 0, ":one": 1, ":now": now, ":token": token };
    const sets = ["lastPosition = if_not_exists(lastPosition, :zero) + :one", "lastClaim = :token"];
    const removes: string[] = [];
    const conditions = ["attribute_exists(#sk)", "expiresAt > :now", "(attribute_not_exists(lastClaim) OR lastClaim <> :token)"];
    if (claim.kind === "post" || claim.kind === "typing") {
      if (claim.kind === "post") {
        sets.push(
          "transcriptBytes = if_not_exists(transcriptBytes, :zero) + :bytes",
          "postedEvents = if_not_exists(postedEvents, :zero) + :one",
        );
        values[":bytes"] = claim.bytes;
        values[":maxEvents"] = claim.maxEvents;
        values[":bytesLeft"] = claim.maxBytes - claim.bytes;
        conditions.push(
          "(attribute_not_exists(postedEvents) OR postedEvents < :maxEvents)",
          "(attribute_not_exists(transcriptBytes) OR transcriptBytes <= :bytesLeft)",
        );
      } else {
        sets.push("typingEvents = if_not_exists(typingEvents, :zero) + :one");
        values[":maxTyping"] = claim.maxTyping;
        conditions.push("(attribute_not_exists(typingEvents) OR typingEvents < :maxTyping)");
      }
      if (claim.by.party === "AGENT") {
        conditions.push("#phase = :accepted", "agentId = :agentId");
        values[":accepted"] = "ACCEPTED";
        values[":agentId"] = claim.by.agentId;
      } else {
        conditions.push("#phase IN (:waiting, :accepted)");
        values[":waiting"] = "WAITING";
        values[":accepted"] = "ACCEPTED";
      }
    } else if (claim.kind === "change") {
      const { from, change } = claim;
      sets.push("#phase = :phase");
      values[":phase"] = change.phase;
      if (change.phase === "ACCEPTED") {
        Object.assign(names, { "#offer": "offer", "#target": "target" });
        sets.push("agentId = :agentId", "agentNickname = :agentNickname");
        values[":agentId"] = change.agentId;
        values[":agentNickname"] = change.agentNickname;
        removes.push("#offer", "#target");
        if (change.offered) {
          conditions.push("#offer.agentId = :agentId", "#offer.expiresAt > :now");
        } else {
          conditions.push("attribute_not_exists(#offer)", "(attribute_not_exists(#target) OR #target = :agentId)");
        }
      } else if (change.phase === "WAITING") {
        Object.assign(names, { "#offer": "offer", "#target": "target", "#endpoint": "endpoint" });
        sets.push("#endpoint = :endpoint");
        values[":endpoint"] = change.endpoint;
        removes.push("agentId", "agentNickname");
        conditions.push("agentId = :from");
        values[":from"] = change.from;
        names["#handedOn"] = refusalOf(change.from);
        sets.push("#handedOn = :now");
        removes.push("#offer");
        if (change.target === undefined) {
          removes.push("#target");
        } else {
          sets.push("#target = :target");
          values[":target"] = change.target;
        }
      }
      // Leaving WAITING takes a chat queued before chat ids off the queue index it was kept in then.
      removes.push("queueEndpoint");
      from.forEach((phase, i) => {
        values[`:from${i}`] = phase;
      });
      conditions.push(`#phase IN (${from.map((_, i) => `:from${i}`).join(", ")})`);
    }
    const key = this.keyOf(chatId, STATE_SK);
    let state: Item;
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key,
          UpdateExpression: `SET ${sets.join(", ")}${removes.length > 0 ? ` REMOVE ${removes.join(", ")}` : ""}`,
          ConditionExpression: conditions.join(" AND "),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: "ALL_NEW",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      state = Attributes ?? {};
    } catch (error) {
      if (!isConditionFailure(error)) throw storageFailure(error);
      state = await this.itemInTheWay(error, key);
      // Refused by its condition, unless by its own token: the caller reads the chat to say why.
      if (state.lastClaim !== token) return undefined;
    }
    return { chat: toChat(state), position: Number(state.lastPosition) };
  }

  /** The routing change's rule (lib/chat/claims.ts: routeAllowed, applyRoute) said as one conditional update. */
  async route(chatId: string, change: ChatRouting, now: number): ReturnType<SessionStore["route"]> {
    const names: Record<string, string> = { "#sk": SESSION_SORT_KEY, "#offer": "offer", "#target": "target" };
    const values: Record<string, unknown> = { ":now": now };
    const conditions = ["attribute_exists(#sk)", "expiresAt > :now"];
    let update: string;
    if (change.kind === "offer") {
      const { agentId } = change.offer;
      Object.assign(names, { "#phase": "phase", "#refused": refusalOf(agentId) });
      Object.assign(values, {
        ":offer": change.offer,
        ":waiting": "WAITING",
        ":agent": agentId,
        ":cutoff": now - change.cooloffSeconds,
      });
      update = "SET #offer = :offer";
      conditions.push(
        "#phase = :waiting",
        "attribute_not_exists(#offer)",
        "(attribute_not_exists(#target) OR #target = :agent)",
        "(attribute_not_exists(#refused) OR #refused <= :cutoff)",
      );
    } else if (change.kind === "untarget") {
      Object.assign(names, { "#phase": "phase" });
      Object.assign(values, { ":agent": change.agentId, ":waiting": "WAITING" });
      conditions.push("#phase = :waiting", "attribute_not_exists(#offer)", "#target = :agent");
      update = "REMOVE #target";
    } else {
      values[":agent"] = change.agentId;
      conditions.push("#offer.agentId = :agent");
      if (change.expired) conditions.push("#offer.expiresAt <= :now");
      update = "REMOVE #offer, #target";
      if (change.refused) {
        names["#refused"] = refusalOf(change.agentId);
        update += " SET #refused = :now";
      }
    }
    const key = this.keyOf(chatId, STATE_SK);
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key,
          UpdateExpression: update,
          ConditionExpression: conditions.join(" AND "),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: "ALL_NEW",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return { chat: toChat(Attributes ?? {}) };
    } catch (error) {
      if (!isConditionFailure(error)) throw storageFailure(error);
      const found = await this.itemInTheWay(error, key);
      return { refused: found[SESSION_SORT_KEY] === undefined ? undefined : toChat(found) };
    }
  }

  async write(chat: ChatState, position: number, event: TimedEvent): Promise<WriteOutcome> {
    const writeId = randomBytes(12).toString("base64url");
    const found = await this.insert(eventItem(chat, position, event, writeId));
    // A write applied by an attempt that timed out fails its condition on retry: the item is ours if it carries our id.
    if (found === undefined || found.writeId === writeId) return "written";
    return found.givenUp === true ? "givenUp" : "taken";
  }

  async giveUp(chat: ChatState, position: number): Promise<boolean> {
    const found = await this.insert({
      [SESSION_KEY]: { S: chat.chatId },
      [SESSION_SORT_KEY]: { S: eventKey(position) },
      position: { N: String(position) },
      givenUp: { BOOL: true },
      expiresAt: { N: String(chat.expiresAt) },
    });
    return found === undefined;
  }

  async advance(chatId: string, lastPosition: number): Promise<void> {
    await conditionalWrite(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.keyOf(chatId, STATE_SK),
          UpdateExpression: "SET lastPosition = :last",
          ConditionExpression: "attribute_exists(#sk) AND (attribute_not_exists(lastPosition) OR lastPosition < :last)",
          ExpressionAttributeNames: { "#sk": SESSION_SORT_KEY },
          ExpressionAttributeValues: { ":last": lastPosition },
        }),
      ),
    );
  }

  async endSession(chatId: string, endedAt: number): Promise<void> {
    // Only an existing record: an update would otherwise create one.
    await conditionalWrite(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.keyOf(chatId, SESSION_SK),
          UpdateExpression: "SET expiresAt = :now, #data = :none REMOVE attached, requestHash",
          ConditionExpression: "attribute_exists(#sk)",
          ExpressionAttributeNames: { "#data": "data", "#sk": SESSION_SORT_KEY },
          ExpressionAttributeValues: { ":now": endedAt, ":none": {} },
        }),
      ),
    );
  }

  async eraseChat(chatId: string, endedAt: number): Promise<void> {
    await storageCall(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.keyOf(chatId, STATE_SK),
          UpdateExpression:
            "SET #phase = :ended, expiresAt = :now, customerNickname = :none REMOVE customer, attachedData, transcriptKey, cometUser, queueEndpoint",
          ExpressionAttributeNames: { "#phase": "phase" },
          ExpressionAttributeValues: { ":ended": "ENDED", ":now": endedAt, ":none": "" },
        }),
      ),
    );
  }

  async endIdempotency(key: string, endedAt: number): Promise<void> {
    await conditionalWrite(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.keyOf(IDEMPOTENCY_PREFIX + key, IDEMPOTENCY_SK),
          UpdateExpression: "SET expiresAt = :now REMOVE requestHash",
          ConditionExpression: "attribute_exists(#sk)",
          ExpressionAttributeNames: { "#sk": SESSION_SORT_KEY },
          ExpressionAttributeValues: { ":now": endedAt },
        }),
      ),
    );
  }

  private keyOf(id: string, sk: string): Item {
    return { [SESSION_KEY]: id, [SESSION_SORT_KEY]: sk };
  }

  /**
   * Insert-only put: resolves undefined when it stored the item, else the item in its way. DynamoDB
   * returns that item with the failed condition (one call); a store that does not (dynalite) is
   * asked for it.
   */
  private async insert(item: Record<string, AttributeValue>): Promise<Item | undefined> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: "attribute_not_exists(#sk)",
          ExpressionAttributeNames: { "#sk": SESSION_SORT_KEY },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return undefined;
    } catch (error) {
      if (!isConditionFailure(error)) throw storageFailure(error);
      return this.itemInTheWay(error, { [SESSION_KEY]: item[SESSION_KEY]?.S, [SESSION_SORT_KEY]: item[SESSION_SORT_KEY]?.S });
    }
  }

  /** The item a conditional write failed on: from the failure itself, else read. */
  private async itemInTheWay(failure: ConditionalCheckFailedException, key: Item): Promise<Item> {
    if (failure.Item !== undefined) return unmarshall(failure.Item);
    const { Item } = await storageCall(() => this.client.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true })));
    // Gone again since (it expired): nothing of ours.
    return Item ?? {};
  }
}

function isConditionFailure(error: unknown): error is ConditionalCheckFailedException {
  return error instanceof Error && error.name === "ConditionalCheckFailedException";
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
    [SESSION_KEY]: { S: session.chatId },
    [SESSION_SORT_KEY]: { S: SESSION_SK },
    sessionId: { S: session.id },
    serviceName: { S: session.serviceName },
    chatEndpoint: { S: session.chatEndpoint },
    data: stringMap(session.data),
    createdAt: { S: session.createdAt },
    ttlSeconds: { N: String(session.ttlSeconds) },
    expiresAt: { N: String(session.expiresAt) },
    ...(session.requestHash === undefined ? {} : { requestHash: { S: session.requestHash } }),
    ...(session.idempotencyKey === undefined ? {} : { idempotencyKey: { S: session.idempotencyKey } }),
  };
}

function stateItem(chat: ChatState): Record<string, AttributeValue> {
  return {
    [SESSION_KEY]: { S: chat.chatId },
    [SESSION_SORT_KEY]: { S: STATE_SK },
    sessionId: { S: chat.sessionId },
    chatSessionId: { S: chat.chatSessionId },
    phase: { S: chat.phase },
    startedAt: { S: chat.startedAt },
    endpoint: { S: chat.endpoint },
    customerNickname: { S: chat.customerNickname },
    customer: stringMap(chat.customer),
    userId: { S: chat.userId },
    secureKey: { S: chat.secureKey },
    expiresAt: { N: String(chat.expiresAt) },
    // Position 1 is the opening notice's, written next by the chat's creator.
    lastPosition: { N: "1" },
    ...(chat.transcriptKey === undefined ? {} : { transcriptKey: { B: chat.transcriptKey } }),
    ...(chat.cometUser === undefined ? {} : { cometUser: { S: chat.cometUser } }),
    ...(chat.queuedAt === undefined ? {} : { queuedAt: { S: chat.queuedAt } }),
  };
}

/**
 * An event's item. Under the chat's key its nickname and text are sealed (AES-256-GCM, the position
 * as associated data so a sealed text cannot be moved to another position); `writeId` tells its
 * writer that a retried write was its own.
 */
function eventItem(chat: ChatState, position: number, event: TimedEvent, writeId: string): Record<string, AttributeValue> {
  const words =
    chat.transcriptKey === undefined
      ? { nickname: { S: event.nickname }, text: { S: event.text } }
      : { sealed: { B: seal(chat.transcriptKey, position, [event.nickname, event.text]) } };
  return {
    [SESSION_KEY]: { S: chat.chatId },
    [SESSION_SORT_KEY]: { S: eventKey(position) },
    position: { N: String(position) },
    type: { S: event.type },
    ...words,
    party: { S: event.party },
    ...(event.actor === undefined ? {} : { actor: { S: event.actor } }),
    offset: { N: String(event.offset) },
    at: { S: event.at },
    writeId: { S: writeId },
    expiresAt: { N: String(chat.expiresAt) },
  };
}

function seal(key: Uint8Array, position: number, words: readonly [string, string]): Uint8Array {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(CIPHER, key, iv);
  cipher.setAAD(Buffer.from(String(position)));
  const sealed = Buffer.concat([cipher.update(JSON.stringify(words), "utf8"), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]);
}

/** The nickname and text of a sealed event; undefined without the key (erased). */
function unseal(key: Uint8Array | undefined, position: number, sealed: Uint8Array): readonly [string, string] | undefined {
  if (key === undefined) return undefined;
  const bytes = Buffer.from(sealed);
  const decipher = createDecipheriv(CIPHER, key, bytes.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(String(position)));
  decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  const words: unknown = JSON.parse(
    Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString("utf8"),
  );
  return Array.isArray(words) ? [String(words[0]), String(words[1])] : undefined;
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

/** Sessions opened before chat ids are kept under their own id, and carry no `sessionId`. */
function toSession(item: Item): Session {
  return {
    id: String(item.sessionId ?? item[SESSION_KEY]),
    chatId: String(item[SESSION_KEY]),
    serviceName: String(item.serviceName),
    chatEndpoint: String(item.chatEndpoint),
    data: toTextMap(item.data),
    createdAt: String(item.createdAt),
    ttlSeconds: Number(item.ttlSeconds),
    expiresAt: Number(item.expiresAt),
    ...(item.requestHash === undefined ? {} : { requestHash: String(item.requestHash) }),
    ...(item.idempotencyKey === undefined ? {} : { idempotencyKey: String(item.idempotencyKey) }),
    ...(item.attached === undefined ? {} : { attached: toTextMap(item.attached) }),
  };
}

function toChat(item: Item): ChatState {
  return {
    chatId: String(item[SESSION_KEY]),
    sessionId: String(item.sessionId ?? item[SESSION_KEY]),
    chatSessionId: String(item.chatSessionId),
    phase: storedName<ChatPhase>(item.phase),
    startedAt: String(item.startedAt),
    endpoint: String(item.endpoint),
    customerNickname: String(item.customerNickname),
    customer: toTextMap(item.customer),
    ...(item.attachedData === undefined ? {} : { attachedData: toTextMap(item.attachedData) }),
    userId: String(item.userId),
    secureKey: String(item.secureKey),
    expiresAt: Number(item.expiresAt),
    ...(item.agentId === undefined ? {} : { agentId: String(item.agentId) }),
    ...(item.agentNickname === undefined ? {} : { agentNickname: String(item.agentNickname) }),
    ...(item.queuedAt === undefined ? {} : { queuedAt: String(item.queuedAt) }),
    ...(item.transcriptKey instanceof Uint8Array ? { transcriptKey: item.transcriptKey } : {}),
    ...(item.cometUser === undefined ? {} : { cometUser: String(item.cometUser) }),
    ...(item.listeners instanceof Set ? { listeners: [...(item.listeners as Set<string>)] } : {}),
    ...(isOffer(item.offer)
      ? {
          offer: {
            agentId: item.offer.agentId,
            nickname: item.offer.nickname ?? item.offer.agentId,
            offeredAt: item.offer.offeredAt,
            expiresAt: item.offer.expiresAt,
          },
        }
      : {}),
    ...(typeof item.target === "string" ? { target: item.target } : {}),
    ...refusals(item),
  };
}

function isOffer(value: unknown): value is { agentId: string; nickname?: string; offeredAt: string; expiresAt: number } {
  const offer = value as Record<string, unknown> | undefined;
  return typeof offer?.agentId === "string" && typeof offer.offeredAt === "string" && typeof offer.expiresAt === "number";
}

/** An agent's refusal of a chat is an attribute of its own, so that a refusal needs no map to exist. */
const REFUSAL_PREFIX = "rejected:";
const refusalOf = (agentId: string) => REFUSAL_PREFIX + agentId;

function refusals(item: Item): { rejectedBy?: Record<string, number> } {
  const found = Object.entries(item).filter(([name, value]) => name.startsWith(REFUSAL_PREFIX) && typeof value === "number");
  return found.length === 0
    ? {}
    : { rejectedBy: Object.fromEntries(found.map(([name, at]) => [name.slice(REFUSAL_PREFIX.length), Number(at)])) };
}

function toIdempotency(item: Item): IdempotencyRecord {
  return {
    key: String(item[SESSION_KEY]).slice(IDEMPOTENCY_PREFIX.length),
    sessionId: String(item.sessionId),
    ...(item.chatId === undefined ? {} : { chatId: String(item.chatId) }),
    // An ended key's record keeps no fingerprint.
    requestHash: item.requestHash === undefined ? "" : String(item.requestHash),
    expiresAt: Number(item.expiresAt),
  };
}

function toEntry(item: Item, key: Uint8Array | undefined): TranscriptEntry {
  const position = Number(item.position);
  if (item.givenUp === true) return { position, givenUp: true };
  const [nickname, text] =
    item.sealed instanceof Uint8Array ? (unseal(key, position, item.sealed) ?? ["", ""]) : [String(item.nickname), String(item.text)];
  return {
    position,
    type: storedName<EventType>(item.type),
    nickname,
    text,
    party: storedName<Party>(item.party),
    offset: Number(item.offset),
    at: String(item.at),
  };
}
