import { createDocumentClient } from "./dynamo/client.ts";
import { DynamoCometStore } from "./dynamo/comet-store.ts";
import { DynamoConfigStore } from "./dynamo/config-store.ts";
import { dynamoScope } from "./dynamo/request-scope.ts";
import { DynamoSessionStore } from "./dynamo/session-store.ts";
import { tableNamesFromEnv } from "./dynamo/tables.ts";
import { corsPolicy } from "./http/cors.ts";

/**
 * The composition root: the production wiring, built once per Lambda instance at cold start. One
 * DynamoDB client shared by the stores, DynamoDB's request scope (cost in the log line, no call
 * past the function's deadline), and table names and
 * CORS origins validated so a misconfigured stage fails at init, not mid-request. The handlers pass
 * these to their route families; nothing else imports both the edge and the adapters.
 */
export const tables = tableNamesFromEnv();
/** One client per instance: lib/push-runtime.ts shares it. */
export const client = createDocumentClient();

export const stores = {
  config: new DynamoConfigStore(client, tables.config),
  sessions: new DynamoSessionStore(client, tables.sessions),
  comet: new DynamoCometStore(client, tables.sessions),
};
export const now = (): Date => new Date();
export const http = { cors: corsPolicy(process.env.CORS_ALLOWED_ORIGINS), scope: dynamoScope };
