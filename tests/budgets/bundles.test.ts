import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  CloudFormationCustomResourceEvent,
  Context,
  SQSBatchResponse,
  SQSEvent,
  SQSRecord,
} from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type Bundle, buildFunctionBundles } from "../../scripts/local/bundles.ts";
import { freePort } from "../../scripts/local/ports.ts";
import { authorized, httpEvent } from "../support/events.ts";

/**
 * Bundle budgets: each function's deployed bundle (built with serverless.yml's own esbuild options)
 * must stay within its budget, since module load grows with it and every cold start pays it.
 * Measured 2026-11-29: 218-229 KB minified; web (both pages, no SDK) 40 KB. Raise a budget only with a reason.
 * The seed's is higher: it imports the whole wiring inside its handler (so a setting that fails to
 * load is still answered to CloudFormation), which esbuild cannot trim; it runs once per deployment.
 * The authorizers, measured 2026-11-30: the agent routes' 23 KB (the token verifier, no SDK: it runs
 * at most once per token per 5 minutes, but each agent's first call waits for it); the admin
 * routes' 232 KB, API Gateway's client included to read the key's value once per instance. The
 * web function's rose to 60 KB the same day (51 KB measured) when the console gained its own
 * sign-in (Cognito's JSON protocol, token refresh and revocation, no SDK): the pages are served
 * inline and revalidated with an ETag, and the function loads no SDK. It rose to 70 KB on 2026-11-30
 * (61.0 KB measured, from 51.3 KB) when both pages took their events from the push channel
 * (web/shared/push.ts, 2.5 KB minified, and its use: +4.0 KB in the widget, +5.1 KB in the console,
 * each page carrying its own inline copy).
 * The chat and agent functions' rose to 290 KB on 2026-11-30 (272 and 274 KB measured, from 235):
 * they post each event to the WebSocket connections that listen (docs/push.md), with API Gateway's
 * Management API client (about 37 KB); request-chat, admin and seed leave it out
 * (lib/push-runtime.ts). The push function (the WebSocket API: 285 KB) holds that client, the
 * stores and the token verifier.
 * request-chat, admin and comet rose by 3.6 KB on 2026-12-07 (246.7, 246.4 and 250.3 KB measured):
 * every function is wired by the one composition (lib/wire.ts) with the whole set of stores
 * (lib/dynamo/stores.ts), the push subscriptions' included; comet's budget went to 260 KB.
 * Routing (2026-12-07) added the agents' and routing's domain and stores to every wired function
 * (about 22 KB: request-chat 271.4, comet 274.9, seed 317.6 KB measured), and SQS's client (about
 * 35 KB) to those that send routing's tasks: chat 336.6, agent 344.3, admin 304.4, push 351.4 KB,
 * and the new router function (the push wiring); budgets about 10 KB above. The web function's rose
 * to 80 KB (71.4 KB measured, from 61) with the console's offers, chat tabs and transfers.
 * The authorizers rose on 2026-12-08 (agent routes' 24.3 -> 253.5 KB, admin routes' 238.4 -> 316.1 KB
 * measured) when sign-out came to end API access (lib/agents/sign-out.ts): they read whether a
 * token's sign-in ended, with DynamoDB's client. Module load of the agent routes' authorizer went
 * from 29 to 78 ms (median of 9 loads on this machine), paid once per instance, not per token.
 * And the bundles as deployed (minified, wired by lib/runtime.ts) keep the request scope and name
 * their failures.
 */
const BUDGET_KB: Record<string, number> = {
  requestChat: 280,
  chat: 345,
  agent: 355,
  admin: 315,
  seed: 325,
  web: 80,
  authorizer: 265,
  adminAuthorizer: 325,
  push: 360,
  comet: 285,
  router: 360,
};
let dir: string;
let bundles: Bundle[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gms-chat-bundles-"));
  bundles = await buildFunctionBundles(dir);
});
afterAll(async () => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

const bundleOf = (name: string) => {
  const bundle = bundles.find((b) => b.name === name);
  if (bundle === undefined) throw new Error(`no bundle ${name}`);
  return bundle;
};

describe("bundle budgets", () => {
  it("covers every function", () => {
    expect(bundles.map((b) => b.name).sort()).toEqual(Object.keys(BUDGET_KB).sort());
  });

  it.each(Object.entries(BUDGET_KB))("keeps %s within %d KB minified", (name, budget) => {
    expect(bundleOf(name).bytes / 1024).toBeLessThanOrEqual(budget);
  });
});

describe("the deployed bundles", () => {
  /** The production wiring's settings, and a DynamoDB endpoint where nothing listens. */
  async function deployedEnvironment() {
    vi.stubEnv("SESSIONS_TABLE", "gms-chat-test-sessions");
    vi.stubEnv("CONFIG_TABLE", "gms-chat-test-config");
    vi.stubEnv("CORS_ALLOWED_ORIGINS", "*");
    vi.stubEnv("AWS_REGION", "us-east-1");
    vi.stubEnv("AWS_ACCESS_KEY_ID", "test");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "test");
    vi.stubEnv("AWS_ENDPOINT_URL_DYNAMODB", `http://127.0.0.1:${await freePort()}`);
    vi.stubEnv("ROUTING_QUEUE_URL", `http://127.0.0.1:${await freePort()}/000000000000/routing`);
  }

  const form = { "content-type": "application/x-www-form-urlencoded" };
  const session = "6f1c2b1e-0c0a-4b8e-9d6a-2f7f0e6b5a41";
  it.each([
    ["requestChat", httpEvent({ pathParameters: { service: "request-chat" }, headers: form, body: "firstName=Anna" })],
    ["chat", httpEvent({ resource: "/genesys/1/service/{service}/ixn/chat/refresh", pathParameters: { service: session }, headers: form })],
    [
      "agent",
      authorized(
        httpEvent({
          resource: "/genesys/1/agent/{agentId}/queue",
          httpMethod: "GET",
          pathParameters: { agentId: "anna" },
          queryStringParameters: { endpoint: "gms_builtin" },
        }),
      ),
    ],
    ["admin", authorized(httpEvent({ resource: "/genesys/1/admin/services", httpMethod: "GET" }))],
    [
      "comet",
      httpEvent({
        resource: "/genesys/cometd/{type}",
        pathParameters: { type: "handshake" },
        headers: { "content-type": "application/json", gms_user: "anna" },
        body: JSON.stringify([{ channel: "/meta/handshake", version: "1.0", supportedConnectionTypes: ["long-polling"] }]),
      }),
    ],
  ] as const)("%s starts no DynamoDB call it could not finish before its timeout, and logs the failure by name", async (name, event) => {
    await deployedEnvironment();
    const { handler } = (await import(bundleOf(name).file)) as {
      handler: (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;
    };
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    // One second left: less than one DynamoDB call may take.
    const response = await handler(event, { awsRequestId: "bundle-test", getRemainingTimeInMillis: () => 1000 } as Context);
    const line = JSON.parse(String(log.mock.calls.at(-1)?.[0]));
    log.mockRestore();
    expect([response.statusCode, JSON.parse(response.body).exception]).toEqual([503, "StorageUnavailableException"]);
    expect(line).toMatchObject({ level: "error", status: 503, dynamodb: { calls: 0, readUnits: 0, writeUnits: 0 } });
    expect(line.error).toMatch(/^StorageUnavailableException /);
  });

  it("router reports a task it could not run back to SQS, to be delivered again, and logs the failure by name", async () => {
    await deployedEnvironment();
    const { handler } = (await import(bundleOf("router").file)) as {
      handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
    };
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const record = (messageId: string, body: string) => ({ messageId, body }) as SQSRecord;
    const answer = await handler(
      { Records: [record("m1", JSON.stringify({ kind: "route", chatId: "AAAAAAAAAAAAAAAAAAAAAA" })), record("m2", "not a task")] },
      { awsRequestId: "bundle-test", getRemainingTimeInMillis: () => 1000 } as Context,
    );
    const line = JSON.parse(String(log.mock.calls.at(-1)?.[0]));
    log.mockRestore();
    // The task goes back; the message that is no task is dropped (delivered again, it would fail again).
    expect(answer).toEqual({ batchItemFailures: [{ itemIdentifier: "m1" }] });
    expect(line).toMatchObject({ level: "error", route: "routing", tasks: 2, failed: 1, dropped: 1, error: "StorageUnavailableError" });
  });

  /** Runs the seed bundle (a fresh copy of its module: `as`) on a Create, and returns what it sent CloudFormation. */
  async function seedReply(as: string): Promise<Record<string, unknown>> {
    const replies: string[] = [];
    const server: Server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on("end", () => {
        replies.push(body);
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const file = join(dir, as);
      await copyFile(bundleOf("seed").file, file);
      const { handler } = (await import(file)) as { handler: (event: CloudFormationCustomResourceEvent) => Promise<void> };
      vi.spyOn(console, "log").mockImplementation(() => {});
      await handler({
        RequestType: "Create",
        ServiceToken: "x",
        ResponseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/reply`,
        StackId: "stack",
        RequestId: "request",
        LogicalResourceId: "DefaultServiceSeed",
        ResourceType: "Custom::GmsDefaultService",
        ResourceProperties: { ServiceToken: "x" },
      });
      return JSON.parse(replies[0] ?? "{}");
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }

  it("seed reports a failure to CloudFormation by the error's name", async () => {
    await deployedEnvironment();
    expect(await seedReply("seed-storage-down.mjs")).toMatchObject({
      Status: "FAILED",
      Reason: "Seeding the default service failed: StorageUnavailableError",
    });
  });

  it("seed loads, and answers CloudFormation, even when a setting its wiring checks is malformed", async () => {
    await deployedEnvironment();
    vi.stubEnv("CORS_ALLOWED_ORIGINS", "not an origin");
    expect(await seedReply("seed-bad-setting.mjs")).toMatchObject({
      Status: "FAILED",
      Reason: expect.stringMatching(/^The seed function could not load its configuration: CORS_ALLOWED_ORIGINS must be/),
    });
  });
});
