import { authorizerHandler } from "../lib/http/authorizer.ts";
import { tokenVerifierFromEnv } from "../lib/identity/tokens.ts";

/**
 * The agent API's authorizer (serverless.yml): access tokens of the agents' user pool only. Built
 * once per instance, so the pool's signing keys are fetched once and cached.
 */
const verifier = tokenVerifierFromEnv(process.env);

export const handler = authorizerHandler({ verify: (token) => verifier.verify(token) });
