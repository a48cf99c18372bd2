import { type DynamoDBDocumentClient, paginateScan, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { RoutingStore } from "../routing/store.ts";
import { conditionalWrite, storageCall } from "./client.ts";
import { QUEUE_INDEX, SESSION_KEY, SESSION_SORT_KEY } from "./tables.ts";

/** Chats moved side by side. */
const CONCURRENCY = 20;

/**
 * Moves the chats that waited in the sessions table's `queue` index (where versions before chat ids
 * kept each endpoint's queue) into their endpoints' queues (lib/dynamo/routing-store.ts), then takes
 * each off the index, so that a second run finds nothing to move and a migration cut short is
 * simply run again. The index holds the waiting chats only, so the scan reads nothing else. A chat
 * moved keeps its place (its `queuedAt`) and its session id as its chat id, as every chat opened
 * before chat ids does. `npm start` runs it at every start, the seed custom resource on the deploy
 * that brings it (docs/deploying.md#upgrading); a later version removes the index.
 */
export async function migrateWaitingChats(
  client: DynamoDBDocumentClient,
  table: string,
  routing: RoutingStore,
  now: number,
): Promise<number> {
  const items = await storageCall(async () => {
    const found: Record<string, unknown>[] = [];
    for await (const page of paginateScan({ client }, { TableName: table, IndexName: QUEUE_INDEX, ConsistentRead: false })) {
      found.push(...(page.Items ?? []));
    }
    return found;
  });
  const waiting = items.filter(
    (item) =>
      item[SESSION_SORT_KEY] === "state" && item.phase === "WAITING" && Number(item.expiresAt) > now && typeof item.queuedAt === "string",
  );
  for (let i = 0; i < items.length; i += CONCURRENCY) {
    await Promise.all(
      items.slice(i, i + CONCURRENCY).map(async (item) => {
        if (waiting.includes(item)) {
          await routing.putWaiting({
            endpoint: String(item.queueEndpoint),
            chatId: String(item[SESSION_KEY]),
            queuedAt: String(item.queuedAt),
            expiresAt: Number(item.expiresAt),
          });
        }
        // Off the index, unless the chat was taken meanwhile (its claim removed the attribute).
        await conditionalWrite(() =>
          client.send(
            new UpdateCommand({
              TableName: table,
              Key: { [SESSION_KEY]: item[SESSION_KEY], [SESSION_SORT_KEY]: item[SESSION_SORT_KEY] },
              UpdateExpression: "REMOVE queueEndpoint",
              ConditionExpression: "queueEndpoint = :endpoint",
              ExpressionAttributeValues: { ":endpoint": item.queueEndpoint },
            }),
          ),
        );
      }),
    );
  }
  return waiting.length;
}
