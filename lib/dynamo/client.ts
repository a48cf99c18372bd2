import { DynamoDBClient, type DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { HttpError, StorageUnavailableError } from "../http/errors.ts";

/**
 * Bounded retries and timeouts: a call gives up after 3 attempts of at most 0.5 s to connect and
 * 1.5 s to answer, so a request that makes two calls ends well inside the 10 s Lambda timeout.
 * The endpoint comes from the SDK's usual sources (AWS_ENDPOINT_URL_DYNAMODB locally) unless
 * `overrides` names one.
 */
export function createDocumentClient(overrides: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 500, requestTimeout: 1500 },
    ...overrides,
  });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/**
 * Maps a failed DynamoDB call to what the client sees: throttling, timeouts, refused connections
 * and service errors become a 503 with Retry-After. A ValidationException means we built a bad
 * request, and a condition failure that reaches here was not expected by the caller: both are bugs
 * and stay a 500.
 */
const BUG_ERRORS = new Set(["ValidationException", "ConditionalCheckFailedException"]);

export function storageFailure(error: unknown): unknown {
  if (error instanceof HttpError) return error;
  if (error instanceof Error && BUG_ERRORS.has(error.name)) return error;
  return new StorageUnavailableError(error);
}

export function isConditionalCheckFailure(error: unknown): boolean {
  return error instanceof Error && error.name === "ConditionalCheckFailedException";
}
