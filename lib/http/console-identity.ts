/**
 * Where the agent console signs agents in: the user pool's region and id, the console's app client,
 * and (only where it is not Amazon Cognito itself, e.g. `npm start`'s local identity provider) the
 * endpoint that speaks Cognito's JSON protocol. The `web` function reads them from its environment
 * (CONSOLE_IDENTITY_REGION, CONSOLE_USER_POOL_ID, CONSOLE_CLIENT_ID, CONSOLE_IDENTITY_ENDPOINT),
 * serves them to the console (`GET /agent/config.json`) and names the endpoint's origin, and no
 * other, in the console's Content-Security-Policy. Pure: the package-time check of the stage
 * settings (lib/http/settings.ts) runs the per-setting parsers too.
 */
export interface ConsoleIdentity {
  readonly region: string;
  readonly userPoolId: string;
  readonly clientId: string;
  /** The identity provider's URL when it is not `https://cognito-idp.<region>.amazonaws.com/`. */
  readonly endpoint?: string;
}

export const CONSOLE_IDENTITY_SETTINGS = [
  "CONSOLE_IDENTITY_REGION",
  "CONSOLE_USER_POOL_ID",
  "CONSOLE_CLIENT_ID",
  "CONSOLE_IDENTITY_ENDPOINT",
] as const;

/** An AWS region (`eu-west-1`), or an emulator's name for its own (`local`): nothing a host name cannot hold. */
const REGION = /^[a-z]{2,16}(?:-[a-z]{1,16}){0,3}(?:-\d{1,2})?$/;
/** A pool id: `<region>_<letters and digits>` (an emulator's may hold `_` and `-` too). */
const USER_POOL_ID = /^[a-z0-9-]{2,50}_[\w-]{1,40}$/;
/** Cognito's bound on an app client id. */
const CLIENT_ID = /^[\w+]{1,128}$/;
/** Plain HTTP only to this machine: a password sent over the network without TLS is anyone's. */
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

function checked(name: string, form: RegExp, example: string) {
  return (value: string | undefined): string | undefined => {
    if (value === undefined || value === "") return undefined;
    if (!form.test(value)) throw new Error(`${name} must look like ${example}, not ${JSON.stringify(value)}`);
    return value;
  };
}

export const consoleRegion = checked("CONSOLE_IDENTITY_REGION", REGION, "eu-west-1");
export const consoleUserPoolId = checked("CONSOLE_USER_POOL_ID", USER_POOL_ID, "eu-west-1_AbC123");
export const consoleClientId = checked("CONSOLE_CLIENT_ID", CLIENT_ID, "1example23456789abcdefghij");

/**
 * CONSOLE_IDENTITY_ENDPOINT: an origin (scheme, host, port), https, or http on this machine only,
 * written as browsers write it, because the CSP names it as it is.
 */
export function consoleIdentityEndpoint(value: string | undefined): string | undefined {
  if (value === undefined || value === "") return undefined;
  const problem = `CONSOLE_IDENTITY_ENDPOINT must be an origin like https://idp.example.com or http://127.0.0.1:9229, not ${JSON.stringify(value)}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(problem);
  }
  const local = url.protocol === "http:" && LOOPBACK.has(url.hostname);
  if ((url.protocol !== "https:" && !local) || url.origin !== value) throw new Error(problem);
  return value;
}

/**
 * The console's identity settings of a function's environment, all checked: the region, the pool
 * and the client are required, and the pool must be in the region. Throws naming what is wrong.
 */
export function consoleIdentityFromEnv(env: Readonly<Record<string, string | undefined>>): ConsoleIdentity {
  const region = consoleRegion(env.CONSOLE_IDENTITY_REGION);
  const userPoolId = consoleUserPoolId(env.CONSOLE_USER_POOL_ID);
  const clientId = consoleClientId(env.CONSOLE_CLIENT_ID);
  const endpoint = consoleIdentityEndpoint(env.CONSOLE_IDENTITY_ENDPOINT);
  if (region === undefined || userPoolId === undefined || clientId === undefined)
    throw new Error("CONSOLE_IDENTITY_REGION, CONSOLE_USER_POOL_ID and CONSOLE_CLIENT_ID must all be set: the console signs in with them");
  if (!userPoolId.startsWith(`${region}_`)) throw new Error(`CONSOLE_USER_POOL_ID ${userPoolId} is not a pool of ${region}`);
  return endpoint === undefined ? { region, userPoolId, clientId } : { region, userPoolId, clientId, endpoint };
}

/** The origin the console sends passwords and tokens to: the only one besides its own it may reach. */
export function identityOrigin(identity: ConsoleIdentity): string {
  return identity.endpoint ?? `https://cognito-idp.${identity.region}.amazonaws.com`;
}
