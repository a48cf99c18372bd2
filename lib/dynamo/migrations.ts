import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { RoutingStore } from "../routing/store.ts";
import type { ConfigStore, MigrationOutcome } from "../storage.ts";
import { migrateConfigLayout } from "./config-migration.ts";
import { migrateWaitingChats } from "./queue-migration.ts";
import type { TableNames } from "./tables.ts";

/**
 * Moves what older versions left in layouts this one no longer reads: the config table's first
 * layout (lib/dynamo/config-migration.ts) and the chats waiting in the sessions table's queue index
 * (lib/dynamo/queue-migration.ts). Each step is idempotent: `npm start` runs them at every start, the
 * seed custom resource on the deploy that changes its `ConfigLayout`.
 */
export async function migrateLayouts(
  client: DynamoDBDocumentClient,
  tables: TableNames,
  stores: { readonly config: Pick<ConfigStore, "createServiceIfAbsent" | "createNotificationIfAbsent">; readonly routing: RoutingStore },
  now: Date,
): Promise<MigrationOutcome> {
  const config = await migrateConfigLayout(client, tables.config, stores.config);
  const waitingChats = await migrateWaitingChats(client, tables.sessions, stores.routing, Math.floor(now.getTime() / 1000));
  return { ...config, waitingChats };
}
