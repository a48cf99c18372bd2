import { tokenChecks } from "../lib/authorizer-runtime.ts";
import { authorizerHandler } from "../lib/http/authorizer.ts";
import { apiKeyValue } from "../lib/identity/api-key.ts";

/**
 * The admin API's authorizer (serverless.yml): an admin's access token of a sign-in that has not
 * ended, or the stage's API key for machine callers, whose value is read once per instance
 * (lib/identity/api-key.ts).
 */
export const handler = authorizerHandler({ ...tokenChecks, apiKey: apiKeyValue(process.env) });
