import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { putToPresignedUrl, SEED_RESOURCE_ID, seedHandler } from "../../lib/cloudformation/seed-resource.ts";
import { isAvailable, isInForce } from "../../lib/config/availability.ts";
import { migrateLayouts } from "../../lib/dynamo/migrations.ts";
import { startTestDynamo, type TestDynamo } from "../support/dynamo.ts";

const now = new Date("2026-11-25T10:00:00Z");
let db: TestDynamo;
let server: Server;
let responseUrl: string;
const replies: { method: string; contentType: string | undefined; body: Record<string, unknown> }[] = [];

beforeAll(async () => {
  db = await startTestDynamo();
  // Stands in for CloudFormation's pre-signed S3 response URL.
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      replies.push({ method: req.method ?? "", contentType: req.headers["content-type"], body: JSON.parse(body) });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  responseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/response?X-Amz-Signature=x`;
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await db?.close();
});

function cfnEvent(requestType: "Create" | "Update" | "Delete", layout?: { old: string; now: string }): CloudFormationCustomResourceEvent {
  return {
    RequestType: requestType,
    ServiceToken: "arn:aws:lambda:us-east-1:123456789012:function:gms-chat-dev-seed",
    ResponseURL: responseUrl,
    StackId: "arn:aws:cloudformation:us-east-1:123456789012:stack/gms-chat-dev/1",
    RequestId: `req-${requestType}`,
    LogicalResourceId: "DefaultServiceSeed",
    ResourceType: "Custom::GmsDefaultService",
    ResourceProperties: { ServiceToken: "x", ...(layout && { ConfigLayout: layout.now }) },
    ...(requestType === "Create" ? {} : { PhysicalResourceId: SEED_RESOURCE_ID }),
    ...(requestType === "Update" ? { OldResourceProperties: { ServiceToken: "x", ...(layout && { ConfigLayout: layout.old }) } } : {}),
  } as CloudFormationCustomResourceEvent;
}

/** The seed's production wiring, on a test table. */
const wiringOf = (target: TestDynamo) => ({
  config: target.config,
  now: () => now,
  migrate: () => migrateLayouts(target.client, target.tables, target, now),
});

describe("the deploy-time seed (CloudFormation custom resource)", () => {
  it("creates request-chat with defaults on Create, opens no availability, and reports SUCCESS", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    await seedHandler({ wiring: async () => wiringOf(db), reply: putToPresignedUrl })(cfnEvent("Create"));
    const route = await db.config.loadServiceRoute("request-chat");
    expect(route.service).toMatchObject({ ttlSeconds: 3600, chatEndpoint: "gms_builtin" });
    expect(isInForce(route.availability.notification, now)).toBe(false);
    expect(replies.at(-1)).toEqual({
      method: "PUT",
      contentType: "",
      body: expect.objectContaining({ Status: "SUCCESS", PhysicalResourceId: SEED_RESOURCE_ID, RequestId: "req-Create" }),
    });
  });

  it("leaves the configuration alone on Update and Delete", async () => {
    await db.config.deleteService("request-chat");
    const handler = seedHandler({ wiring: async () => wiringOf(db), reply: putToPresignedUrl });
    await handler(cfnEvent("Update"));
    await handler(cfnEvent("Delete"));
    expect(await db.config.getService("request-chat")).toBeUndefined();
    expect(replies.slice(-2).map((reply) => reply.body.Status)).toEqual(["SUCCESS", "SUCCESS"]);
  });

  it("reports FAILED when the table cannot be written", async () => {
    const broken = await startTestDynamo();
    await broken.close();
    await seedHandler({ wiring: async () => wiringOf(broken), reply: putToPresignedUrl })(cfnEvent("Create"));
    expect(replies.at(-1)?.body).toMatchObject({ Status: "FAILED", RequestId: "req-Create" });
  });

  it("answers FAILED with the setting's message when its wiring cannot load, instead of leaving CloudFormation waiting", async () => {
    const wiring = async () => {
      throw new Error("CORS_ALLOWED_ORIGINS must be * or a comma-separated list of origins like https://app.example.com");
    };
    await seedHandler({ wiring, reply: putToPresignedUrl })(cfnEvent("Create"));
    expect(replies.at(-1)?.body).toMatchObject({
      Status: "FAILED",
      Reason: expect.stringMatching(/^The seed function could not load its configuration: CORS_ALLOWED_ORIGINS must be/),
      RequestId: "req-Create",
      PhysicalResourceId: SEED_RESOURCE_ID,
    });
  });

  it("answers Update and Delete without loading its wiring, so a stage with a broken setting can still be removed", async () => {
    const wiring = vi.fn(async (): Promise<never> => {
      throw new Error("CORS_ALLOWED_ORIGINS must be * or a comma-separated list of origins like https://app.example.com");
    });
    const handler = seedHandler({ wiring, reply: putToPresignedUrl });
    await handler(cfnEvent("Update"));
    await handler(cfnEvent("Delete"));
    expect(wiring).not.toHaveBeenCalled();
    expect(replies.slice(-2).map((reply) => [reply.body.RequestId, reply.body.Status])).toEqual([
      ["req-Update", "SUCCESS"],
      ["req-Delete", "SUCCESS"],
    ]);
  });

  it("moves the first layout's services and notifications on the Update that changes the layout, keeping them, and drops presence", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const old = (sk: string, item: Record<string, unknown>) =>
      db.client.send(new PutCommand({ TableName: db.tables.config, Item: { pk: "config", sk, ...item } }));
    const updatedAt = "2026-01-02T03:04:05.000Z";
    await old("service#legacy", { name: "legacy", ttlSeconds: 120, chatEndpoint: "legacy_q", updatedAt });
    await old("availability#legacy_q", { endpoint: "legacy_q", available: true, updatedAt });
    await old("availability#lapsing_q", { endpoint: "lapsing_q", available: true, updatedAt, expiresAt: 1_700_000_000 });
    await old("presence#legacy_q#kim", { agentId: "kim", endpoint: "legacy_q", nickname: "Kim", expiresAt: 1_900_000_000 });
    // Not what the first layout's code wrote: left where it is, moved nowhere.
    await old("service#broken", { name: "broken", ttlSeconds: "soon", chatEndpoint: "legacy_q", updatedAt });
    await old("availability#odd_q", { endpoint: "other_q", available: true, updatedAt });
    const handler = seedHandler({ wiring: async () => wiringOf(db), reply: putToPresignedUrl });

    await handler(cfnEvent("Update", { old: "2", now: "2" }));
    expect(await db.config.getService("legacy")).toBeUndefined();
    await handler(cfnEvent("Update", { old: "", now: "2" }));
    expect(replies.at(-1)?.body).toMatchObject({ Status: "SUCCESS", Data: { servicesMoved: "1", notificationsMoved: "2" } });

    const route = await db.config.loadServiceRoute("legacy");
    expect(route.service).toEqual({ name: "legacy", ttlSeconds: 120, chatEndpoint: "legacy_q", updatedAt });
    expect(isAvailable(route.availability, now)).toBe(true);
    expect(await db.config.getNotification("lapsing_q")).toEqual({
      endpoint: "lapsing_q",
      available: true,
      updatedAt,
      expiresAt: 1_700_000_000,
    });
    expect(await db.agents.getState("kim")).toBeUndefined();
    const { Items } = await db.client.send(
      new QueryCommand({ TableName: db.tables.config, KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": "config" } }),
    );
    expect(Items?.map((item) => item.sk).sort()).toEqual(["availability#odd_q", "service#broken"]);
    expect(await db.config.getService("broken")).toBeUndefined();
    expect(await db.config.getNotification("other_q")).toBeUndefined();
    // Run again (a retried deploy): nothing left to move, nothing changed.
    expect(await migrateLayouts(db.client, db.tables, db, now)).toEqual({
      services: 0,
      notifications: 0,
      presenceDropped: 0,
      unreadable: 2,
      waitingChats: 0,
    });
    expect((await db.config.loadServiceRoute("legacy")).service?.ttlSeconds).toBe(120);
  });

  it("moves the chats that waited in the sessions table's queue index into their endpoint's queue, in their order, once", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const expiresAt = Math.floor(now.getTime() / 1000) + 3600;
    // A waiting chat as versions before chat ids wrote it: under its session id, on the queue index.
    const legacy = (id: string, queuedAt: string, phase = "WAITING") =>
      db.client.send(
        new PutCommand({
          TableName: db.tables.sessions,
          Item: {
            id,
            sk: "state",
            phase,
            chatSessionId: "A7C7F3CC37B18260",
            startedAt: queuedAt,
            endpoint: "old_q",
            customerNickname: "Old Timer",
            customer: { firstName: "Old", subject: "Refund" },
            userId: "U",
            secureKey: "K",
            queueEndpoint: "old_q",
            queuedAt,
            expiresAt,
          },
        }),
      );
    const [first, second] = [crypto.randomUUID(), crypto.randomUUID()];
    await legacy(second, "2026-11-25T10:05:00.000Z");
    await legacy(first, "2026-11-25T10:01:00.000Z");
    const handler = seedHandler({ wiring: async () => wiringOf(db), reply: putToPresignedUrl });
    await handler(cfnEvent("Update", { old: "2", now: "3" }));
    expect(replies.at(-1)?.body).toMatchObject({ Status: "SUCCESS", Data: { waitingChatsMoved: "2" } });
    const { entries } = await db.routing.waiting("old_q", { limit: 10 });
    expect(entries.map((entry) => [entry.chatId, entry.queuedAt])).toEqual([
      [first, "2026-11-25T10:01:00.000Z"],
      [second, "2026-11-25T10:05:00.000Z"],
    ]);
    expect((await migrateLayouts(db.client, db.tables, db, now)).waitingChats).toBe(0);
  });
});
