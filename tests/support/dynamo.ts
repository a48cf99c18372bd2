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
export async function startTestDynamo(): Promise<TestDynamo> {
  const dynamo = await startDynalite({ port: 0 });
  const client = localDocumentClient(dynamo.endpoint);
  counter += 1;
  const tables = { sessions: `test-${counter}-sessions`, config: `test-${counter}-config` };
  await ensureTables(client, tables);
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

/** What the proxy does with each call, to provoke the faults a real DynamoDB can show. */
type Fault = "none" | "throttle" | "server-error" | "hang" | "fail-writes";

const THROTTLED = JSON.stringify({
  __type: "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
  message: "The level of configured provisioned throughput for the table was exceeded.",
});
const SERVER_ERROR = JSON.stringify({ __type: "com.amazon.coral.service#InternalFailure", message: "Internal failure" });

/**
 * An HTTP proxy in front of a DynamoDB endpoint that records each call's operation (the
 * X-Amz-Target header), so tests can count the real round trips a request makes, and that can
 * answer as DynamoDB does when it throttles, fails, or hangs.
 */
export class DynamoProxy {
  readonly calls: string[] = [];
  fault: Fault = "none";

  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
  ) {}

  static async start(target: string, port = 0): Promise<DynamoProxy> {
    const upstream = new URL(target);
    let proxy: DynamoProxy | undefined;
    const server = createServer((req, res) => {
      const operation = String(req.headers["x-amz-target"] ?? "").split(".").pop() ?? "";
      proxy?.calls.push(operation);
      const fault = proxy?.fault === "fail-writes" && operation === "PutItem" ? "server-error" : proxy?.fault;
      switch (fault) {
        case "throttle":
          res.writeHead(400, { "content-type": "application/x-amz-json-1.0" }).end(THROTTLED);
          return;
        case "server-error":
          res.writeHead(500, { "content-type": "application/x-amz-json-1.0" }).end(SERVER_ERROR);
          return;
        case "hang":
          req.resume();
          return;
      }
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
    proxy = new DynamoProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return proxy;
  }

  reset(): void {
    this.calls.length = 0;
    this.fault = "none";
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
