import { describe, expect, it } from "vitest";
import { DynamoConfigStore } from "../../lib/dynamo/config-store.ts";
import { ensureTables, startDynalite, toolingDocumentClient } from "../../scripts/local/stack.ts";

describe("local table set-up", () => {
  it("returns only once the tables it creates are ACTIVE, so npm start can seed at once", async () => {
    // Tables that stay CREATING for a while, as DynamoDB's (and a busy dynalite's) do.
    const dynamo = await startDynalite({ port: 0, createTableMs: 400 });
    const client = toolingDocumentClient(dynamo.endpoint);
    try {
      const tables = { sessions: "slow-sessions", config: "slow-config" };
      expect(await ensureTables(client, tables)).toEqual(["slow-sessions", "slow-config"]);
      const config = new DynamoConfigStore(client, tables.config);
      await config.putService({ name: "request-chat", ttlSeconds: 3600, chatEndpoint: "gms_builtin", updatedAt: new Date().toISOString() });
      expect(await config.getService("request-chat")).toMatchObject({ chatEndpoint: "gms_builtin" });
    } finally {
      client.destroy();
      await dynamo.close();
    }
  });
});
