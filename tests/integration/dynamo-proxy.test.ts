import {
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { tableDefinitions } from "../../lib/dynamo/tables.ts";
import { localDocumentClient } from "../../scripts/local/stack.ts";
import { startTestDynamo, type TestDynamo } from "../support/dynamo.ts";

/**
 * The recording proxy (scripts/local/dynamo-proxy.ts) names the partitions each call touches, with
 * its share of the call's capacity and the tag set when it arrived: what the scale simulation
 * (bench/scale-sim.ts) sums by partition key and simulated second.
 */
let db: TestDynamo;
let client: DynamoDBDocumentClient;

beforeAll(async () => {
  db = await startTestDynamo();
  db.proxy.learnTables(tableDefinitions(db.tables));
  client = localDocumentClient(db.proxy.endpoint);
});
afterAll(async () => {
  client?.destroy();
  await db?.close();
});
beforeEach(() => db.proxy.reset());

const partitions = () => db.proxy.calls.map((call) => call.partitions.map(({ space, key }) => `${space} ${key}`));

describe("the recording proxy", () => {
  it("names an item call's partition, with the call's capacity and the tag it arrived under", async () => {
    db.proxy.tag = 7;
    await client.send(new PutCommand({ TableName: db.tables.config, Item: { pk: "service#a", sk: "service", note: "x".repeat(1500) } }));
    db.proxy.tag = "later";
    await client.send(new GetCommand({ TableName: db.tables.config, Key: { pk: "service#a", sk: "service" }, ConsistentRead: true }));
    expect(db.proxy.calls.map(({ operation, tag, partitions }) => ({ operation, tag, partitions }))).toEqual([
      { operation: "PutItem", tag: 7, partitions: [{ space: db.tables.config, key: "service#a", readUnits: 0, writeUnits: 2 }] },
      { operation: "GetItem", tag: "later", partitions: [{ space: db.tables.config, key: "service#a", readUnits: 1, writeUnits: 0 }] },
    ]);
  });

  it("names a Query's partition, an index's in the index's own key space", async () => {
    const queued = { queueEndpoint: "ep_1", queuedAt: "2026-01-01T00:00:00Z" };
    await client.send(new PutCommand({ TableName: db.tables.sessions, Item: { id: "s1", sk: "state", ...queued } }));
    db.proxy.reset();
    await client.send(
      new QueryCommand({
        TableName: db.tables.sessions,
        KeyConditionExpression: "#id = :id AND begins_with(sk, :e)",
        ExpressionAttributeNames: { "#id": "id" },
        ExpressionAttributeValues: { ":id": "s1", ":e": "e#" },
      }),
    );
    await client.send(
      new QueryCommand({
        TableName: db.tables.sessions,
        IndexName: "queue",
        KeyConditionExpression: "queueEndpoint = :endpoint",
        ExpressionAttributeValues: { ":endpoint": "ep_1" },
      }),
    );
    expect(partitions()).toEqual([[`${db.tables.sessions} s1`], [`${db.tables.sessions}/queue ep_1`]]);
  });

  it("names every item of a batch, sharing the capacity evenly among them", async () => {
    await client.send(
      new BatchWriteCommand({
        RequestItems: {
          [db.tables.config]: [
            { PutRequest: { Item: { pk: "agent#1", sk: "presence" } } },
            { PutRequest: { Item: { pk: "agent#2", sk: "presence" } } },
          ],
        },
      }),
    );
    await client.send(
      new BatchGetCommand({
        RequestItems: {
          [db.tables.config]: {
            Keys: [
              { pk: "agent#1", sk: "presence" },
              { pk: "agent#2", sk: "presence" },
            ],
            ConsistentRead: true,
          },
        },
      }),
    );
    expect(partitions()).toEqual([
      [`${db.tables.config} agent#1`, `${db.tables.config} agent#2`],
      [`${db.tables.config} agent#1`, `${db.tables.config} agent#2`],
    ]);
    const [write, read] = db.proxy.calls;
    expect(write?.partitions.map((p) => p.writeUnits)).toEqual([(write?.writeUnits ?? 0) / 2, (write?.writeUnits ?? 0) / 2]);
    expect(read?.partitions.map((p) => p.readUnits)).toEqual([(read?.readUnits ?? 0) / 2, (read?.readUnits ?? 0) / 2]);
    expect(write?.writeUnits).toBeGreaterThan(0);
    expect(read?.readUnits).toBeGreaterThan(0);
  });
});
