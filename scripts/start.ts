/**
 * `npm start`: the whole service on this machine. Starts the embedded DynamoDB (dynalite, data in
 * `.dynamodb/`) unless AWS_ENDPOINT_URL_DYNAMODB points at another one, creates missing tables,
 * seeds the request-chat service and an availability notification for gms_builtin, then runs
 * `serverless offline start` on the exact GMS paths. Ctrl-C stops all of it.
 *
 * Environment: PORT (8080), DYNAMODB_PORT (8000), LAMBDA_PORT (3002), GMS_ADMIN_API_KEY,
 * GMS_SEED_AVAILABILITY=false (no availability seed), GMS_DATA_DIR (.dynamodb), STAGE (dev).
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { DynamoConfigStore } from "../lib/dynamo/config-store.ts";
import { seedDefaults } from "../lib/seed.ts";
import { ensureTables, LOCAL_AWS_ENV, localDocumentClient, stageTableNames, startDynalite, type LocalDynamo } from "./local/dynamodb.ts";

/** The admin key `npm start` uses when GMS_ADMIN_API_KEY is unset (API Gateway keys need 20+ characters). */
export const DEFAULT_LOCAL_ADMIN_KEY = "local-gms-admin-key-change-me";

const root = fileURLToPath(new URL("..", import.meta.url));
const env = process.env;
const port = env.PORT ?? "8080";
const lambdaPort = env.LAMBDA_PORT ?? "3002";
const stage = env.STAGE ?? "dev";

function log(message: string) {
  process.stdout.write(`[gms-chat] ${message}\n`);
}

async function main() {
  let dynamo: LocalDynamo | undefined;
  let endpoint = env.AWS_ENDPOINT_URL_DYNAMODB;
  if (endpoint) {
    log(`using DynamoDB at ${endpoint}`);
  } else {
    const dataDir = env.GMS_DATA_DIR ?? ".dynamodb";
    dynamo = await startDynalite({ port: Number(env.DYNAMODB_PORT ?? 8000), path: dataDir });
    endpoint = `http://localhost:${dynamo.port}`;
    log(`embedded DynamoDB (dynalite) on ${endpoint}, data in ${dataDir}/`);
  }

  const awsEnv = {
    ...LOCAL_AWS_ENV,
    ...Object.fromEntries(Object.keys(LOCAL_AWS_ENV).filter((key) => env[key]).map((key) => [key, env[key]])),
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
  };
  Object.assign(process.env, awsEnv);
  const client = localDocumentClient(endpoint);
  const tables = stageTableNames(stage);
  const created = await ensureTables(client, tables);
  if (created.length > 0) log(`created tables ${created.join(", ")}`);
  const seedAvailability = env.GMS_SEED_AVAILABILITY !== "false";
  const seeded = await seedDefaults(new DynamoConfigStore(client, tables.config), { availability: seedAvailability, now: new Date() });
  if (seeded.serviceCreated) log("seeded the request-chat service (_ttl 3600, _chat_endpoint gms_builtin)");
  if (seeded.availabilityCreated) log("seeded an availability notification for gms_builtin (GMS_SEED_AVAILABILITY=false to skip)");
  client.destroy();

  const offline = spawn(
    process.execPath,
    [
      `${root}node_modules/serverless/bin/serverless.js`,
      "offline",
      "start",
      "--stage",
      stage,
      "--httpPort",
      port,
      "--lambdaPort",
      lambdaPort,
      "--noPrependStageInUrl",
    ],
    {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...env,
        ...awsEnv,
        GMS_ADMIN_API_KEY: env.GMS_ADMIN_API_KEY ?? DEFAULT_LOCAL_ADMIN_KEY,
        GMS_BUILD_FOLDER: env.GMS_BUILD_FOLDER ?? `.esbuild/local-${port}`,
        SLS_TELEMETRY_DISABLED: "1",
        SLS_NOTIFICATIONS_MODE: "off",
      },
    },
  );
  // serverless-offline prints "Server ready" on stderr; pass both streams through and announce it.
  for (const [stream, sink] of [[offline.stdout, process.stdout], [offline.stderr, process.stderr]] as const) {
    stream.on("data", (chunk: Buffer) => {
      sink.write(chunk);
      if (chunk.toString().includes("Server ready")) {
        log(`ready: curl -s -X POST http://localhost:${port}/genesys/1/service/request-chat -d firstName=Anna`);
      }
    });
  }

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    if (offline.exitCode === null && offline.signalCode === null) {
      offline.kill("SIGINT");
      const killer = setTimeout(() => offline.kill("SIGKILL"), 5000);
      await new Promise((resolve) => offline.once("exit", resolve));
      clearTimeout(killer);
    }
    await dynamo?.close();
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));
  offline.on("exit", (code) => void stop(code ?? 0));
}

main().catch((error: unknown) => {
  console.error(`[gms-chat] failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
