import { InvalidInputError } from "../errors.ts";
import { epochSeconds } from "../time.ts";
import type { AgentStore } from "./store.ts";

/**
 * Sign-out that ends API access (decision). An access token is checked by its signature alone, so
 * revoking the refresh token at the identity provider leaves the access tokens already issued
 * working until they expire. Every access token refreshed from one sign-in carries that sign-in's
 * id (`origin_jti`, its family): sign-out remembers the family, and the authorizers and the push
 * function refuse its tokens (lib/http/authorizer.ts `authorizeToken`) from the first time they see
 * one after it; API Gateway keeps an authorizer's verdict for its TTL (300 s), which bounds how long
 * a token seen before the sign-out still opens the API.
 */

/**
 * How long an ended sign-in is remembered: the longest an access token can live in any pool
 * (Cognito's maximum, one day), so that every token issued before the sign-out has expired by then.
 */
export const SIGNED_OUT_SECONDS = 24 * 3600;

/** Ends the sign-in `family` (the caller's token's), for every token of it. */
export async function signOut(
  deps: { readonly agents: Pick<AgentStore, "signOut">; readonly now: () => Date },
  family: string,
): Promise<void> {
  if (family === "") throw new InvalidInputError("This token names no sign-in to end (no origin_jti): it lapses when it expires");
  await deps.agents.signOut(family, epochSeconds(deps.now()) + SIGNED_OUT_SECONDS);
}

/**
 * The check the authorizers and the push function make of a token's family: ended, and remembered
 * still (TTL removes the record within days of its time, so the time decides, not its presence).
 */
export function signedOutCheck(deps: { readonly agents: Pick<AgentStore, "signedOutUntil">; readonly now: () => Date }) {
  return async (family: string) => ((await deps.agents.signedOutUntil(family)) ?? 0) > epochSeconds(deps.now());
}
