import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";

/**
 * Table layout. serverless.yml declares the same tables for AWS; `npm start` and the tests create
 * them from these definitions, and a test checks that both agree.
 *
 * - sessions: one item per session, key `id`, TTL on `expiresAt`.
 * - config: services (`sk = service#<name>`) and availability notifications
 *   (`sk = availability#<endpoint>`) share the partition `pk = config`, so request-chat reads a
 *   service and its endpoint's availability in a single strongly consistent Query. TTL on
 *   `expiresAt` removes lapsed notifications.
 */
export interface TableNames {
  readonly sessions: string;
  readonly config: string;
}

export const EXPIRY_ATTRIBUTE = "expiresAt";
export const SESSION_KEY = "id";
export const CONFIG_PARTITION_KEY = "pk";
export const CONFIG_SORT_KEY = "sk";
export const CONFIG_PARTITION = "config";

export function tableNamesFromEnv(env: NodeJS.ProcessEnv = process.env): TableNames {
  const sessions = env.SESSIONS_TABLE;
  const config = env.CONFIG_TABLE;
  if (!sessions || !config) throw new Error("SESSIONS_TABLE and CONFIG_TABLE must be set");
  return { sessions, config };
}

export function tableDefinitions(names: TableNames): CreateTableCommandInput[] {
  return [
    {
      TableName: names.sessions,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [{ AttributeName: SESSION_KEY, AttributeType: "S" }],
      KeySchema: [{ AttributeName: SESSION_KEY, KeyType: "HASH" }],
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
