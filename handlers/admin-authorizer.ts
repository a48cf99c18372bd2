import { authorizerHandler } from "../lib/http/authorizer.ts";
import { apiKeyValue } from "../lib/identity/api-key.ts";
import { identityConfigFromEnv } from "../lib/identity/config.ts";
import { createTokenVerifier } from "../lib/identity/tokens.ts";

/**
 * The admin API's authorizer (serverless.yml): an admin's access token, or the stage's API key for
 * machine callers, whose value is read once per instance (lib/identity/api-key.ts).
 */
const config = identityConfigFromEnv(process.env);
if (config === undefined) throw new Error("IDENTITY_ISSUER, IDENTITY_JWKS_URI and IDENTITY_CLIENT_ID must be set for the authorizer");
const verifier = createTokenVerifier(config);

export const handler = authorizerHandler({ verify: (token) => verifier.verify(token), apiKey: apiKeyValue(process.env) });
