import { CreateTableCommand, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isInForce } from "../../lib/config/availability.ts";
import { seedDefaults } from "../../lib/config/defaults.ts";
import { ensureTables } from "../../scripts/local/stack.ts";
import { startTestDynamo, type TestDynamo } from "../support/dynamo.ts";

const now = new Date("2026-11-25T10:00:00Z");
let db: TestDynamo;

beforeAll(async () => {
  db = await startTestDynamo();
});
afterAll(async () => {
  await db?.close();
});

describe("DynamoConfigStore against dynalite", () => {
  it("puts, reads, lists and deletes services", async () => {
    expect(await db.config.putService({ name: "Chat2", ttlSeconds: 60, chatEndpoint: "sales", updatedAt: now.toISOString() })).toBe(true);
    expect(await db.config.putService({ name: "Chat2", ttlSeconds: 90, chatEndpoint: "sales", updatedAt: now.toISOString() })).toBe(false);
    expect(await db.config.getService("Chat2")).toEqual({
      name: "Chat2",
      ttlSeconds: 90,
      chatEndpoint: "sales",
      updatedAt: now.toISOString(),
    });
    expect((await db.config.listServices()).map((s) => s.name)).toContain("Chat2");
    expect(await db.config.deleteService("Chat2")).toBe(true);
    expect(await db.config.deleteService("Chat2")).toBe(false);
    expect(await db.config.getService("Chat2")).toBeUndefined();
  });

  it("reads a service with its own endpoint's notification, not another's", async () => {
    await db.config.putService({ name: "billing", ttlSeconds: 60, chatEndpoint: "billing_queue", updatedAt: now.toISOString() });
    await db.config.putNotification({ endpoint: "other_queue", available: true, updatedAt: now.toISOString() });
    expect(await db.config.loadServiceRoute("billing")).toMatchObject({
      service: { name: "billing" },
      availability: { notification: undefined, readyUntil: 0 },
    });

    await db.config.putNotification({ endpoint: "billing_queue", available: true, expiresAt: 1_900_000_000, updatedAt: now.toISOString() });
    const route = await db.config.loadServiceRoute("billing");
    expect(route.availability.notification).toEqual({
      endpoint: "billing_queue",
      available: true,
      expiresAt: 1_900_000_000,
      updatedAt: now.toISOString(),
    });
    expect(await db.config.loadServiceRoute("absent")).toEqual({
      service: undefined,
      availability: { notification: undefined, readyUntil: 0 },
    });
  });

  it("keeps an endpoint's state without an expiry DynamoDB's TTL would act on", async () => {
    await db.config.putNotification({ endpoint: "lapsing", available: true, expiresAt: 1_800_000_000, updatedAt: now.toISOString() });
    const { Item } = await db.client.send(
      new GetItemCommand({ TableName: db.tables.config, Key: { pk: { S: "endpoint#lapsing" }, sk: { S: "state" } } }),
    );
    expect(Item?.expiresAt).toBeUndefined();
    expect(Item?.notification?.M?.expiresAt).toEqual({ N: "1800000000" });
  });

  it("seeds the default service and availability once, never overwriting", async () => {
    const first = await seedDefaults(db.config, { availability: true, now });
    expect(first).toEqual({ serviceCreated: true, availabilityCreated: true });
    await db.config.putService({ name: "request-chat", ttlSeconds: 120, chatEndpoint: "gms_builtin", updatedAt: now.toISOString() });
    expect(await seedDefaults(db.config, { availability: true, now })).toEqual({ serviceCreated: false, availabilityCreated: false });
    const route = await db.config.loadServiceRoute("request-chat");
    expect(route.service?.ttlSeconds).toBe(120);
    expect(isInForce(route.availability.notification, now)).toBe(true);
  });
});

describe("ensureTables", () => {
  it("leaves existing tables alone, and refuses tables whose keys are of another layout", async () => {
    expect(await ensureTables(db.client, db.tables)).toEqual([]);
    const legacy = { sessions: "legacy-sessions", config: db.tables.config };
    await db.client.send(
      new CreateTableCommand({
        TableName: legacy.sessions,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
      }),
    );
    await expect(ensureTables(db.client, legacy)).rejects.toThrow(/older version/);
  });
});
