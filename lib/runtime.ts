import { createDocumentClient } from "./dynamo/client.ts";
import { dynamoScope } from "./dynamo/request-scope.ts";
import { dynamoStores } from "./dynamo/stores.ts";
import { tableNamesFromEnv } from "./dynamo/tables.ts";
import { corsPolicy } from "./http/cors.ts";
import { wire } from "./wire.ts";

/**
 * The production wiring, built once per Lambda instance at cold start: the stores on one DynamoDB
 * client, composed by `wire` (lib/wire.ts, which the tests and the benchmarks use too), DynamoDB's
 * request scope (cost in the log line, no call past the function's deadline), and table names and
 * CORS origins validated so a misconfigured stage fails at init, not mid-request. `service` routes
 * nothing (request-chat, CometD, the seed); lib/routing-runtime.ts and lib/push-runtime.ts add
 * routing's queue and the push channel for the functions that need them, so that the others'
 * bundles hold neither client. Nothing else imports both the edge and the adapters.
 */
export const tables = tableNamesFromEnv();
/** One client per instance: lib/routing-runtime.ts and lib/push-runtime.ts share it. */
export const client = createDocumentClient();
export const stores = dynamoStores(client, tables);
export const service = wire(stores);
export const http = { cors: corsPolicy(process.env.CORS_ALLOWED_ORIGINS), scope: dynamoScope };
