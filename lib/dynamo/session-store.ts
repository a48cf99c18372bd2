import { GetCommand, PutCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Session } from "../session.ts";
import type { SessionStore } from "../stores.ts";
import { isConditionalCheckFailure, storageFailure } from "./client.ts";
import { SESSION_KEY } from "./tables.ts";

export class DynamoSessionStore implements SessionStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async create(session: Session): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...session },
          ConditionExpression: "attribute_not_exists(#id)",
          ExpressionAttributeNames: { "#id": SESSION_KEY },
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw storageFailure(error);
      // A write that timed out after DynamoDB applied it is retried by the SDK and then fails its
      // condition: the item is ours if it is exactly what we wrote.
      const stored = await this.get(session.id);
      return stored !== undefined && stored.createdAt === session.createdAt && stored.requestHash === session.requestHash;
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
