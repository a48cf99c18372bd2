import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { DynamoConfigStore } from "../../lib/dynamo/config-store.ts";
import { DynamoSessionStore } from "../../lib/dynamo/session-store.ts";
import type { TableNames } from "../../lib/dynamo/tables.ts";
import { ensureTables, localDocumentClient, startDynalite, type LocalDynamo } from "../../scripts/local/stack.ts";

export interface TestDynamo {
  readonly dynamo: LocalDynamo;
  readonly client: DynamoDBDocumentClient;
  readonly tables: TableNames;
  readonly config: DynamoConfigStore;
  readonly sessions: DynamoSessionStore;
  close(): Promise<void>;
}

let counter = 0;

/** A real dynalite server on a free port, in memory, with fresh tables. */
export async function startTestDynamo(endpointOverride?: (endpoint: string) => string): Promise<TestDynamo> {
  const dynamo = await startDynalite({ port: 0 });
  const client = localDocumentClient(endpointOverride ? endpointOverride(dynamo.endpoint) : dynamo.endpoint);
  counter += 1;
  const tables = { sessions: `test-${counter}-sessions`, config: `test-${counter}-config` };
  await ensureTables(localDocumentClient(dynamo.endpoint), tables);
  return {
    dynamo,
    client,
    tables,
    config: new DynamoConfigStore(client, tables.config),
    sessions: new DynamoSessionStore(client, tables.sessions),
    close: async () => {
      client.destroy();
      await dynamo.close();
    },
  };
}

/**
 * An HTTP proxy in front of a DynamoDB endpoint that records each call's operation (the
 * X-Amz-Target header), so tests can count the real round trips a request makes.
 */
export class CountingProxy {
  readonly calls: string[] = [];
  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
  ) {}

  static async start(target: string, port = 0): Promise<CountingProxy> {
    const upstream = new URL(target);
    let proxy: CountingProxy | undefined;
    const server = createServer((req, res) => {
      proxy?.calls.push(String(req.headers["x-amz-target"] ?? "").split(".").pop() ?? "");
      const forward = httpRequest(
        { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on("error", () => res.destroy());
      req.pipe(forward);
    });
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    proxy = new CountingProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return proxy;
  }

  reset(): void {
    this.calls.length = 0;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
