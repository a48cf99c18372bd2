import { signedOutCheck } from "../lib/agents/sign-out.ts";
import { DynamoAgentStore } from "../lib/dynamo/agent-store.ts";
import { createDocumentClient } from "../lib/dynamo/client.ts";
import { tableNamesFromEnv } from "../lib/dynamo/tables.ts";
import { authorizerHandler } from "../lib/http/authorizer.ts";
import { apiKeyValue } from "../lib/identity/api-key.ts";
import { tokenVerifierFromEnv } from "../lib/identity/tokens.ts";

/**
 * The admin API's authorizer (serverless.yml): an admin's access token of a sign-in that has not
 * ended, or the stage's API key for machine callers, whose value is read once per instance
 * (lib/identity/api-key.ts).
 */
const verifier = tokenVerifierFromEnv(process.env);
const agents = new DynamoAgentStore(createDocumentClient(), tableNamesFromEnv().config);

export const handler = authorizerHandler({
  verify: (token) => verifier.verify(token),
  signedOut: signedOutCheck({ agents, now: () => new Date() }),
  uncached: process.env.AUTHORIZER_UNCACHED === "true",
  apiKey: apiKeyValue(process.env),
});
