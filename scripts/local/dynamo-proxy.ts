import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { capacityUnits, READ_OPERATIONS } from "../../lib/dynamo/request-scope.ts";

/** One DynamoDB call as the proxy saw it. */
export interface ProxiedCall {
  /** The operation (the X-Amz-Target's last part): `Query`, `PutItem`, ... */
  readonly operation: string;
  readonly table: string | undefined;
  /** Consumed capacity, filled in when the answer arrives (0 for an answer the proxy made up). */
  readUnits: number;
  writeUnits: number;
}

/**
 * What the proxy does with each call, to provoke the faults a real DynamoDB can show: throttling,
 * 5xx, no answer, failed puts, and puts that always find their item taken (endless contention).
 */
export type DynamoFault = "none" | "throttle" | "server-error" | "hang" | "fail-writes" | "taken-writes";

const THROTTLED = JSON.stringify({
  __type: "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
  message: "The level of configured provisioned throughput for the table was exceeded.",
});
/**
 * A put's condition failure as DynamoDB sends it when asked for the item in the way
 * (ReturnValuesOnConditionCheckFailure: ALL_OLD): here another writer's item at the same key.
 */
function takenBy(input: Record<string, unknown>): string {
  if (input.ReturnValuesOnConditionCheckFailure !== "ALL_OLD" || typeof input.Item !== "object" || input.Item === null)
    return CONDITION_FAILED;
  const { id, sk } = input.Item as Record<string, unknown>;
  return JSON.stringify({ ...JSON.parse(CONDITION_FAILED), Item: { id, sk, writeId: { S: "another-writer" } } });
}
const SERVER_ERROR = JSON.stringify({ __type: "com.amazon.coral.service#InternalFailure", message: "Internal failure" });
const CONDITION_FAILED = JSON.stringify({
  __type: "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
  message: "The conditional request failed",
});
/** The operations that accept ReturnConsumedCapacity (table management calls do not). */
const DATA_OPERATIONS = new Set([
  ...READ_OPERATIONS,
  "PutItem",
  "UpdateItem",
  "DeleteItem",
  "BatchWriteItem",
  "TransactGetItems",
  "TransactWriteItems",
]);

/**
 * An HTTP proxy in front of a DynamoDB endpoint (dynalite here) for the tests and the bench: it
 * records every call's operation, table and consumed capacity (it asks each data call for its
 * capacity, which dynalite computes as DynamoDB does), and it can answer as DynamoDB does when it
 * throttles, fails, or hangs.
 */
export class DynamoProxy {
  readonly calls: ProxiedCall[] = [];
  fault: DynamoFault = "none";
  /** Holds every answer this long: a slow DynamoDB. */
  delayMs = 0;
  /** A Retry-After header on the fault answers: a hint the client should not follow. */
  retryAfterSeconds: number | undefined;

  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
  ) {}

  static async start(target: string, port = 0): Promise<DynamoProxy> {
    const upstream = new URL(target);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    const proxy = new DynamoProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on("request", (req, res) => {
      void readBody(req).then((body) => {
        const operation =
          String(req.headers["x-amz-target"] ?? "")
            .split(".")
            .pop() ?? "";
        const input = parseObject(body.toString());
        const call: ProxiedCall = {
          operation,
          table: typeof input.TableName === "string" ? input.TableName : undefined,
          readUnits: 0,
          writeUnits: 0,
        };
        proxy.calls.push(call);
        const fault = operation !== "PutItem" && (proxy.fault === "fail-writes" || proxy.fault === "taken-writes") ? "none" : proxy.fault;
        const headers = {
          "content-type": "application/x-amz-json-1.0",
          ...(proxy.retryAfterSeconds === undefined ? {} : { "retry-after": String(proxy.retryAfterSeconds) }),
        };
        switch (fault) {
          case "throttle":
            res.writeHead(400, headers).end(THROTTLED);
            return;
          case "server-error":
          case "fail-writes":
            res.writeHead(500, headers).end(SERVER_ERROR);
            return;
          case "taken-writes":
            res.writeHead(400, headers).end(takenBy(input));
            return;
          case "hang":
            return;
        }
        const payload = DATA_OPERATIONS.has(operation)
          ? JSON.stringify({ ...input, ReturnConsumedCapacity: input.ReturnConsumedCapacity ?? "TOTAL" })
          : body;
        const forward = httpRequest(
          {
            host: upstream.hostname,
            port: upstream.port,
            path: req.url,
            method: req.method,
            headers: { ...req.headers, "content-length": Buffer.byteLength(payload) },
          },
          (answer) => {
            void readBody(answer).then((text) => {
              const units = capacityUnits(parseObject(text.toString()).ConsumedCapacity);
              if (READ_OPERATIONS.has(operation)) call.readUnits = units;
              else call.writeUnits = units;
              setTimeout(() => res.writeHead(answer.statusCode ?? 502, answer.headers).end(text), proxy.delayMs);
            });
          },
        );
        forward.on("error", () => res.destroy());
        forward.end(payload);
      });
    });
    return proxy;
  }

  /** The operations called, in the order they arrived. */
  get operations(): string[] {
    return this.calls.map((call) => call.operation);
  }

  /** Calls and capacity units since the last reset. */
  cost(): { calls: number; readUnits: number; writeUnits: number } {
    return this.calls.reduce(
      (sum, call) => ({ calls: sum.calls + 1, readUnits: sum.readUnits + call.readUnits, writeUnits: sum.writeUnits + call.writeUnits }),
      {
        calls: 0,
        readUnits: 0,
        writeUnits: 0,
      },
    );
  }

  reset(): void {
    this.calls.length = 0;
    this.fault = "none";
    this.delayMs = 0;
    this.retryAfterSeconds = undefined;
  }

  /** Runs `during` while the proxy refuses connections (its port closed), then listens on the same port again. */
  async refusing<T>(during: () => Promise<T>): Promise<T> {
    const { port } = this.server.address() as AddressInfo;
    await this.close();
    try {
      return await during();
    } finally {
      await new Promise<void>((resolve) => this.server.listen(port, "127.0.0.1", resolve));
    }
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
  });
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text || "{}");
    return value !== null && typeof value === "object" ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
