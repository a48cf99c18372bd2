import { corsPolicy } from "./http/cors.ts";
import { DynamoConfigStore } from "./dynamo/config-store.ts";
import { createDocumentClient } from "./dynamo/client.ts";
import { DynamoSessionStore } from "./dynamo/session-store.ts";
import { tableNamesFromEnv } from "./dynamo/tables.ts";

/**
 * The production wiring, built once per Lambda instance at cold start: one DynamoDB client shared
 * by the stores, and table names and CORS origins validated so a misconfigured stage fails at init,
 * not mid-request.
 */
const tables = tableNamesFromEnv();
const client = createDocumentClient();

export const configStore = new DynamoConfigStore(client, tables.config);
export const sessionStore = new DynamoSessionStore(client, tables.sessions);
export const now = (): Date => new Date();
export const cors = corsPolicy(process.env.CORS_ALLOWED_ORIGINS);
