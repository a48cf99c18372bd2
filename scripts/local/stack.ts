import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import type { IncomingMessage, RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { CreateTableCommand, DescribeTableCommand, ResourceInUseException } from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import dynalite from "dynalite";
import { createDocumentClient } from "../../lib/dynamo/client.ts";
import { type TableNames, tableDefinitions } from "../../lib/dynamo/tables.ts";

// Lambda runs Node 22+; on a Node 20 laptop the SDK's upgrade notice is noise in every local tool.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

/** Table names of a stage, as serverless.yml builds them (`${self:service}-${sls:stage}-...`). */
export function stageTableNames(stage: string): TableNames {
  return { sessions: `gms-chat-${stage}-sessions`, config: `gms-chat-${stage}-config` };
}

/**
 * The admin key of the stacks that startLocalStack starts for the tests, the bench and the load
 * test (API Gateway keys need 20+ characters). `npm start` itself makes a random one per data
 * folder (localAdminKey).
 */
export const STACK_ADMIN_KEY = "local-gms-admin-key-for-test-stacks";

/**
 * `npm start`'s admin key when GMS_ADMIN_API_KEY is unset: random, made once and kept in the data
 * folder (readable by this user only), so that a web page open in the developer's browser cannot
 * use the admin API with a key everyone knows.
 */
export async function localAdminKey(dataDir: string): Promise<{ key: string; file: string; created: boolean }> {
  const file = join(dataDir, "admin-key");
  try {
    return { key: (await readFile(file, "utf8")).trim(), file, created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  await mkdir(dataDir, { recursive: true });
  const key = randomBytes(24).toString("base64url");
  await writeFile(file, `${key}\n`, { mode: 0o600, flag: "wx" });
  return { key, file, created: true };
}

/** Credentials and region for a local DynamoDB: the SDK needs some, dynalite checks none. */
export const LOCAL_AWS_ENV = {
  AWS_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "local",
  AWS_SECRET_ACCESS_KEY: "local",
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
} as const;

export interface LocalDynamo {
  readonly endpoint: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Why a request to a local-only server came from a web browser, if it did. Browsers put `Origin`
 * on cross-origin requests and preflights, and `Sec-Fetch-Site` on every request; a page that
 * rebinds its own host name to 127.0.0.1 still names that host in `Host`. The SDK and command-line
 * tools send none of these.
 */
export function browserRequest(request: IncomingMessage): string | undefined {
  if (request.method === "OPTIONS") return "a preflight";
  if (request.headers.origin !== undefined) return `a request from origin ${request.headers.origin}`;
  if (request.headers["sec-fetch-site"] !== undefined) return "a request from a web page";
  const host = (request.headers.host ?? "").replace(/:\d+$/, "");
  if (!["127.0.0.1", "localhost", "[::1]"].includes(host)) return `a request for host ${host}`;
  return undefined;
}

/**
 * Starts dynalite, the embedded DynamoDB, on `port` (0 picks a free one), on 127.0.0.1 unless told
 * otherwise. With `path` the data is kept in that LevelDB folder across restarts; without it, in
 * memory. dynalite answers any web origin (CORS included), so any page open in the developer's
 * browser could read and write it: it refuses what a browser sends (`browserRequest`) with a 403.
 */
export async function startDynalite(options: { port: number; path?: string; host?: string; createTableMs?: number }): Promise<LocalDynamo> {
  const server = dynalite({
    createTableMs: options.createTableMs ?? 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.path ? { path: options.path } : {}),
  });
  const [serve] = server.listeners("request") as [RequestListener];
  server.removeAllListeners("request");
  // Requests under way when it closes finish first: dynalite closes its LevelDB as the server closes,
  // and a query still reading it would throw where nobody catches it.
  let active = 0;
  let closing = false;
  let drained: (() => void) | undefined;
  server.on("request", (request: IncomingMessage, response) => {
    if (closing) {
      request.socket.destroy();
      return;
    }
    active += 1;
    response.once("close", () => {
      active -= 1;
      if (active === 0) drained?.();
    });
    const refused = browserRequest(request);
    if (refused === undefined) return serve(request, response);
    request.resume();
    response.writeHead(403, { "content-type": "text/plain" }).end(`The local DynamoDB refuses ${refused}: it serves local tools only.\n`);
  });
  server.listen(options.port, options.host ?? "127.0.0.1");
  await Promise.race([once(server, "listening"), once(server, "error").then(([error]) => Promise.reject(error))]);
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    close: async () => {
      closing = true;
      const closed = new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      server.closeIdleConnections();
      if (active > 0) await new Promise<void>((resolve) => (drained = resolve));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** The service's own client configuration (bounded retries and timeouts) aimed at a local endpoint. */
export function localDocumentClient(endpoint: string): DynamoDBDocumentClient {
  return createDocumentClient({ endpoint, ...LOCAL_CLIENT });
}

/**
 * A patient client for local set-up and inspection (creating tables, seeding, checking what was
 * stored): the service's own client gives up after about 3.5 s, and a busy 2-core machine running
 * a test suite can stall dynalite's disk store longer than that right after it creates a table.
 */
export function toolingDocumentClient(endpoint: string): DynamoDBDocumentClient {
  return createDocumentClient({
    endpoint,
    ...LOCAL_CLIENT,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000, throwOnRequestTimeout: true },
  });
}

const LOCAL_CLIENT = {
  region: LOCAL_AWS_ENV.AWS_REGION,
  credentials: { accessKeyId: LOCAL_AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: LOCAL_AWS_ENV.AWS_SECRET_ACCESS_KEY },
};

/**
 * Creates the tables that do not exist yet; existing tables and their data are left alone, unless
 * their keys differ from this version's layout, which no code here could use: that stops the start
 * with a clear message instead of failing every request.
 */
export async function ensureTables(client: DynamoDBDocumentClient, names: TableNames): Promise<string[]> {
  const created: string[] = [];
  for (const definition of tableDefinitions(names)) {
    try {
      await client.send(new CreateTableCommand(definition));
      created.push(definition.TableName);
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
      const { Table } = await client.send(new DescribeTableCommand({ TableName: definition.TableName }));
      if (JSON.stringify(Table?.KeySchema) !== JSON.stringify(definition.KeySchema)) {
        throw new Error(
          `table ${definition.TableName} has the key layout of an older version: delete it (or the data folder) and start again`,
        );
      }
    }
    await untilActive(client, definition.TableName);
  }
  return created;
}

/**
 * DynamoDB, and dynalite, answer CreateTable at once and finish creating in the background; a
 * write before the table (and its indexes) is ACTIVE fails with ResourceNotFoundException.
 */
async function untilActive(client: DynamoDBDocumentClient, tableName: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === "ACTIVE" && (Table.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === "ACTIVE")) return;
    if (Date.now() > deadline) throw new Error(`table ${tableName} was not ACTIVE after ${timeoutMs / 1000} s`);
    await delay(50);
  }
}
