import { DynamoDBClient, type DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { ConfiguredRetryStrategy } from "@smithy/core/retry";
import { StorageUnavailableError } from "../http/errors.ts";
import { addMetering } from "./metering.ts";

/**
 * Bounds on every DynamoDB call: 3 attempts, each allowed 0.3 s to connect and 0.8 s of silence
 * while waiting for the answer (DynamoDB answers in milliseconds), 50 ms then 100 ms between
 * attempts. A call therefore gives up within about 3.45 s, and a request (at most three calls in
 * sequence) within about 10.4 s: inside the 15 s Lambda timeout and API Gateway's 29 s. Throttling
 * is retried on the same short schedule: the client gets a 503 with Retry-After rather than a slow
 * answer.
 */
const STORAGE_LIMITS = { maxAttempts: 3, connectionTimeoutMs: 300, requestTimeoutMs: 800 } as const;
/** The most storage calls one request makes one after another (see lib/request-chat.ts). */
export const MAX_SEQUENTIAL_CALLS = 3;
const BACKOFF_MS = [0, 0, 50, 100];

/** The longest one DynamoDB call can take before it gives up, in milliseconds. */
export function worstCaseCallMs(): number {
  const attempts = STORAGE_LIMITS.maxAttempts * (STORAGE_LIMITS.connectionTimeoutMs + STORAGE_LIMITS.requestTimeoutMs);
  return attempts + BACKOFF_MS.slice(0, STORAGE_LIMITS.maxAttempts + 1).reduce((sum, ms) => sum + ms, 0);
}

/**
 * The endpoint comes from the SDK's usual sources (AWS_ENDPOINT_URL_DYNAMODB locally) unless
 * `overrides` names one.
 */
export function createDocumentClient(overrides: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    retryStrategy: new ConfiguredRetryStrategy(STORAGE_LIMITS.maxAttempts, (attempt) => BACKOFF_MS[attempt] ?? 0),
    requestHandler: {
      connectionTimeout: STORAGE_LIMITS.connectionTimeoutMs,
      requestTimeout: STORAGE_LIMITS.requestTimeoutMs,
      // Without this the SDK only logs a warning and keeps waiting.
      throwOnRequestTimeout: true,
    },
    ...overrides,
  });
  addMetering(client);
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/**
 * Maps a failed DynamoDB call to what the client sees. Errors that come back from DynamoDB or the
 * network (the SDK marks them with `$metadata`: throttling, timeouts, refused connections, service
 * errors) become a 503 with Retry-After. The rest are bugs and stay a 500: a ValidationException
 * means we built a bad request, a condition failure that reaches here was not expected by the
 * caller, and an error without `$metadata` was thrown by our side before anything was sent.
 */
const BUG_ERRORS = new Set(["ValidationException", "ConditionalCheckFailedException"]);

export function storageFailure(error: unknown): unknown {
  if (!(error instanceof Error) || !("$metadata" in error) || BUG_ERRORS.has(error.name)) return error;
  return new StorageUnavailableError(error);
}

/** One DynamoDB call, its failure mapped by `storageFailure`. */
export async function storageCall<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw storageFailure(error);
  }
}

/** A conditional write: resolves true when it was applied, false when its condition failed. */
export async function conditionalWrite(operation: () => Promise<unknown>): Promise<boolean> {
  try {
    await operation();
    return true;
  } catch (error) {
    if (error instanceof Error && error.name === "ConditionalCheckFailedException") return false;
    throw storageFailure(error);
  }
}

/** Every item a Query matches, page after page (a page stops at 1 MB). */
export async function queryAll(client: DynamoDBDocumentClient, input: QueryCommandInput): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await storageCall(() => client.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey })));
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return items;
}
