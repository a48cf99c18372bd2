import { PutCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Session } from "../session.ts";
import type { SessionStore } from "../stores.ts";
import { SESSION_KEY } from "./tables.ts";
import { storageFailure } from "./client.ts";

export class DynamoSessionStore implements SessionStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async create(session: Session): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...session },
          ConditionExpression: "attribute_not_exists(#id)",
          ExpressionAttributeNames: { "#id": SESSION_KEY },
        }),
      );
    } catch (error) {
      // A ConditionalCheckFailed here would mean a UUID collision: a bug, reported as a 500.
      throw storageFailure(error);
    }
  }
}
