import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { capacityUnits, READ_OPERATIONS } from "../../lib/dynamo/request-scope.ts";

/** One DynamoDB call as the proxy saw it. */
export interface ProxiedCall {
  /** The operation (the X-Amz-Target's last part): `Query`, `PutItem`, ... */
  readonly operation: string;
  /** The table named by `TableName`; undefined for the batch and transaction calls, which name theirs per item. */
  readonly table: string | undefined;
  /** Consumed capacity, filled in when the answer arrives (0 for an answer the proxy made up). */
  readUnits: number;
  writeUnits: number;
  /**
   * The partitions the call touched, each with its share of the call's capacity (filled in with the
   * capacity). Empty for a table whose key schema the proxy was not told (`learnTables`).
   */
  readonly partitions: readonly PartitionShare[];
  /** `proxy.tag` when the call arrived: whatever the caller uses to group calls (a simulated second, a phase). */
  readonly tag: string | number | undefined;
}

/**
 * A partition a call touched: its key space (`<table>`, or `<table>/<index>` for a global secondary
 * index, whose partitions are its own) and its partition key's value, with the capacity units the
 * call consumed there.
 */
export interface PartitionShare {
  readonly space: string;
  readonly key: string;
  readUnits: number;
  writeUnits: number;
}

/** What the proxy needs of a table's definition (lib/dynamo/tables.ts's `tableDefinitions()`, a CreateTable input). */
export interface KeyedTable {
  readonly TableName: string;
  readonly KeySchema?: readonly { readonly AttributeName?: string | undefined; readonly KeyType?: string | undefined }[] | undefined;
  readonly GlobalSecondaryIndexes?:
    | readonly {
        readonly IndexName?: string | undefined;
        readonly KeySchema?: readonly { readonly AttributeName?: string | undefined; readonly KeyType?: string | undefined }[] | undefined;
      }[]
    | undefined;
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
 *
 * It also records which partitions each call touched, for the tables whose key schemas it knows
 * (`learnTables`, and every CreateTable that passes through it), and the `tag` the caller set when
 * the call arrived: together they tell what each partition key received in each simulated second
 * (bench/scale-sim.ts). See `partitionsOf` for how a call's capacity is shared among its partitions.
 */
export class DynamoProxy {
  readonly calls: ProxiedCall[] = [];
  /** Copied onto each call as it arrives (ProxiedCall.tag). */
  tag: string | number | undefined;
  fault: DynamoFault = "none";
  /** Holds every answer this long: a slow DynamoDB. */
  delayMs = 0;
  /** A Retry-After header on the fault answers: a hint the client should not follow. */
  retryAfterSeconds: number | undefined;

  /** Each known table's partition key attribute, and each of its global secondary indexes'. */
  private readonly keySchemas = new Map<string, KeySchema>();

  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
  ) {}

  /** Tells the proxy tables' key schemas, so that it records the partitions their calls touch. */
  learnTables(definitions: readonly KeyedTable[]): void {
    for (const definition of definitions) this.keySchemas.set(definition.TableName, keySchemaOf(definition));
  }

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
        if (operation === "CreateTable" && typeof input.TableName === "string") proxy.learnTables([input as unknown as KeyedTable]);
        const call: ProxiedCall = {
          operation,
          table: typeof input.TableName === "string" ? input.TableName : undefined,
          readUnits: 0,
          writeUnits: 0,
          partitions: partitionsOf(operation, input, proxy.keySchemas),
          tag: proxy.tag,
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
              const consumed = parseObject(text.toString()).ConsumedCapacity;
              const read = READ_OPERATIONS.has(operation) || operation === "TransactGetItems";
              const units = capacityUnits(consumed);
              if (read) call.readUnits = units;
              else call.writeUnits = units;
              shareCapacity(call.partitions, consumed, read);
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
    this.tag = undefined;
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

/** A table's partition key attribute, and its global secondary indexes' by index name. */
interface KeySchema {
  readonly hash: string | undefined;
  readonly indexes: ReadonlyMap<string, string | undefined>;
}

function keySchemaOf(definition: KeyedTable): KeySchema {
  const hashOf = (schema: KeyedTable["KeySchema"]) => schema?.find((key) => key.KeyType === "HASH")?.AttributeName;
  return {
    hash: hashOf(definition.KeySchema),
    indexes: new Map((definition.GlobalSecondaryIndexes ?? []).map((index) => [String(index.IndexName), hashOf(index.KeySchema)])),
  };
}

type Json = Record<string, unknown>;
const objectOf = (value: unknown): Json => (value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Json) : {});
const listOf = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** An attribute value as a partition key's text: `{S: "x"}` is `x`, `{N: "1"}` is `1`, `{B: "..."}` its base64. */
function keyText(value: unknown): string | undefined {
  const typed = objectOf(value);
  const text = typed.S ?? typed.N ?? typed.B;
  return typeof text === "string" ? text : undefined;
}

/**
 * The partitions a call touches, by operation: an item call's `Key` (or `Item`); a Query's equality
 * on the partition key of the table or, with `IndexName`, of that index (its own key space,
 * `<table>/<index>`); a Scan's whole table (`*`); every item of a batch or a transaction. Without
 * the table's key schema, none. Index writes that DynamoDB makes for a table write are not counted
 * here (dynalite reports no index capacity for writes either).
 */
function partitionsOf(operation: string, input: Json, schemas: ReadonlyMap<string, KeySchema>): PartitionShare[] {
  const found: PartitionShare[] = [];
  const add = (table: unknown, item: unknown) => {
    const schema = typeof table === "string" ? schemas.get(table) : undefined;
    const key = schema?.hash === undefined ? undefined : keyText(objectOf(item)[schema.hash]);
    if (key !== undefined) found.push({ space: String(table), key, readUnits: 0, writeUnits: 0 });
  };
  switch (operation) {
    case "GetItem":
    case "UpdateItem":
    case "DeleteItem":
      add(input.TableName, input.Key);
      break;
    case "PutItem":
      add(input.TableName, input.Item);
      break;
    case "Query": {
      const schema = typeof input.TableName === "string" ? schemas.get(input.TableName) : undefined;
      const index = typeof input.IndexName === "string" ? input.IndexName : undefined;
      const hash = index === undefined ? schema?.hash : schema?.indexes.get(index);
      const key = hash === undefined ? undefined : queriedKey(input, hash);
      if (key !== undefined)
        found.push({
          space: index === undefined ? String(input.TableName) : `${input.TableName}/${index}`,
          key,
          readUnits: 0,
          writeUnits: 0,
        });
      break;
    }
    case "Scan":
      if (typeof input.TableName === "string" && schemas.has(input.TableName)) {
        found.push({ space: input.TableName, key: "*", readUnits: 0, writeUnits: 0 });
      }
      break;
    case "BatchGetItem":
      for (const [table, request] of Object.entries(objectOf(input.RequestItems))) {
        for (const key of listOf(objectOf(request).Keys)) add(table, key);
      }
      break;
    case "BatchWriteItem":
      for (const [table, requests] of Object.entries(objectOf(input.RequestItems))) {
        for (const request of listOf(requests).map(objectOf)) {
          add(table, objectOf(request.PutRequest).Item ?? objectOf(request.DeleteRequest).Key);
        }
      }
      break;
    case "TransactGetItems":
    case "TransactWriteItems":
      for (const item of listOf(input.TransactItems).map(objectOf)) {
        for (const part of ["Get", "Put", "Update", "Delete", "ConditionCheck"]
          .map((name) => item[name])
          .filter((part) => part !== undefined)) {
          const action = objectOf(part);
          add(action.TableName, action.Item ?? action.Key);
        }
      }
      break;
  }
  return found;
}

/**
 * The value a Query asks its partition key `hash` to equal: `#pk = :pk` (or `:pk = #pk`, names and
 * values through ExpressionAttributeNames and ExpressionAttributeValues) in KeyConditionExpression,
 * or the legacy KeyConditions' EQ.
 */
function queriedKey(input: Json, hash: string): string | undefined {
  const names = objectOf(input.ExpressionAttributeNames);
  const values = objectOf(input.ExpressionAttributeValues);
  const nameOf = (token: string) => (token.startsWith("#") ? names[token] : token);
  const expression = typeof input.KeyConditionExpression === "string" ? input.KeyConditionExpression : "";
  for (const [, left = "", right = ""] of expression.matchAll(/([#:]?[\w.-]+)\s*=\s*([#:]?[\w.-]+)/g)) {
    if (right.startsWith(":") && nameOf(left) === hash) return keyText(values[right]);
    if (left.startsWith(":") && nameOf(right) === hash) return keyText(values[left]);
  }
  const legacy = objectOf(objectOf(input.KeyConditions)[hash]);
  return legacy.ComparisonOperator === "EQ" ? keyText(listOf(legacy.AttributeValueList)[0]) : undefined;
}

/**
 * Shares a call's consumed capacity among its partitions: evenly among all of them, or, when the
 * answer names its tables (batches and transactions answer one ConsumedCapacity per table), each
 * table's units evenly among that table's partitions. An even share is exact for the single-item
 * and single-partition calls, and an approximation for a batch of items of different sizes.
 */
function shareCapacity(partitions: readonly PartitionShare[], consumed: unknown, read: boolean): void {
  const perTable = [consumed ?? []].flat().map(objectOf);
  const groups =
    perTable.length > 1
      ? perTable.map((entry) => ({ table: entry.TableName, units: capacityUnits(entry) }))
      : [{ table: undefined, units: capacityUnits(consumed) }];
  for (const { table, units } of groups) {
    const mine = partitions.filter(
      (partition) => table === undefined || partition.space === table || partition.space.startsWith(`${String(table)}/`),
    );
    for (const partition of mine) {
      if (read) partition.readUnits = units / mine.length;
      else partition.writeUnits = units / mine.length;
    }
  }
}
