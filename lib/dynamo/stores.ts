import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { DynamoAgentStore } from "./agent-store.ts";
import { DynamoCometStore } from "./comet-store.ts";
import { DynamoConfigStore } from "./config-store.ts";
import { DynamoPushStore } from "./push-store.ts";
import { DynamoRoutingStore } from "./routing-store.ts";
import { DynamoSessionStore } from "./session-store.ts";
import type { TableNames } from "./tables.ts";

/** Every store on DynamoDB (lib/wire.ts Stores), sharing one document client (lib/dynamo/client.ts). */
export function dynamoStores(client: DynamoDBDocumentClient, tables: TableNames) {
  return {
    config: new DynamoConfigStore(client, tables.config),
    sessions: new DynamoSessionStore(client, tables.sessions),
    push: new DynamoPushStore(client, tables.sessions),
    comet: new DynamoCometStore(client, tables.sessions),
    routing: new DynamoRoutingStore(client, tables),
    agents: new DynamoAgentStore(client, tables.config),
  };
}
