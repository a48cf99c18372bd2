import { signedOutCheck } from "../lib/agents/sign-out.ts";
import { DynamoAgentStore } from "../lib/dynamo/agent-store.ts";
import { createDocumentClient } from "../lib/dynamo/client.ts";
import { tableNamesFromEnv } from "../lib/dynamo/tables.ts";
import { authorizerHandler } from "../lib/http/authorizer.ts";
import { tokenVerifierFromEnv } from "../lib/identity/tokens.ts";

/**
 * The agent API's authorizer (serverless.yml): access tokens of the agents' user pool only, of
 * sign-ins that have not ended (one read of the config table per token first seen). Built once per
 * instance, so the pool's signing keys are fetched once and cached.
 */
const verifier = tokenVerifierFromEnv(process.env);
const agents = new DynamoAgentStore(createDocumentClient(), tableNamesFromEnv().config);

export const handler = authorizerHandler({
  verify: (token) => verifier.verify(token),
  signedOut: signedOutCheck({ agents, now: () => new Date() }),
  uncached: process.env.AUTHORIZER_UNCACHED === "true",
});
