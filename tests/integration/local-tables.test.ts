import { request } from "node:http";
import { ListTablesCommand } from "@aws-sdk/client-dynamodb";
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

  it("refuses what a web page could send it, and runs none of it, while local tools are served", async () => {
    const dynamo = await startDynalite({ port: 0 });
    const client = toolingDocumentClient(dynamo.endpoint);
    const createTable = JSON.stringify({
      TableName: "from-a-web-page",
      AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
      BillingMode: "PAY_PER_REQUEST",
    });
    const dynamoHeaders = { "content-type": "application/x-amz-json-1.0", "x-amz-target": "DynamoDB_20120810.CreateTable" };
    try {
      const attempts: [string, string, Record<string, string>][] = [
        ["cross-origin", "POST", { ...dynamoHeaders, origin: "http://evil.example" }],
        ["preflight", "OPTIONS", { origin: "http://evil.example", "access-control-request-method": "POST" }],
        ["from a page", "POST", { ...dynamoHeaders, "sec-fetch-site": "cross-site" }],
        // A page whose host name was rebound to 127.0.0.1 is same-origin to the browser.
        ["rebound host", "POST", { ...dynamoHeaders, host: `evil.example:${dynamo.port}` }],
      ];
      for (const [what, method, headers] of attempts) {
        // node:http, since fetch will not send a Host header of the caller's choosing.
        const answer = await new Promise<{ status: number | undefined; allowOrigin: string | undefined }>((resolve, reject) => {
          const sent = request(dynamo.endpoint, { method, headers }, (response) => {
            response.resume();
            resolve({ status: response.statusCode, allowOrigin: response.headers["access-control-allow-origin"] });
          });
          sent.on("error", reject);
          sent.end(method === "POST" ? createTable : undefined);
        });
        expect([what, answer]).toEqual([what, { status: 403, allowOrigin: undefined }]);
      }
      expect((await client.send(new ListTablesCommand({}))).TableNames).toEqual([]);
    } finally {
      client.destroy();
      await dynamo.close();
    }
  });
});
