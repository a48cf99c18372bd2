import { authorizerHandler } from "../lib/http/authorizer.ts";
import { apiKeyValue } from "../lib/identity/api-key.ts";
import { tokenVerifierFromEnv } from "../lib/identity/tokens.ts";

/**
 * The admin API's authorizer (serverless.yml): an admin's access token, or the stage's API key for
 * machine callers, whose value is read once per instance (lib/identity/api-key.ts).
 */
const verifier = tokenVerifierFromEnv(process.env);

export const handler = authorizerHandler({ verify: (token) => verifier.verify(token), apiKey: apiKeyValue(process.env) });
