import { authorizerHandler } from "../lib/http/authorizer.ts";
import { identityConfigFromEnv } from "../lib/identity/config.ts";
import { createTokenVerifier } from "../lib/identity/tokens.ts";

/**
 * The agent API's authorizer (serverless.yml): access tokens of the agents' user pool only. Built
 * once per instance, so the pool's signing keys are fetched once and cached.
 */
const config = identityConfigFromEnv(process.env);
if (config === undefined) throw new Error("IDENTITY_ISSUER, IDENTITY_JWKS_URI and IDENTITY_CLIENT_ID must be set for the authorizer");
const verifier = createTokenVerifier(config);

export const handler = authorizerHandler({ verify: (token) => verifier.verify(token) });
