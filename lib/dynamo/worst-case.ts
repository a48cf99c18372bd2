import type { StorageSequence, StorageStep } from "../storage.ts";
import { WORST_CASE_CALL_MS } from "./limits.ts";

/**
 * The longest each store call can take on DynamoDB, from the client's bounds (lib/dynamo/limits.ts):
 * one DynamoDB call each, but `sessions.create`, which reads after an insert that failed its
 * condition. What can take more calls is cut by the request's deadline (lib/dynamo/request-scope.ts):
 * `sessions.append` retries at the next position only under contention, and a paged read
 * (`read`, `listPresence`, `listServices`, `loadServiceRoute`) needs a second page only past 1 MB;
 * they count here as one call, and no call of theirs starts that could end after the deadline.
 */
function stepMs(step: StorageStep): number {
  return step === "sessions.create" ? 2 * WORST_CASE_CALL_MS : WORST_CASE_CALL_MS;
}

/** The longest a declared sequence can take: its rounds one after another, each as long as its slowest call. */
export function worstCaseMs(sequence: StorageSequence): number {
  return sequence.reduce((sum, round) => sum + Math.max(...[round].flat().map(stepMs)), 0);
}
