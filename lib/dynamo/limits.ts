/**
 * Bounds on every DynamoDB call: 3 attempts, each allowed 0.3 s to connect and 0.8 s of silence
 * while waiting for the answer (DynamoDB answers in milliseconds), 50 ms then 100 ms between
 * attempts. Throttling is retried on the same short schedule: the client gets a 503 with
 * Retry-After rather than a slow answer.
 */
export const STORAGE_LIMITS = { maxAttempts: 3, connectionTimeoutMs: 300, requestTimeoutMs: 800 } as const;
export const BACKOFF_MS: readonly number[] = [0, 0, 50, 100];

/** The longest one DynamoDB call can take before it gives up, in milliseconds: 3.45 s. */
export function worstCaseCallMs(): number {
  const attempts = STORAGE_LIMITS.maxAttempts * (STORAGE_LIMITS.connectionTimeoutMs + STORAGE_LIMITS.requestTimeoutMs);
  return attempts + BACKOFF_MS.slice(0, STORAGE_LIMITS.maxAttempts + 1).reduce((sum, ms) => sum + ms, 0);
}

/**
 * Time kept after a request's last DynamoDB call for the rest of its work (the answer, the log
 * line): no call starts that could end later than this before the function's timeout.
 */
export const DEADLINE_MARGIN_MS = 500;
