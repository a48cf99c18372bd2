import { tokenChecks } from "../lib/authorizer-runtime.ts";
import { authorizerHandler } from "../lib/http/authorizer.ts";

/**
 * The agent API's authorizer (serverless.yml): access tokens of the agents' user pool only, of
 * sign-ins that have not ended (one read of the config table per token first seen).
 */
export const handler = authorizerHandler(tokenChecks);
