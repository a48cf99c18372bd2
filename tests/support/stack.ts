import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { allClosed, type LocalStack, startLocalStack } from "../../scripts/local/launch.ts";
import { type LocalDynamo, STACK_ADMIN_KEY, startDynalite } from "../../scripts/local/stack.ts";

export interface TestStack {
  readonly stack: LocalStack;
  /** The test's DynamoDB, for reading what the service stored; the same across an outage. */
  readonly dynamoEndpoint: string;
  /** Runs `during` with the DynamoDB stopped, then starts it again on the same port and data. */
  withDynamoDown<T>(during: () => Promise<T>): Promise<T>;
  /** Ctrl-C, then checks that the script exited cleanly and left no process or port behind. */
  stop(): Promise<void>;
}

/**
 * The real `serverless offline start`, launched by `npm start`'s script on free ports, against a
 * dynalite the test owns (AWS_ENDPOINT_URL_DYNAMODB) in a temporary folder. `env` adds settings;
 * `prepare` writes what the DynamoDB holds before the script starts (data of an older version).
 */
export async function startTestStack(
  env: Record<string, string> = {},
  prepare: (dynamoEndpoint: string) => Promise<void> = async () => {},
): Promise<TestStack> {
  const dataDir = await mkdtemp(join(tmpdir(), "gms-chat-stack-"));
  let dynamo: LocalDynamo = await startDynalite({ port: 0, path: dataDir });
  const cleanUp = async () => {
    await dynamo.close();
    await rm(dataDir, { recursive: true, force: true });
  };
  let stack: LocalStack;
  try {
    await prepare(dynamo.endpoint);
    stack = await startLocalStack({ AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, ...env });
  } catch (error) {
    await cleanUp();
    throw error;
  }
  return {
    stack,
    dynamoEndpoint: dynamo.endpoint,
    withDynamoDown: async (during) => {
      const { port } = dynamo;
      await dynamo.close();
      try {
        return await during();
      } finally {
        dynamo = await startDynalite({ port, path: dataDir });
      }
    },
    stop: async () => {
      try {
        await expectCleanStop(stack, [stack.ports.http, stack.ports.identity, stack.ports.websocket, stack.ports.sqs]);
      } finally {
        await cleanUp();
      }
    },
  };
}

/** Ctrl-C on a local stack: the script exits 0, no process of it is left, and `ports` are free. */
export async function expectCleanStop(stack: LocalStack, ports: readonly number[]): Promise<void> {
  const { code, leftovers } = await stack.stop();
  expect(code).toBe(0);
  expect(leftovers).toBe(false);
  expect(await allClosed(ports)).toBe(true);
}

/** An admin API call on a test stack, with the stacks' machine key. */
export function adminCall(stack: LocalStack, path: string, form: Record<string, string>, method = "PUT"): Promise<Response> {
  return fetch(`${stack.baseUrl}/genesys/1/admin/${path}`, {
    method,
    headers: { "x-api-key": STACK_ADMIN_KEY },
    body: new URLSearchParams(form),
  });
}

/** Endpoints whose agents pick chats from the queue by hand (routing `pick`): for tests of the chat itself. */
export async function letAgentsPick(stack: LocalStack, endpoints: readonly string[]): Promise<void> {
  for (const endpoint of endpoints) {
    const answer = await adminCall(stack, `endpoints/${endpoint}`, { routing: "pick" });
    expect(answer.status, await answer.text()).toBe(200);
  }
}

/** Gives `agentId` a profile on `endpoints` (room for many chats), as an admin would. */
export async function serve(stack: LocalStack, agentId: string, endpoints: readonly string[], maxChats = 10): Promise<void> {
  const answer = await adminCall(stack, `agents/${agentId}`, { endpoints: endpoints.join(","), maxChats: String(maxChats) });
  expect(answer.status, await answer.text()).toBeLessThan(300);
}
