/**
 * `npm start`: the whole service on this machine. Starts the embedded DynamoDB (dynalite, data in
 * `.dynamodb/`) unless AWS_ENDPOINT_URL_DYNAMODB points at another one, creates missing tables,
 * seeds the request-chat service and an availability notification for gms_builtin, starts the local
 * identity provider (cognito-local behind a filtering proxy, data in `.dynamodb/cognito/`) with the
 * local users and writes their agent profiles, starts routing's queue (local-aws-sqs, in memory),
 * then runs `serverless offline start` on the exact GMS paths and feeds the queue's tasks to the
 * router function (scripts/local/sqs.ts). Ctrl-C stops all of it.
 *
 * Environment: PORT (8080), WEBSOCKET_PORT (3001: the WebSocket API and its Management API),
 * DYNAMODB_PORT (8000), SQS_PORT (9324), GMS_ADMIN_API_KEY (else a random key kept in the data
 * folder), IDENTITY_PORT (9229), GMS_DEV_USERS (username:password:role[@endpoint|endpoint][/maxChats][+endpoint:<name>],...
 * else DEFAULT_DEV_USERS), GMS_SEED_AVAILABILITY=false (no availability seed), GMS_DATA_DIR
 * (.dynamodb), STAGE (dev).
 */
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { seedDefaults } from "../lib/config/defaults.ts";
import { migrateLayouts } from "../lib/dynamo/migrations.ts";
import { dynamoStores } from "../lib/dynamo/stores.ts";
import { DEFAULT_DEV_USERS, parseDevUsers, startIdentity } from "./local/identity.ts";
import { killGroup, spawnOffline } from "./local/processes.ts";
import { invokeOverSocket, startLocalSqs, startRouterFeed } from "./local/sqs.ts";
import {
  ensureTables,
  LOCAL_AWS_ENV,
  type LocalDynamo,
  localAdminKey,
  stageTableNames,
  startDynalite,
  toolingDocumentClient,
} from "./local/stack.ts";
import { startWebSocketGate } from "./local/websocket.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const env = process.env;
const port = env.PORT ?? "8080";
const websocketPort = env.WEBSOCKET_PORT ?? "3001";
const stage = env.STAGE ?? "dev";

function log(message: string) {
  process.stdout.write(`[gms-chat] ${message}\n`);
}

async function main() {
  // A malformed user list stops the start before anything runs.
  const devUsers = parseDevUsers(env.GMS_DEV_USERS || DEFAULT_DEV_USERS);
  let dynamo: LocalDynamo | undefined;
  let endpoint = env.AWS_ENDPOINT_URL_DYNAMODB;
  const dataDir = env.GMS_DATA_DIR ?? ".dynamodb";
  if (endpoint) {
    log(`using DynamoDB at ${endpoint}`);
  } else {
    dynamo = await startDynalite({ port: Number(env.DYNAMODB_PORT ?? 8000), path: dataDir });
    endpoint = dynamo.endpoint;
    log(`embedded DynamoDB (dynalite) on ${endpoint}, data in ${dataDir}/`);
  }

  // What the functions need to reach the local DynamoDB: its endpoint, and a region and dummy
  // credentials unless the shell provides its own.
  const awsEnv: Record<string, string> = { AWS_ENDPOINT_URL_DYNAMODB: endpoint };
  for (const [key, value] of Object.entries(LOCAL_AWS_ENV)) awsEnv[key] = env[key] || value;
  const client = toolingDocumentClient(endpoint);
  const tables = stageTableNames(stage);
  const created = await ensureTables(client, tables);
  if (created.length > 0) log(`created tables ${created.join(", ")}`);
  const seedAvailability = env.GMS_SEED_AVAILABILITY !== "false";
  const stores = dynamoStores(client, tables);
  const configStore = stores.config;
  // Data kept from an older version moves to the current layouts (lib/dynamo/migrations.ts).
  const moved = await migrateLayouts(client, tables, stores, new Date());
  if (moved.services + moved.notifications + moved.presenceDropped > 0) {
    log(
      `moved ${moved.services} services and ${moved.notifications} availability notifications to the current config layout` +
        (moved.presenceDropped > 0 ? `; ${moved.presenceDropped} agents' presence was dropped (consoles renew it within 20 s)` : ""),
    );
  }
  if (moved.waitingChats > 0) log(`moved ${moved.waitingChats} waiting chats from the queue index to their endpoints' queues`);
  if (moved.unreadable > 0) {
    log(`left ${moved.unreadable} items of the older config layout that it could not read in ${tables.config} (pk = "config")`);
  }
  const seeded = await seedDefaults(configStore, { availability: seedAvailability, now: new Date() });
  if (seeded.serviceCreated) log("seeded the request-chat service (_ttl 3600, _chat_endpoint gms_builtin)");
  if (seeded.availabilityCreated) log("seeded an availability notification for gms_builtin (GMS_SEED_AVAILABILITY=false to skip)");
  // The local users' agent profiles, as GMS_DEV_USERS says (the admin API changes them until the next start).
  const updatedAt = new Date().toISOString();
  const profiled = devUsers.filter((user) => user.profile !== undefined);
  await Promise.all(
    profiled.map(({ username, profile }) =>
      stores.agents.putProfile({ agentId: username, endpoints: profile?.endpoints ?? [], maxChats: profile?.maxChats ?? 1, updatedAt }),
    ),
  );
  if (profiled.length > 0) {
    log(
      `agent profiles: ${profiled.map(({ username, profile }) => `${username} on ${profile?.endpoints.join(", ")}, ${profile?.maxChats} at once`).join("; ")}`,
    );
  }
  client.destroy();

  const sqs = await startLocalSqs({ port: Number(env.SQS_PORT ?? 9324) });
  log(`routing's queue (local-aws-sqs) on ${sqs.endpoint}: ${sqs.queueUrl}`);

  let adminKey = env.GMS_ADMIN_API_KEY;
  if (!adminKey) {
    const made = await localAdminKey(dataDir);
    adminKey = made.key;
    log(`${made.created ? "made" : "kept"} the admin API key (x-api-key, machine callers) in ${made.file}: ${adminKey}`);
  }

  const identity = await startIdentity({
    port: Number(env.IDENTITY_PORT ?? 9229),
    dataDir: join(dataDir, "cognito"),
    stage,
    users: devUsers,
    allowedOrigins: [`http://localhost:${port}`, `http://127.0.0.1:${port}`],
  });
  log(`identity provider (cognito-local) on ${identity.endpoint}, data in ${join(dataDir, "cognito")}/`);
  log(`user pool ${identity.userPoolId} (region ${identity.region}), app client ${identity.clientId}, issuer ${identity.issuer}`);
  log(
    `local users (this machine only): ${identity.users.map((user) => `${user.username} / ${user.password} (${user.groups.join(", ")}${user.temporary ? ", temporary password" : ""})`).join(", ")}`,
  );
  // serverless-offline hands a function only AWS_* variables and those serverless.yml declares:
  // these reach the functions once it declares them.
  const identityEnv = {
    IDENTITY_REGION: identity.region,
    IDENTITY_USER_POOL_ID: identity.userPoolId,
    IDENTITY_CLIENT_ID: identity.clientId,
    IDENTITY_ENDPOINT: identity.endpoint,
    IDENTITY_ISSUER: identity.issuer,
    IDENTITY_JWKS_URI: identity.jwksUri,
  };

  // The WebSocket API: clients connect, and functions post frames (with this run's secret), to the
  // stack's WebSocket port, whose door (scripts/local/websocket.ts) passes them to serverless-offline.
  const pushEnv = {
    PUSH_MANAGEMENT_URL: `http://localhost:${websocketPort}`,
    PUSH_URL: `ws://localhost:${websocketPort}`,
    PUSH_MANAGEMENT_SECRET: randomBytes(32).toString("base64url"),
  };
  const pageOrigins = env.CORS_ALLOWED_ORIGINS || `http://localhost:${port},http://127.0.0.1:${port}`;
  const buildFolder = env.GMS_BUILD_FOLDER ?? `.esbuild/local-${port}`;
  const offline = spawnOffline(
    root,
    port,
    {
      ...env,
      ...awsEnv,
      ...identityEnv,
      ...pushEnv,
      // Browsers on other sites may not call the local API unless the developer names them: a page the
      // developer happens to visit must not use a token, or read a transcript, through this machine.
      CORS_ALLOWED_ORIGINS: pageOrigins,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      ROUTING_QUEUE_URL: sqs.queueUrl,
      GMS_ADMIN_API_KEY: adminKey,
      GMS_BUILD_FOLDER: buildFolder,
    },
    ["--stage", stage],
  );
  const gate = await startWebSocketGate({
    port: Number(websocketPort),
    upstreamSocket: offline.websocketSocket,
    secret: pushEnv.PUSH_MANAGEMENT_SECRET,
    // The stack's own pages always; any others the developer named.
    allowedOrigins: [`http://localhost:${port}`, `http://127.0.0.1:${port}`, ...pageOrigins.split(",").map((origin) => origin.trim())],
  }).catch((error: unknown) => {
    killGroup(offline, "SIGKILL");
    throw error;
  });
  // Lambda's event source mapping for the router function, once the functions are served.
  let feed: { stop(): Promise<void> } | undefined;
  const startFeed = () => {
    feed ??= startRouterFeed({
      endpoint: sqs.endpoint,
      queueUrl: sqs.queueUrl,
      invoke: invokeOverSocket(offline.invokeSocket, `gms-chat-${stage}-router`),
      log,
    });
  };
  // serverless-offline prints "Server ready" on stderr; pass both streams through and announce it.
  for (const [stream, sink] of [
    [offline.stdout, process.stdout],
    [offline.stderr, process.stderr],
  ] as const) {
    stream.on("data", (chunk: Buffer) => {
      sink.write(chunk);
      if (chunk.toString().includes("Server ready")) {
        startFeed();
        log(`ready: curl -s -X POST http://localhost:${port}/genesys/1/service/request-chat -d firstName=Anna`);
        log(`customer chat widget: http://localhost:${port}/chat/  agent console: http://localhost:${port}/agent/`);
        log(`push (WebSocket API): ${pushEnv.PUSH_URL}`);
      }
    });
  }

  const signalGroup = (signal: NodeJS.Signals) => killGroup(offline, signal);
  const offlineExited = new Promise<number>((resolve) => offline.once("exit", (code) => resolve(code ?? 0)));
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await feed?.stop();
    signalGroup("SIGINT");
    const killer = setTimeout(() => signalGroup("SIGKILL"), 5000);
    await offlineExited;
    clearTimeout(killer);
    signalGroup("SIGKILL");
    await gate.close();
    await sqs.close();
    await identity.close();
    await dynamo?.close();
    await rm(join(root, buildFolder), { recursive: true, force: true });
    process.exit(code);
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void stop(0));
  // npm does not pass a SIGTERM sent to it (by `timeout`, a supervisor, an IDE) on to its script:
  // stop when the process that started us is gone.
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && void stop(0), 500).unref();
  // Last resort if this process dies some other way: never leave the offline server running.
  process.on("exit", () => {
    signalGroup("SIGKILL");
    identity.kill();
  });
  void offlineExited.then((code) => stop(code));
  void identity.exited.then((code) => {
    if (stopping) return;
    log(`the identity provider exited (${code}); stopping`);
    void stop(1);
  });
}

main().catch((error: unknown) => {
  console.error(`[gms-chat] failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
