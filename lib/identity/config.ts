/**
 * Where the agents' tokens come from: the issuer they name (`iss`), the address of its signing keys
 * (JWKS), and the app client they were issued to. Against Amazon Cognito the issuer is
 * `https://cognito-idp.<region>.amazonaws.com/<poolId>` and its keys are at
 * `<issuer>/.well-known/jwks.json`; a local emulator has its own of both (e.g.
 * `http://127.0.0.1:9229/<poolId>`), so all three are configuration rather than derived from a
 * pool id. This module is pure: the package-time check of the stage settings runs it too.
 */
export interface IdentityConfig {
  readonly issuer: string;
  readonly jwksUri: string;
  readonly clientId: string;
}

export const IDENTITY_SETTINGS = ["IDENTITY_ISSUER", "IDENTITY_JWKS_URI", "IDENTITY_CLIENT_ID"] as const;

/** Cognito's own bound on an app client id (its API documents `[\w+]+`, up to 128 characters). */
const CLIENT_ID = /^[\w+]{1,128}$/;
/** Plain HTTP only to this machine: a key set fetched over the network without TLS could be anyone's. */
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

function address(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${name} must be an absolute https:// URL, e.g. https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123`);
  }
  const local = url.protocol === "http:" && LOOPBACK.has(url.hostname);
  if (url.protocol !== "https:" && !local)
    throw new Error(`${name} must use https:// (plain http:// only on 127.0.0.1, localhost or [::1])`);
  if (url.username || url.password || url.search || url.hash) throw new Error(`${name} must have no credentials, query or fragment`);
  return value;
}

/**
 * The identity configuration of a function's environment: undefined when none of the three
 * settings is given (the stage has no sign-in yet); otherwise all three, well formed, or an error
 * naming the setting that is not.
 */
export function identityConfigFromEnv(env: Readonly<Record<string, string | undefined>>): IdentityConfig | undefined {
  const given = IDENTITY_SETTINGS.filter((name) => (env[name] ?? "") !== "");
  if (given.length === 0) return undefined;
  const missing = IDENTITY_SETTINGS.filter((name) => !given.includes(name));
  if (missing.length > 0) throw new Error(`${missing.join(" and ")} must be set with ${given.join(" and ")} (or none of them)`);
  const issuer = address("IDENTITY_ISSUER", env.IDENTITY_ISSUER ?? "");
  // Tokens carry the issuer exactly, and Cognito's has no trailing slash: one here would refuse them all.
  if (issuer.endsWith("/")) throw new Error("IDENTITY_ISSUER must not end with /: it is compared with each token's iss exactly");
  const jwksUri = address("IDENTITY_JWKS_URI", env.IDENTITY_JWKS_URI ?? "");
  const clientId = env.IDENTITY_CLIENT_ID ?? "";
  if (!CLIENT_ID.test(clientId)) throw new Error("IDENTITY_CLIENT_ID must be an app client id: letters, digits, _ or +, at most 128");
  return { issuer, jwksUri, clientId };
}

/** The messages of a malformed identity configuration (none when it is well formed or absent). */
export function identitySettingProblems(env: Readonly<Record<string, string | undefined>>): string[] {
  try {
    identityConfigFromEnv(env);
    return [];
  } catch (error) {
    return [error instanceof Error ? error.message : String(error)];
  }
}
