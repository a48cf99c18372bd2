import { DynamoDBClient, type DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
import { BatchGetCommand, DynamoDBDocumentClient, paginateQuery, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { ConfiguredRetryStrategy } from "@smithy/core/retry";
import { StorageUnavailableError } from "../errors.ts";
import { RETRY_DELAYS_MS, STORAGE_LIMITS } from "./limits.ts";
import { addRequestScope } from "./request-scope.ts";

/**
 * The configured schedule whatever an answer asks for: the SDK would otherwise follow a retry-after
 * hint for up to 5 s more per retry, past the bound of WORST_CASE_CALL_MS that the request's deadline
 * and the functions' timeouts rely on. (The SDK counts a retry's attempt from 1.)
 */
class BoundedRetryStrategy extends ConfiguredRetryStrategy {
  constructor() {
    super(STORAGE_LIMITS.maxAttempts, (attempt) => RETRY_DELAYS_MS[attempt - 1] ?? 0);
  }

  override refreshRetryTokenForRetry(...[token, errorInfo]: Parameters<ConfiguredRetryStrategy["refreshRetryTokenForRetry"]>) {
    const { retryAfterHint: _ignored, ...withoutHint } = errorInfo;
    return super.refreshRetryTokenForRetry(token, withoutHint);
  }
}

/**
 * A document client with the bounds of lib/dynamo/limits.ts, in the scope of the request in
 * progress (lib/dynamo/request-scope.ts). The endpoint
 * comes from the SDK's usual sources (AWS_ENDPOINT_URL_DYNAMODB locally) unless `overrides` names
 * one.
 */
export function createDocumentClient(overrides: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    retryStrategy: new BoundedRetryStrategy(),
    requestHandler: {
      connectionTimeout: STORAGE_LIMITS.connectionTimeoutMs,
      requestTimeout: STORAGE_LIMITS.requestTimeoutMs,
      // Without this the SDK only logs a warning and keeps waiting.
      throwOnRequestTimeout: true,
    },
    ...overrides,
  });
  addRequestScope(client);
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/**
 * Maps a failed DynamoDB call to what the domain knows. Errors that come back from DynamoDB or the
 * network (the SDK marks them with `$metadata`: throttling, timeouts, refused connections, service
 * errors) mean storage is unavailable. The rest are bugs and stay as they are (a 500): a
 * ValidationException means we built a bad request, a condition failure that reaches here was not
 * expected by the caller, and an error without `$metadata` was thrown by our side before anything
 * was sent.
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

/** Every item a Query matches, page after page (a page stops at 1 MB), with the SDK's paginator. */
export function queryAll(client: DynamoDBDocumentClient, input: QueryCommandInput): Promise<Record<string, unknown>[]> {
  return storageCall(async () => {
    const items: Record<string, unknown>[] = [];
    for await (const page of paginateQuery({ client }, input)) items.push(...(page.Items ?? []));
    return items;
  });
}

/** A batch call leaves work unprocessed under load; what it left is sent again, this many calls in all. */
export const BATCH_TRIES = 3;

/**
 * The items of `keys` that exist in `table`, strongly consistent unless `consistent` is false, 100
 * keys per BatchGetItem (its limit), keys left unprocessed asked for again up to BATCH_TRIES calls
 * in all; beyond, storage is unavailable. `projection` names the attributes to read (with their
 * `#names`), all by default.
 */
export async function batchGetAll(
  client: DynamoDBDocumentClient,
  table: string,
  keys: readonly Record<string, unknown>[],
  projection?: { readonly expression: string; readonly names: Record<string, string> },
  consistent = true,
): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  for (let i = 0; i < keys.length; i += 100) {
    let pending = keys.slice(i, i + 100);
    for (let tries = 0; pending.length > 0; tries += 1) {
      if (tries === BATCH_TRIES) throw new StorageUnavailableError(new Error("Keys left unprocessed by BatchGetItem"));
      const asked = pending;
      const { Responses, UnprocessedKeys } = await storageCall(() =>
        client.send(
          new BatchGetCommand({
            RequestItems: {
              [table]: {
                Keys: [...asked],
                ConsistentRead: consistent,
                ...(projection && { ProjectionExpression: projection.expression, ExpressionAttributeNames: projection.names }),
              },
            },
          }),
        ),
      );
      found.push(...(Responses?.[table] ?? []));
      pending = UnprocessedKeys?.[table]?.Keys ?? [];
    }
  }
  return found;
}
