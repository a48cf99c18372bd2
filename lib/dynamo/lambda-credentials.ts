/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundles (esbuild `alias` in
 * serverless.yml). Lambda hands a function its role's credentials in environment variables, so the
 * default chain's other providers (SSO, profiles, web identity, container and instance metadata,
 * and the STS and SSO clients behind them) are never used there: about 100 KB of bundle that every
 * cold start would load for nothing. `npm start` sets the same variables for the local stack.
 */
import { fromEnv } from "@aws-sdk/credential-provider-env";
import { doesIdentityRequireRefresh, isIdentityExpired, memoizeIdentityProvider } from "@smithy/core";

/** Memoized like the chain it replaces (the SDK does not memoize a default provider itself). */
export const defaultProvider = (init?: Parameters<typeof fromEnv>[0]) =>
  memoizeIdentityProvider(fromEnv(init), isIdentityExpired, doesIdentityRequireRefresh);
