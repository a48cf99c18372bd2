import { DeleteCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { isChatEndpoint, isServiceName } from "../config/services.ts";
import type { ConfigStore, MigrationOutcome } from "../storage.ts";
import { queryAll, storageCall } from "./client.ts";

import { CONFIG_PARTITION_KEY as PK, CONFIG_SORT_KEY as SK } from "./tables.ts";

/** Where the first layout kept everything: one partition, read whole by every request-chat. */
const OLD_PARTITION = "config";
/** Items moved side by side. */
const CONCURRENCY = 20;

/**
 * Moves what the first layout of the config table holds (services, notifications and presence in
 * the single partition `pk = config`) to the current one (lib/dynamo/config-store.ts), then deletes
 * the old items. The key schema is the same, so the table stays. Each item is moved without
 * overwriting what the new layout already holds (a change made through the new code wins), and only
 * then deleted: a migration cut short is simply run again. `npm start` runs it before seeding; on a
 * deployed stage the seed custom resource runs it on the deploy that brings this layout
 * (docs/deploying.md#upgrading-the-config-table).
 */
export async function migrateConfigLayout(
  client: DynamoDBDocumentClient,
  table: string,
  store: Pick<ConfigStore, "createServiceIfAbsent" | "createNotificationIfAbsent">,
): Promise<Omit<MigrationOutcome, "waitingChats">> {
  const items = await queryAll(client, {
    TableName: table,
    ConsistentRead: true,
    KeyConditionExpression: "#pk = :pk",
    ExpressionAttributeNames: { "#pk": PK },
    ExpressionAttributeValues: { ":pk": OLD_PARTITION },
  });
  const kind = (item: Item) => String(item[SK]).split("#")[0];
  const services = items.filter((item) => kind(item) === "service" && isService(item));
  const notifications = items.filter((item) => kind(item) === "availability" && isNotification(item));
  const presence = items.filter((item) => kind(item) === "presence");
  // What it cannot read stays where it is, for a person to look at; the rest goes once moved.
  const moved = new Set([...services, ...notifications, ...presence]);
  await inBatches(services, (item) =>
    store.createServiceIfAbsent({
      name: String(item.name),
      ttlSeconds: Number(item.ttlSeconds),
      chatEndpoint: String(item.chatEndpoint),
      updatedAt: String(item.updatedAt),
    }),
  );
  await inBatches(notifications, (item) =>
    store.createNotificationIfAbsent({
      endpoint: String(item.endpoint),
      available: item.available === true,
      updatedAt: String(item.updatedAt),
      ...(typeof item.expiresAt === "number" ? { expiresAt: item.expiresAt } : {}),
    }),
  );
  await inBatches([...moved], (item) =>
    storageCall(() => client.send(new DeleteCommand({ TableName: table, Key: { [PK]: item[PK], [SK]: item[SK] } }))),
  );
  return {
    services: services.length,
    notifications: notifications.length,
    presenceDropped: presence.length,
    unreadable: items.length - moved.size,
  };
}

type Item = Record<string, unknown>;

/** An item the first layout's code wrote for a service, and nothing else. */
function isService(item: Item): boolean {
  return (
    typeof item.name === "string" &&
    isServiceName(item.name) &&
    item[SK] === `service#${item.name}` &&
    Number.isInteger(item.ttlSeconds) &&
    Number(item.ttlSeconds) > 0 &&
    typeof item.chatEndpoint === "string" &&
    isChatEndpoint(item.chatEndpoint) &&
    typeof item.updatedAt === "string"
  );
}

function isNotification(item: Item): boolean {
  return (
    typeof item.endpoint === "string" &&
    isChatEndpoint(item.endpoint) &&
    item[SK] === `availability#${item.endpoint}` &&
    typeof item.available === "boolean" &&
    typeof item.updatedAt === "string" &&
    (item.expiresAt === undefined || typeof item.expiresAt === "number")
  );
}

async function inBatches<T>(items: readonly T[], work: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += CONCURRENCY) await Promise.all(items.slice(i, i + CONCURRENCY).map(work));
}
