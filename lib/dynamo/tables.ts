import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";

/**
 * Table layout. serverless.yml declares the same tables for AWS; `npm start` and the tests create
 * them from these definitions, and a test checks that both agree.
 *
 * - sessions: everything of one session shares its partition `id`, the session's chat id
 *   (lib/session/ids.ts; a session opened before chat ids keeps its session id), sorted by `sk`: the
 *   transcript events (`e#0000000001`, ...), then the session record (`session`, with the chat's
 *   attached data), then the chat state (`state`, which also keeps the last position taken and the
 *   customer tabs listening). One Query for `sk > e#<position>` returns the events a client has not
 *   seen plus both records: a refresh is one cheap read. All items carry the session's expiry; TTL
 *   on `expiresAt`. Each endpoint's queue has its own partition (`waiting#<endpoint>`, one small
 *   entry per waiting chat, sorted by `<queuedAt>#<chat id>`, lib/dynamo/routing-store.ts).
 *   Idempotency-Keys have partitions of their own (`key#<digest>`, `sk = idempotency`), and so do
 *   CometD users (`comet#<digest>`: each chat's mailbox `chat#<startedAt>#<session id>` and each
 *   client `client#<clientId>`, lib/dynamo/comet-store.ts) and push subscriptions (`push#...`). The
 *   sparse index `queue` (`queueEndpoint`, `queuedAt`) is where versions before the endpoints'
 *   queues kept the waiting chats: nothing writes it now, and lib/dynamo/queue-migration.ts moves
 *   what it holds; a later version removes it.
 * - config: one partition per service (`service#<name>`: its options with a copy of its endpoint's
 *   availability, the one item request-chat reads), per endpoint (`endpoint#<name>`: its
 *   availability, its services and the roster of its ready agents) and per agent (`agent#<id>`: its
 *   presence), and the admin API's list of services (`services`); lib/dynamo/config-store.ts.
 *   TTL on `expiresAt` removes lapsed presence and roster entries. The first layout kept all of it
 *   in the one partition `pk = config` (lib/dynamo/config-migration.ts moves it).
 */
export interface TableNames {
  readonly sessions: string;
  readonly config: string;
}

export const SESSION_KEY = "id";
export const SESSION_SORT_KEY = "sk";
export const QUEUE_INDEX = "queue";
export const CONFIG_PARTITION_KEY = "pk";
export const CONFIG_SORT_KEY = "sk";

export function tableNamesFromEnv(env: NodeJS.ProcessEnv = process.env): TableNames {
  const sessions = env.SESSIONS_TABLE;
  const config = env.CONFIG_TABLE;
  if (!sessions || !config) throw new Error("SESSIONS_TABLE and CONFIG_TABLE must be set");
  return { sessions, config };
}

/** A table definition, named. */
export type TableDefinition = CreateTableCommandInput & { readonly TableName: string };

export function tableDefinitions(names: TableNames): TableDefinition[] {
  return [
    {
      TableName: names.sessions,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [
        { AttributeName: SESSION_KEY, AttributeType: "S" },
        { AttributeName: SESSION_SORT_KEY, AttributeType: "S" },
        { AttributeName: "queueEndpoint", AttributeType: "S" },
        { AttributeName: "queuedAt", AttributeType: "S" },
      ],
      KeySchema: [
        { AttributeName: SESSION_KEY, KeyType: "HASH" },
        { AttributeName: SESSION_SORT_KEY, KeyType: "RANGE" },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: QUEUE_INDEX,
          KeySchema: [
            { AttributeName: "queueEndpoint", KeyType: "HASH" },
            { AttributeName: "queuedAt", KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "ALL" },
        },
      ],
    },
    {
      TableName: names.config,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [
        { AttributeName: CONFIG_PARTITION_KEY, AttributeType: "S" },
        { AttributeName: CONFIG_SORT_KEY, AttributeType: "S" },
      ],
      KeySchema: [
        { AttributeName: CONFIG_PARTITION_KEY, KeyType: "HASH" },
        { AttributeName: CONFIG_SORT_KEY, KeyType: "RANGE" },
      ],
    },
  ];
}
