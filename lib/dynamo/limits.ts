/**
 * Bounds on every DynamoDB call: 3 attempts, each allowed 0.3 s to connect and 0.8 s of silence
 * while waiting for the answer (DynamoDB answers in milliseconds); the second attempt follows the
 * first at once, the third comes 50 ms after the second. Throttling is retried on the same short
 * schedule, and a retry-after hint in an answer is not followed (lib/dynamo/client.ts): the client
 * gets a 503 with Retry-After rather than a slow answer.
 */
export const STORAGE_LIMITS = { maxAttempts: 3, connectionTimeoutMs: 300, requestTimeoutMs: 800 } as const;
/** The wait before each retry: before the first, before the second. */
export const RETRY_DELAYS_MS: readonly number[] = [0, 50];

/** The longest one DynamoDB call can take before it gives up, in milliseconds: 3.35 s. */
export const WORST_CASE_CALL_MS =
  STORAGE_LIMITS.maxAttempts * (STORAGE_LIMITS.connectionTimeoutMs + STORAGE_LIMITS.requestTimeoutMs) +
  RETRY_DELAYS_MS.slice(0, STORAGE_LIMITS.maxAttempts - 1).reduce((sum, ms) => sum + ms, 0);

/**
 * Time kept after a request's last DynamoDB call for the rest of its work (the answer, the log
 * line): no call starts that could end later than this before the function's timeout.
 */
export const DEADLINE_MARGIN_MS = 500;
