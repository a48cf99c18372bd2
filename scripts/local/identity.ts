import { type ChildProcess, spawn } from "node:child_process";
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isProfile } from "../../lib/agents/profile.ts";
import { isChatEndpoint } from "../../lib/config/services.ts";
import { ENDPOINT_GROUP } from "../../lib/http/caller.ts";
import { killGroup, watchOutput } from "./processes.ts";

/**
 * The local identity provider of `npm start`: the cognito-local emulator, which speaks Cognito's
 * JSON protocol, provisioned with one user pool, its groups, one app client and the local users.
 *
 * The emulator itself answers every operation (admin ones included, with no credentials) to any web
 * origin, and a TCP port on localhost is reachable from every page the developer opens. So it
 * listens on a Unix socket in a folder only this user can open, where the provisioning talks to it;
 * browsers reach it through a small proxy on TCP that passes only what a console's sign-in needs.
 *
 * The emulator signs its tokens with a private key published in its npm package: anyone could mint
 * an admin's token with it. So the proxy signs the tokens it passes on again, with a key of this data
 * folder's own (generated at the first start, kept beside the data with mode 0600), and serves only
 * that key's JWKS: the API, which fetches its keys there, accepts no token the emulator's key signed.
 */

const EMULATOR_BIN = fileURLToPath(new URL("../../node_modules/cognito-local/lib/bin/start.js", import.meta.url));

export const IDENTITY_GROUPS = ["admin", "supervisor", "agent"] as const;
export type IdentityGroup = (typeof IDENTITY_GROUPS)[number];

export interface DevUser {
  readonly username: string;
  readonly password: string;
  /** Its role (one of IDENTITY_GROUPS) first, then any `endpoint:<chat endpoint>` groups a supervisor oversees. */
  readonly groups: readonly string[];
  /** Created with a temporary password: the first sign-in answers NEW_PASSWORD_REQUIRED. */
  readonly temporary: boolean;
  /** Its agent profile (lib/agents/profile.ts), written at every start; none for an admin that names none. */
  readonly profile?: { readonly endpoints: readonly string[]; readonly maxChats: number };
}

/**
 * `GMS_DEV_USERS` when unset: an admin, a supervisor of the default service's endpoint and two
 * agents. These passwords are for this machine only (they are in the source); each meets Cognito's
 * default policy (8+ characters with upper and lower case, a digit and a symbol) so that the same
 * sign-in code works deployed.
 */
export const DEFAULT_DEV_USERS =
  "admin:Admin-local-1:admin,sam:Sam-local-1:supervisor+endpoint:gms_builtin,anna:Anna-local-1:agent/3,ben:Ben-local-1:agent/3";

/** The endpoint of the service `npm start` seeds: where agents serve unless their entry names others. */
const DEFAULT_ENDPOINT = "gms_builtin";
/** A role, then optionally `@` and the endpoints its agent profile serves (separated by `|`), then `/` and its maxChats. */
const ROLE = /^([a-z]+)(?:@([^/]+))?(?:\/(\d{1,2}))?$/;

/** A group that names an endpoint a supervisor oversees (lib/http/caller.ts). */
const isEndpointGroup = (group: string) => group.startsWith(ENDPOINT_GROUP) && isChatEndpoint(group.slice(ENDPOINT_GROUP.length));

/**
 * Parses `GMS_DEV_USERS`: comma-separated `username:password:groups` entries, each optionally
 * followed by `:temporary`; `groups` is one role, then any `+endpoint:<chat endpoint>`. The role may
 * carry the user's agent profile: `agent@sales|support/3` serves sales and support, 3 chats at once.
 * Agents and supervisors without one serve gms_builtin, one chat at a time; admins serve nothing
 * unless they name endpoints. Throws with the offending entry on anything else.
 */
export function parseDevUsers(text: string): DevUser[] {
  const users: DevUser[] = [];
  for (const entry of text.split(",")) {
    const [username = "", password = "", ...rest] = entry.trim().split(":");
    const temporary = rest.length > 1 && rest.at(-1) === "temporary";
    const groups = (temporary ? rest.slice(0, -1) : rest).join(":").split("+");
    const [roleSpec = "", ...endpoints] = groups;
    const [, role = roleSpec, served, maxChats] = ROLE.exec(roleSpec) ?? [];
    const profile =
      role === "admin" && served === undefined && maxChats === undefined
        ? undefined
        : { endpoints: (served ?? DEFAULT_ENDPOINT).split("|"), maxChats: Number(maxChats ?? 1) };
    const badProfile = profile !== undefined && !isProfile(profile);
    const stray = endpoints.find((group) => !isEndpointGroup(group));
    const problem =
      rest.length === 0
        ? "is not username:password:group (optionally :temporary)"
        : !/^[\w.@+-]+$/.test(username)
          ? "needs a user name of letters, digits and . _ @ + -"
          : password === ""
            ? "has an empty password"
            : !(IDENTITY_GROUPS as readonly string[]).includes(role)
              ? `names the role "${role}"; the roles are ${IDENTITY_GROUPS.join(", ")} (then :temporary or +endpoint:<chat endpoint>)`
              : badProfile
                ? "names an agent profile that is not role@endpoint|endpoint/maxChats (1-20 chat endpoints, maxChats 1-10)"
                : stray !== undefined
                  ? `names the group "${stray}"; after the role come only endpoint:<chat endpoint> groups`
                  : users.some((user) => user.username === username)
                    ? "repeats a user name"
                    : undefined;
    if (problem !== undefined) throw new Error(`GMS_DEV_USERS: the entry "${entry.trim()}" ${problem}`);
    users.push({ username, password, groups: [role, ...endpoints], temporary, ...(profile === undefined ? {} : { profile }) });
  }
  return users;
}

export interface LocalIdentity {
  /** Where browsers and tools send Cognito's JSON protocol: the filtering proxy. */
  readonly endpoint: string;
  readonly port: number;
  readonly region: string;
  readonly userPoolId: string;
  readonly clientId: string;
  /** The `iss` claim of the tokens, exactly. */
  readonly issuer: string;
  readonly jwksUri: string;
  readonly users: readonly DevUser[];
  /** Settles when the emulator exits, with its exit code. */
  readonly exited: Promise<number>;
  close(): Promise<void>;
  /** Last resort when the calling process exits: kills the emulator without waiting. */
  kill(): void;
}

export interface IdentityOptions {
  /** TCP port of the proxy on 127.0.0.1; 0 picks a free one. */
  readonly port: number;
  /** The emulator's data (pools, clients, users): kept across restarts. */
  readonly dataDir: string;
  readonly stage: string;
  readonly users: readonly DevUser[];
  /** Web origins that may call the proxy (the API's own): CORS is answered for them only. */
  readonly allowedOrigins: readonly string[];
}

/** The operations a console's sign-in uses; everything else is refused on the browser-facing port. */
const CONSOLE_OPERATIONS = new Set(["InitiateAuth", "RespondToAuthChallenge", "RevokeToken"]);
const CONSOLE_AUTH_FLOWS = new Set(["USER_PASSWORD_AUTH", "REFRESH_TOKEN_AUTH"]);
const TARGET_PREFIX = "AWSCognitoIdentityProviderService.";
/** What the AWS SDK and amazon-cognito-identity-js send along with a JSON-protocol call. */
const ALLOWED_HEADERS = "content-type, x-amz-target, x-amz-user-agent, amz-sdk-invocation-id, amz-sdk-request, cache-control";
const MAX_BODY = 64 * 1024;

export async function startIdentity(options: IdentityOptions): Promise<LocalIdentity> {
  const socketFolder = mkdtempSync(join(tmpdir(), "gms-chat-identity-"));
  const socketPath = join(socketFolder, "cognito.sock");
  const pool = { id: "", clientId: "" };
  const allowed = new Set(options.allowedOrigins);
  const signer = signingKey(resolve(options.dataDir));

  const proxy = createServer((request, response) => {
    void serveBrowserFacing(request, response, { socketPath, pool, allowed, signer }).catch(() => {
      if (!response.headersSent) response.writeHead(502, { "content-type": "application/json" });
      response.end('{"message":"the local identity provider did not answer"}');
    });
  });
  proxy.listen(options.port, "127.0.0.1");
  let emulator: ChildProcess | undefined;
  const cleanUp = async () => {
    await new Promise<void>((resolveClose) => {
      proxy.close(() => resolveClose());
      proxy.closeAllConnections();
    });
    if (emulator !== undefined) await stopEmulator(emulator);
    rmSync(socketFolder, { recursive: true, force: true });
  };
  try {
    await Promise.race([once(proxy, "listening"), once(proxy, "error").then(([error]) => Promise.reject(error))]);
    const { port } = proxy.address() as AddressInfo;
    const origin = `http://127.0.0.1:${port}`;

    // cognito-local reads `.cognito/config.json` and keeps its data in `.cognito/db/`, both under its
    // working directory. The issuer domain is the proxy's address, where the JWKS is served too.
    const dataDir = resolve(options.dataDir);
    mkdirSync(join(dataDir, ".cognito"), { recursive: true, mode: 0o700 });
    writeFileSync(
      join(dataDir, ".cognito", "config.json"),
      JSON.stringify({
        UserPoolDefaults: { UsernameAttributes: [] },
        TokenConfig: { IssuerDomain: origin },
        ServerConfig: { port: socketPath, hostname: "127.0.0.1" },
      }),
    );
    emulator = spawn(process.execPath, [EMULATOR_BIN], {
      cwd: dataDir,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: "1", NO_COLOR: "1" },
    });
    const started = emulator;
    const exited = new Promise<number>((resolveExit) => started.once("exit", (code) => resolveExit(code ?? 1)));
    await watchOutput(started, "the identity provider (cognito-local)").until("Cognito Local running on", 30_000);
    // Its request log is of no use here; drain it so the pipes never fill.
    started.stdout?.removeAllListeners("data").resume();
    started.stderr?.removeAllListeners("data").resume();

    const cognito = (operation: string, body: object) => callEmulator(socketPath, operation, body);
    Object.assign(pool, await provision(cognito, options.stage, options.users));
    const issuer = `${origin}/${pool.id}`;
    return {
      endpoint: origin,
      port,
      region: pool.id.slice(0, pool.id.indexOf("_")),
      userPoolId: pool.id,
      clientId: pool.clientId,
      issuer,
      jwksUri: `${issuer}/.well-known/jwks.json`,
      users: options.users,
      exited,
      close: cleanUp,
      kill: () => killGroup(started),
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

async function stopEmulator(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  killGroup(child, "SIGTERM");
  const killer = setTimeout(() => killGroup(child, "SIGKILL"), 5000);
  await exited;
  clearTimeout(killer);
}

class CognitoError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(`${type}: ${message}`);
  }
}

type Cognito = (operation: string, body: object) => Promise<Record<string, unknown>>;

/** One JSON-protocol call straight to the emulator's socket. */
function callEmulator(socketPath: string, operation: string, body: object): Promise<Record<string, unknown>> {
  const payload = JSON.stringify(body);
  return new Promise((resolveCall, reject) => {
    const request = httpRequest(
      {
        socketPath,
        path: "/",
        method: "POST",
        headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": `${TARGET_PREFIX}${operation}` },
      },
      (response) => {
        let text = "";
        response.setEncoding("utf8").on("data", (chunk: string) => {
          text += chunk;
        });
        response.on("end", () => {
          const parsed = (text === "" ? {} : JSON.parse(text)) as Record<string, unknown>;
          if (response.statusCode === 200) return resolveCall(parsed);
          reject(new CognitoError(String(parsed.__type ?? response.statusCode), String(parsed.message ?? text)));
        });
      },
    );
    request.on("error", reject);
    request.end(payload);
  });
}

/**
 * Makes what does not exist yet and keeps what does, so a restart on the same data folder keeps
 * the pool and client ids and whatever users were added meanwhile. The listed users get their
 * listed password (unless temporary, which is only set at creation: the user may have changed it)
 * and exactly their listed groups.
 */
async function provision(cognito: Cognito, stage: string, users: readonly DevUser[]): Promise<{ id: string; clientId: string }> {
  const poolName = `gms-chat-${stage}`;
  const { UserPools = [] } = (await cognito("ListUserPools", { MaxResults: 60 })) as { UserPools?: { Id: string; Name: string }[] };
  let id = UserPools.find((candidate) => candidate.Name === poolName)?.Id;
  if (id === undefined) {
    const created = (await cognito("CreateUserPool", { PoolName: poolName })) as { UserPool: { Id: string } };
    id = created.UserPool.Id;
  }
  const clientName = `${poolName}-console`;
  const { UserPoolClients = [] } = (await cognito("ListUserPoolClients", { UserPoolId: id, MaxResults: 60 })) as {
    UserPoolClients?: { ClientId: string; ClientName: string }[];
  };
  let clientId = UserPoolClients.find((candidate) => candidate.ClientName === clientName)?.ClientId;
  if (clientId === undefined) {
    const created = (await cognito("CreateUserPoolClient", {
      UserPoolId: id,
      ClientName: clientName,
      GenerateSecret: false,
      ExplicitAuthFlows: ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
      EnableTokenRevocation: true,
    })) as { UserPoolClient: { ClientId: string } };
    clientId = created.UserPoolClient.ClientId;
  }
  for (const group of new Set([...IDENTITY_GROUPS, ...users.flatMap((user) => user.groups)])) {
    await ignoring("GroupExistsException", cognito("CreateGroup", { UserPoolId: id, GroupName: group }));
  }
  for (const user of users) {
    const key = { UserPoolId: id, Username: user.username };
    const created = await ignoring(
      "UsernameExistsException",
      cognito("AdminCreateUser", { ...key, TemporaryPassword: user.password, MessageAction: "SUPPRESS" }),
    );
    if (!user.temporary) await cognito("AdminSetUserPassword", { ...key, Password: user.password, Permanent: true });
    if (created === undefined) {
      const { Groups = [] } = (await cognito("AdminListGroupsForUser", key)) as { Groups?: { GroupName: string }[] };
      for (const { GroupName } of Groups) {
        if (!user.groups.includes(GroupName)) await cognito("AdminRemoveUserFromGroup", { ...key, GroupName });
      }
    }
    for (const GroupName of user.groups) await cognito("AdminAddUserToGroup", { ...key, GroupName });
  }
  return { id, clientId };
}

/** The key this data folder's tokens are signed with: its private half, its key id, and its JWKS. */
interface Signer {
  readonly privateKey: KeyObject;
  readonly kid: string;
  readonly jwks: string;
}

/** The data folder's signing key, generated (RSA 2048) and kept with mode 0600 at the first start. */
function signingKey(dataDir: string): Signer {
  const file = join(dataDir, "signing-key.pem");
  let pem: string;
  try {
    pem = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    pem = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    writeFileSync(file, pem, { mode: 0o600, flag: "wx" });
  }
  const privateKey = createPrivateKey(pem);
  const publicKey = createPublicKey(privateKey);
  const kid = createHash("sha256")
    .update(publicKey.export({ type: "spki", format: "der" }))
    .digest("base64url")
    .slice(0, 22);
  const jwks = JSON.stringify({ keys: [{ ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" }] });
  return { privateKey, kid, jwks };
}

/**
 * How long the tokens the proxy passes on last: the deployed pool's default (`accessTokenMinutes`
 * in serverless.yml), where the emulator's last a day. Sign-out revokes the refresh token; an access
 * token already issued lasts until it expires, so it must not last long.
 */
export const LOCAL_TOKEN_SECONDS = 30 * 60;

/**
 * A token of the emulator's, signed again with the data folder's key, its life cut to
 * LOCAL_TOKEN_SECONDS, and naming its sign-in as the deployed pool does (`origin_jti`, which
 * sign-out ends: lib/agents/sign-out.ts): the emulator puts none in, so the proxy names the
 * sign-in by its refresh token, the same for every token refreshed from it.
 */
function resign(token: string, signer: Signer, family: string | undefined): string {
  const [, encoded = ""] = token.split(".");
  const claims = JSON.parse(Buffer.from(encoded, "base64url").toString("utf8")) as Record<string, unknown>;
  const issued = typeof claims.iat === "number" ? claims.iat : Math.floor(Date.now() / 1000);
  if (typeof claims.exp === "number") claims.exp = Math.min(claims.exp, issued + LOCAL_TOKEN_SECONDS);
  if (family !== undefined) claims.origin_jti = family;
  const header = Buffer.from(JSON.stringify({ alg: "RS256", typ: "JWT", kid: signer.kid })).toString("base64url");
  const signed = `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  return `${signed}.${sign("sha256", Buffer.from(signed), signer.privateKey).toString("base64url")}`;
}

/** The sign-in a refresh token stands for: a digest of it, never the token itself. */
function familyOf(refreshToken: unknown): string | undefined {
  if (typeof refreshToken !== "string" || refreshToken === "") return undefined;
  return createHash("sha256").update(refreshToken).digest("base64url").slice(0, 32);
}

/**
 * An answer of the emulator's with its access and ID tokens signed again; anything else as it is.
 * `refreshToken`: the one a refresh was made with (a sign-in's answer carries its own).
 */
function resigned(body: Buffer, signer: Signer, refreshToken: unknown): Buffer {
  let answer: { AuthenticationResult?: Record<string, unknown> };
  try {
    answer = JSON.parse(body.toString("utf8")) as typeof answer;
  } catch {
    return body;
  }
  const result = answer.AuthenticationResult;
  if (result === undefined || result === null || typeof result !== "object") return body;
  const family = familyOf(refreshToken ?? result.RefreshToken);
  for (const field of ["AccessToken", "IdToken"]) {
    const token = result[field];
    if (typeof token === "string") result[field] = resign(token, signer, family);
  }
  // The console renews its tokens by ExpiresIn (the emulator sends none).
  if (typeof result.AccessToken === "string") {
    result.ExpiresIn = Math.min(typeof result.ExpiresIn === "number" ? result.ExpiresIn : LOCAL_TOKEN_SECONDS, LOCAL_TOKEN_SECONDS);
  }
  return Buffer.from(JSON.stringify(answer));
}

async function ignoring<T>(type: string, call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof CognitoError && error.type === type) return undefined;
    throw error;
  }
}

function refuse(response: ServerResponse, status: number, message: string, headers: Record<string, string> = {}) {
  response
    .writeHead(status, { "content-type": "application/json", ...headers })
    .end(JSON.stringify({ __type: "AccessDeniedException", message }));
}

/**
 * The browser-facing side: CORS for the API's own origins only, the console's sign-in operations
 * for this pool's client only, and the JWKS. A host name other than loopback (a page that rebinds
 * its own name to 127.0.0.1) is refused, as by the local DynamoDB.
 */
async function serveBrowserFacing(
  request: IncomingMessage,
  response: ServerResponse,
  context: { socketPath: string; pool: { id: string; clientId: string }; allowed: ReadonlySet<string>; signer: Signer },
): Promise<void> {
  const { origin } = request.headers;
  const host = (request.headers.host ?? "").replace(/:\d+$/, "");
  if (!["127.0.0.1", "localhost", "[::1]"].includes(host)) return refuse(response, 403, `a request for host ${host}`);
  if (origin !== undefined && !context.allowed.has(origin)) return refuse(response, 403, `a request from origin ${origin}`);
  const cors: Record<string, string> = origin === undefined ? {} : { "access-control-allow-origin": origin, vary: "Origin" };
  const path = (request.url ?? "/").split("?")[0];

  if (request.method === "OPTIONS") {
    if (origin === undefined || request.headers["access-control-request-method"] !== "POST")
      return refuse(response, 403, "not a preflight");
    response
      .writeHead(204, {
        ...cors,
        "access-control-allow-methods": "POST",
        "access-control-allow-headers": ALLOWED_HEADERS,
        "access-control-max-age": "600",
      })
      .end();
    return;
  }
  if (request.method === "GET" && context.pool.id !== "" && path === `/${context.pool.id}/.well-known/jwks.json`) {
    // The data folder's key only: never the emulator's published one.
    response.writeHead(200, { "content-type": "application/json", "cache-control": "no-store", ...cors }).end(context.signer.jwks);
    return;
  }
  if (request.method !== "POST" || path !== "/") return refuse(response, 404, "not served here", cors);

  const target = String(request.headers["x-amz-target"] ?? "");
  const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : "";
  if (!CONSOLE_OPERATIONS.has(operation)) return refuse(response, 403, `${operation || target} is not available here`, cors);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) return refuse(response, 413, "request too large", cors);
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks);
  let call: { ClientId?: unknown; AuthFlow?: unknown; AuthParameters?: { REFRESH_TOKEN?: unknown } };
  try {
    call = JSON.parse(body.toString("utf8")) as typeof call;
  } catch {
    return refuse(response, 400, "the body is not JSON", cors);
  }
  if (call?.ClientId !== context.pool.clientId) return refuse(response, 403, "unknown app client", cors);
  if (operation === "InitiateAuth" && !CONSOLE_AUTH_FLOWS.has(String(call.AuthFlow))) {
    return refuse(response, 403, `AuthFlow ${String(call.AuthFlow)} is not available here`, cors);
  }
  const refreshToken = call.AuthFlow === "REFRESH_TOKEN_AUTH" ? call.AuthParameters?.REFRESH_TOKEN : undefined;
  return forward(request, response, context.socketPath, cors, body, (answer) => resigned(answer, context.signer, refreshToken));
}

/**
 * A refused sign-in as the deployed pool answers it (PreventUserExistenceErrors): the emulator
 * says InvalidPasswordException for a known user and NotAuthorizedException for an unknown one,
 * which would tell a page which user names exist.
 */
function asDeployed(body: Buffer): Buffer | string {
  try {
    const error = JSON.parse(body.toString("utf8")) as { __type?: unknown };
    if (error.__type === "InvalidPasswordException" || error.__type === "UserNotFoundException") {
      // The emulator's own answer for a user who does not exist.
      return JSON.stringify({ __type: "NotAuthorizedException", message: "User not authorized" });
    }
  } catch {
    // Not JSON: passed on as it is.
  }
  return body;
}

/**
 * Passes a request on to the emulator with only the headers it needs, and its answer back with ours
 * and its tokens signed again with the data folder's key.
 */
function forward(
  request: IncomingMessage,
  response: ServerResponse,
  socketPath: string,
  cors: Record<string, string>,
  body: Buffer,
  resign: (answer: Buffer) => Buffer,
) {
  return new Promise<void>((resolveForward, reject) => {
    const upstream = httpRequest(
      {
        socketPath,
        path: request.url,
        method: request.method,
        headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": String(request.headers["x-amz-target"]) },
      },
      (answer) => {
        const headers = { "content-type": answer.headers["content-type"] ?? "application/json", "cache-control": "no-store", ...cors };
        const chunks: Buffer[] = [];
        answer.on("data", (chunk: Buffer) => chunks.push(chunk));
        answer.on("error", reject);
        answer.on("end", () => {
          const text = Buffer.concat(chunks);
          const status = answer.statusCode ?? 502;
          response.writeHead(status, headers).end(status === 200 ? resign(text) : asDeployed(text));
          resolveForward();
        });
      },
    );
    upstream.on("error", reject);
    upstream.end(body);
  });
}
