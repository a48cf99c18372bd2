import type { StorageSequence, StorageStep } from "../sequence.ts";
import { WORST_CASE_CALL_MS } from "./limits.ts";

/**
 * The longest each store call can take on DynamoDB, from the client's bounds (lib/dynamo/limits.ts):
 * one DynamoDB call each. An insert or a claim that fails its condition learns what it met from
 * the failure itself (ReturnValuesOnConditionCheckFailure), so it needs no second call on DynamoDB
 * (a local store that does not return it is asked). What can take more calls is cut by the
 * request's deadline (lib/dynamo/request-scope.ts): a paged read (`listServices`, a long roster) needs a
 * second page only past 1 MB, `sessions.read` a second call only for a
 * client more than a page behind, and a write claims again only when its position was lost
 * (lib/chat/transcript.ts); they count here as one call, and no call of theirs starts that could
 * end after the deadline.
 */
function stepMs(step: StorageStep): number {
  return (CALLS[step] ?? 1) * WORST_CASE_CALL_MS;
}

/**
 * Store calls that are several DynamoDB calls in a row: a push subscription (its connection's
 * record, then the topics'), a close (read, then delete), and the changes that copy an endpoint's
 * availability to its services (lib/dynamo/availability.ts; counted for up to 50 services per
 * endpoint, which take one round of copies; more take a round per 50, as far as the request's
 * deadline allows).
 */
const CALLS: Partial<Record<StorageStep, number>> = {
  "push.subscribe": 2,
  "push.forget": 2,
  // Going ready or not ready: the agent's record read with its profile; written back beside the
  // states and services of the endpoints it leaves; then, side by side per endpoint, the longest
  // being a leave: its roster entry beside the roster, the roster's agents, the close, the copies.
  "agents.presence": 6,
  // The roster, then its agents' records.
  "agents.readyAgents": 2,
  // The old item beside the membership; the state; the item; the state again; a late change's copy.
  "config.putService": 5,
  "config.createServiceIfAbsent": 5,
  // The state beside the services; the copies.
  "config.putNotification": 2,
  "config.createNotificationIfAbsent": 2,
};

/** The longest a declared sequence can take: its rounds one after another, each as long as its slowest call. */
export function worstCaseMs(sequence: StorageSequence): number {
  return sequence.reduce((sum, round) => sum + Math.max(...[round].flat().map(stepMs)), 0);
}
