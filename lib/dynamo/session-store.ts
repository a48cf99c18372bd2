import { PutItemCommand, type AttributeValue } from "@aws-sdk/client-dynamodb";
import { GetCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Session } from "../session.ts";
import type { SessionStore } from "../stores.ts";
import { isConditionalCheckFailure, storageFailure } from "./client.ts";
import { SESSION_KEY } from "./tables.ts";

export class DynamoSessionStore implements SessionStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async create(session: Session): ReturnType<SessionStore["create"]> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: sessionItem(session),
          ConditionExpression: "attribute_not_exists(#id)",
          ExpressionAttributeNames: { "#id": SESSION_KEY },
        }),
      );
      return { stored: true };
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw storageFailure(error);
      // A write that timed out after DynamoDB applied it is retried by the SDK and then fails its
      // condition: the item is ours if it is exactly what we wrote.
      const existing = await this.get(session.id);
      const ours = existing !== undefined && existing.createdAt === session.createdAt && existing.requestHash === session.requestHash;
      return ours ? { stored: true } : { stored: false, existing };
    }
  }

  async get(id: string): Promise<Session | undefined> {
    try {
      const { Item } = await this.client.send(
        new GetCommand({ TableName: this.table, Key: { [SESSION_KEY]: id }, ConsistentRead: true }),
      );
      return Item as Session | undefined;
    } catch (error) {
      throw storageFailure(error);
    }
  }
}

/**
 * The item in DynamoDB's own format. The document client's marshaller cannot store every key a
 * client may send (a context key named `constructor` breaks it), so the data map is built here.
 */
function sessionItem(session: Session): Record<string, AttributeValue> {
  const data: Record<string, AttributeValue> = {};
  for (const [key, value] of Object.entries(session.data)) data[key] = { S: value };
  return {
    [SESSION_KEY]: { S: session.id },
    serviceName: { S: session.serviceName },
    chatEndpoint: { S: session.chatEndpoint },
    data: { M: data },
    createdAt: { S: session.createdAt },
    ttlSeconds: { N: String(session.ttlSeconds) },
    expiresAt: { N: String(session.expiresAt) },
    ...(session.requestHash === undefined ? {} : { requestHash: { S: session.requestHash } }),
  };
}
