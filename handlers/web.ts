import agent from "page:agent";
import chat from "page:chat";
import { consoleIdentityFromEnv } from "../lib/http/console-identity.ts";
import { corsPolicy } from "../lib/http/cors.ts";
import { pageApiOrigins } from "../lib/http/page-origins.ts";
import { requiredPushUrl } from "../lib/http/push-url.ts";
import { webHandler } from "../lib/http/routes/web.ts";

/**
 * The web function: lib/http/routes/web.ts. Pages only: no DynamoDB client, so lib/runtime.ts (and
 * the AWS SDK) stays out of this bundle. Its settings are read here, once, and a malformed one fails
 * the init.
 */
export const handler = webHandler({
  pages: { chat, agent },
  cors: corsPolicy(process.env.CORS_ALLOWED_ORIGINS),
  apiOrigins: pageApiOrigins(process.env.PAGE_API_ORIGINS),
  identity: consoleIdentityFromEnv(process.env),
  push: requiredPushUrl(process.env.PUSH_URL),
});
