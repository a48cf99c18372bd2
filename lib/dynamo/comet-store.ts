import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { ChatState, CometClient, CometMailbox, CometRenewal, CometStore } from "../storage.ts";
import { conditionalWrite, storageCall } from "./client.ts";
import { SESSION_KEY, SESSION_SORT_KEY } from "./tables.ts";

/**
 * The CometD clients and their users' mailboxes, in the sessions table: one partition per CometD
 * user, `comet#<digest of gms_user>` (a digest is base64url, so no session id or `key#` partition
 * can be one). In it, each chat's mailbox (`chat#<startedAt>#<session id>`: the newest chats sort
 * last) and each client (`client#<clientId>`). None of them has the queue index's attributes, and
 * all carry `expiresAt`, so TTL removes them.
 */
const USER_PREFIX = "comet#";
const MAILBOX_PREFIX = "chat#";
const CLIENT_PREFIX = "client#";

type Item = Record<string, unknown>;

export class DynamoCometStore implements CometStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async bump(user: string, chat: Pick<ChatState, "sessionId" | "startedAt" | "expiresAt">, position: number, signal?: AbortSignal) {
    // Conditional, so that a late bump never lowers a mailbox that a later event raised already.
    await conditionalWrite(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(user, `${MAILBOX_PREFIX}${chat.startedAt}#${chat.sessionId}`),
          UpdateExpression: "SET #position = :position, sessionId = :sessionId, expiresAt = :expiresAt",
          ConditionExpression: "attribute_not_exists(#position) OR #position < :position",
          ExpressionAttributeNames: { "#position": "position" },
          ExpressionAttributeValues: { ":position": position, ":sessionId": chat.sessionId, ":expiresAt": chat.expiresAt },
        }),
        signal === undefined ? {} : { abortSignal: signal },
      ),
    );
  }

  async dropMailbox(user: string, chat: Pick<ChatState, "sessionId" | "startedAt">): Promise<void> {
    await storageCall(() =>
      this.client.send(
        new DeleteCommand({ TableName: this.table, Key: this.key(user, `${MAILBOX_PREFIX}${chat.startedAt}#${chat.sessionId}`) }),
      ),
    );
  }

  async mailboxes(user: string, limit: number): Promise<CometMailbox[]> {
    const { Items = [] } = await storageCall(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: "#id = :id AND begins_with(#sk, :mailbox)",
          ExpressionAttributeNames: { "#id": SESSION_KEY, "#sk": SESSION_SORT_KEY },
          ExpressionAttributeValues: { ":id": USER_PREFIX + user, ":mailbox": MAILBOX_PREFIX },
          ScanIndexForward: false,
          Limit: limit,
          // Eventually consistent, at half the price: a bump this read misses, the next one sees.
          ConsistentRead: false,
        }),
      ),
    );
    return Items.map((item) => ({
      sessionId: String(item.sessionId),
      position: Number(item.position),
      expiresAt: Number(item.expiresAt),
    }));
  }

  async putClient(client: CometClient): Promise<void> {
    await storageCall(() =>
      this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...this.key(client.user, CLIENT_PREFIX + client.clientId),
            subscribed: client.subscribed,
            start: client.start,
            delivered: client.delivered,
            expiresAt: client.expiresAt,
            since: client.since,
          },
        }),
      ),
    );
  }

  async getClient(user: string, clientId: string): Promise<CometClient | undefined> {
    const { Item } = await storageCall(() =>
      this.client.send(new GetCommand({ TableName: this.table, Key: this.key(user, CLIENT_PREFIX + clientId), ConsistentRead: true })),
    );
    return Item && toClient(user, clientId, Item);
  }

  subscribe(user: string, clientId: string, subscribed: boolean, until: CometRenewal): Promise<boolean> {
    return this.update(user, clientId, "SET subscribed = :subscribed", { ":subscribed": subscribed }, until);
  }

  record(
    user: string,
    clientId: string,
    update: CometRenewal & { readonly delivered: Readonly<Record<string, number>>; readonly requireSubscribed: boolean },
  ): Promise<boolean> {
    return this.update(
      user,
      clientId,
      "SET delivered = :delivered",
      { ":delivered": update.delivered, ...(update.requireSubscribed ? { ":subscribed": true } : {}) },
      update,
      update.requireSubscribed ? " AND subscribed = :subscribed" : "",
    );
  }

  async deleteClient(user: string, clientId: string): Promise<void> {
    await storageCall(() => this.client.send(new DeleteCommand({ TableName: this.table, Key: this.key(user, CLIENT_PREFIX + clientId) })));
  }

  async clients(user: string, limit: number): Promise<Pick<CometClient, "clientId" | "since" | "expiresAt">[]> {
    const { Items = [] } = await storageCall(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: "#id = :id AND begins_with(#sk, :client)",
          ExpressionAttributeNames: { "#id": SESSION_KEY, "#sk": SESSION_SORT_KEY, "#since": "since" },
          ExpressionAttributeValues: { ":id": USER_PREFIX + user, ":client": CLIENT_PREFIX },
          ProjectionExpression: "#sk, #since, expiresAt",
          Limit: limit,
          // A client that has just shaken hands must be counted.
          ConsistentRead: true,
        }),
      ),
    );
    return Items.map((item) => ({
      clientId: String(item[SESSION_SORT_KEY]).slice(CLIENT_PREFIX.length),
      since: Number(item.since ?? 0),
      expiresAt: Number(item.expiresAt),
    }));
  }

  /** An update of a client that exists and is live at `until.now`, which also moves its expiry to `until.expiresAt`. */
  private update(
    user: string,
    clientId: string,
    expression: string,
    values: Record<string, unknown>,
    until: CometRenewal,
    condition = "",
  ): Promise<boolean> {
    return conditionalWrite(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(user, CLIENT_PREFIX + clientId),
          UpdateExpression: `${expression}, expiresAt = :expiresAt`,
          // An expired client that TTL has not removed yet stays expired.
          ConditionExpression: `attribute_exists(#sk) AND expiresAt > :now${condition}`,
          ExpressionAttributeNames: { "#sk": SESSION_SORT_KEY },
          ExpressionAttributeValues: { ...values, ":expiresAt": until.expiresAt, ":now": until.now },
        }),
      ),
    );
  }

  private key(user: string, sk: string): Item {
    return { [SESSION_KEY]: USER_PREFIX + user, [SESSION_SORT_KEY]: sk };
  }
}

function toClient(user: string, clientId: string, item: Item): CometClient {
  const delivered: Record<string, number> = {};
  if (item.delivered !== null && typeof item.delivered === "object") {
    for (const [sessionId, position] of Object.entries(item.delivered)) delivered[sessionId] = Number(position);
  }
  return {
    user,
    clientId,
    subscribed: item.subscribed === true,
    start: Number(item.start ?? 0),
    delivered,
    expiresAt: Number(item.expiresAt),
    since: Number(item.since ?? 0),
  };
}
