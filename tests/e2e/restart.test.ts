import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chatIdOf } from "../../lib/session/ids.ts";
import { allClosed, type LocalStack, startLocalStack } from "../../scripts/local/launch.ts";
import { STACK_ADMIN_KEY, stageTableNames, toolingDocumentClient } from "../../scripts/local/stack.ts";
import { expectCleanStop } from "../support/stack.ts";

/** `npm start` with its embedded DynamoDB: seeding switches, persistence across restarts, Ctrl-C. */
let dataDir: string;
const running: LocalStack[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "gms-chat-data-"));
});
afterAll(async () => {
  await Promise.all(running.map((stack) => stack.stop()));
  await rm(dataDir, { recursive: true, force: true });
});

async function start(env: Record<string, string> = {}): Promise<LocalStack> {
  const stack = await startLocalStack({ GMS_DATA_DIR: dataDir, ...env });
  running.push(stack);
  return stack;
}

async function stop(stack: LocalStack) {
  running.splice(running.indexOf(stack), 1);
  await expectCleanStop(stack, [stack.ports.http, stack.ports.dynamo, stack.ports.identity, stack.ports.websocket, stack.ports.sqs]);
}

function call(stack: LocalStack, path: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  if (path.includes("/admin/")) headers.set("x-api-key", STACK_ADMIN_KEY);
  return fetch(`${stack.baseUrl}${path}`, { ...init, headers });
}

describe("npm start with the embedded DynamoDB", () => {
  // Two starts of the whole stack: on a loaded 2-core machine each can take well over 15 s.
  it("keeps sessions and configuration across a restart, and Ctrl-C leaves nothing running", { timeout: 120_000 }, async () => {
    const first = await start({ GMS_SEED_AVAILABILITY: "false" });
    // The seed made the service but, as asked, no availability notification.
    const closed = await call(first, "/genesys/1/service/request-chat", { method: "POST", body: "firstName=Anna" });
    expect(closed.status).toBe(503);
    await call(first, "/genesys/1/admin/services/request-chat", { method: "PUT", body: new URLSearchParams({ _ttl: "99" }) });
    await call(first, "/genesys/1/admin/availability/gms_builtin", { method: "PUT", body: new URLSearchParams({ available: "true" }) });
    const opened = await call(first, "/genesys/1/service/request-chat", { method: "POST", body: "firstName=Anna" });
    expect(opened.status).toBe(200);
    const { _id } = (await opened.json()) as { _id: string };
    await stop(first);

    const second = await start();
    // The identity provider's pool, client and users are kept in the same data folder.
    expect(second.identity.userPoolId).toBe(first.identity.userPoolId);
    expect(second.identity.clientId).toBe(first.identity.clientId);
    // On TCP, only the API, the embedded DynamoDB, the identity provider's proxy, the push channel
    // (the WebSocket API and its Management API) and routing's queue, all on loopback: the Lambda
    // invoke API and the identity emulator are on Unix sockets.
    expect(second.listening().sort((a, b) => a.port - b.port)).toEqual(
      [second.ports.http, second.ports.dynamo, second.ports.identity, second.ports.websocket, second.ports.sqs]
        .sort((a, b) => a - b)
        .map((port) => ({ port, loopback: true })),
    );
    // Standard DynamoDB tools can reach the embedded server on DYNAMODB_PORT.
    const client = toolingDocumentClient(`http://localhost:${second.ports.dynamo}`);
    const { Item } = await client.send(
      new GetCommand({ TableName: stageTableNames("dev").sessions, Key: { id: chatIdOf(_id), sk: "session" } }),
    );
    client.destroy();
    expect(Item).toMatchObject({ id: chatIdOf(_id), sessionId: _id, ttlSeconds: 99, data: { firstName: "Anna" } });
    // The seed does not undo an administrator's change.
    const service = await call(second, "/genesys/1/admin/services/request-chat");
    expect(await service.json()).toMatchObject({ _ttl: 99 });
    expect((await call(second, "/genesys/1/service/request-chat", { method: "POST" })).status).toBe(200);
    await stop(second);
  });
});

describe("npm start's admin key", () => {
  it("is random, made once per data folder and kept there for this user only, never one everyone knows", { timeout: 120_000 }, async () => {
    const folder = await mkdtemp(join(tmpdir(), "gms-chat-key-"));
    try {
      const services = (stack: LocalStack, key: string) =>
        fetch(`${stack.baseUrl}/genesys/1/admin/services`, { headers: { "x-api-key": key } }).then((answer) => answer.status);
      const first = await start({ GMS_DATA_DIR: folder, GMS_ADMIN_API_KEY: "" });
      const file = join(folder, "admin-key");
      const key = (await readFile(file, "utf8")).trim();
      expect(key).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(first.output()).toContain(key);
      expect(await services(first, key)).toBe(200);
      expect(await services(first, "local-gms-admin-key-change-me")).toBe(401);
      await stop(first);
      const second = await start({ GMS_DATA_DIR: folder, GMS_ADMIN_API_KEY: "" });
      expect(await services(second, key)).toBe(200);
      await stop(second);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});

describe("npm start when its launcher dies", () => {
  it("stops everything by itself when the process that started it is gone (npm does not forward SIGTERM)", async () => {
    const stack = await startLocalStack({ GMS_DATA_DIR: dataDir }, { underShell: true });
    try {
      stack.killLauncher();
      // Polling: the script notices its parent is gone within half a second, then stops its children.
      expect(await stack.allGone(15_000)).toBe(true);
      expect(await allClosed([stack.ports.http, stack.ports.dynamo, stack.ports.identity, stack.ports.websocket, stack.ports.sqs])).toBe(
        true,
      );
    } finally {
      stack.killAll();
    }
  });
});
