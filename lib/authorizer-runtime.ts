import { signedOutCheck } from "./agents/sign-out.ts";
import { DynamoAgentStore } from "./dynamo/agent-store.ts";
import { createDocumentClient } from "./dynamo/client.ts";
import { tableNamesFromEnv } from "./dynamo/tables.ts";
import type { AuthorizerDeps } from "./http/authorizer.ts";
import { tokenVerifierFromEnv } from "./identity/tokens.ts";

/**
 * The authorizers' wiring (handlers/authorizer.ts, handlers/admin-authorizer.ts), built once per
 * instance: the pool's token verifier (its signing keys fetched once and cached) and the check of
 * ended sign-ins on the config table, without the rest of the service's stores.
 */
const verifier = tokenVerifierFromEnv(process.env);
const agents = new DynamoAgentStore(createDocumentClient(), tableNamesFromEnv().config);

export const tokenChecks: Pick<AuthorizerDeps, "verify" | "signedOut" | "uncached"> = {
  verify: (token) => verifier.verify(token),
  signedOut: signedOutCheck({ agents, now: () => new Date() }),
  uncached: process.env.AUTHORIZER_UNCACHED === "true",
};
