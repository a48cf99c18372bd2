import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import type { RequestScope } from "../http/respond.ts";
import { parseTask, type RoutingTask } from "../routing/work.ts";
import type { StorageSequence } from "../sequence.ts";

/**
 * The longest sequence of storage calls one task makes: an offer's timer that finds it missed (the
 * chat's offer withdrawn; the agent's slot freed; the agent made not ready, which closes endpoints
 * it was the last on; its index and the chat queued again), then each other offer it held withdrawn
 * (side by side: the chat's offer, the slot, the index, the offer's entry, the queue), then the
 * timer's entry. Tasks of a batch run side by side.
 */
export const LONGEST_STORAGE_SEQUENCE: StorageSequence = [
  "sessions.route",
  "agents.change",
  "agents.presence",
  ["routing.changeFree", "routing.putWaiting"],
  "sessions.route",
  "agents.change",
  "routing.changeFree",
  "routing.dropOffer",
  "routing.putWaiting",
  "routing.dropOffer",
];

/** What the router function runs on: routing's task runner (lib/wire.ts) and the storage scope. */
export interface RouterDeps {
  readonly runTask: (task: RoutingTask) => Promise<void>;
  readonly scope?: RequestScope | undefined;
}

/**
 * The router function's edge (its Lambda entry is handlers/router.ts): time-driven and queued work,
 * fed by routing's SQS queue (lib/sqs/work.ts), as lib/http/ is the edge of requests. Each message
 * is one task (lib/routing/work.ts), parsed strictly; the batch's tasks run side by side in one
 * storage scope (its cost in the log line), and those that fail are reported back
 * (`batchItemFailures`), so that SQS delivers only them again, after the queue's visibility timeout,
 * and to the dead-letter queue after a few tries. A message that is not a task is dropped and
 * logged: delivered again, it would fail again.
 */
export function routerHandler(deps: RouterDeps) {
  return async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
    const started = performance.now();
    const deadline = context?.getRemainingTimeInMillis === undefined ? undefined : Date.now() + context.getRemainingTimeInMillis();
    const failed: string[] = [];
    let dropped = 0;
    let fault: string | undefined;
    const run = async () => {
      await Promise.all(
        event.Records.map(async (record) => {
          const task = parseTask(record.body);
          if (task === undefined) {
            dropped += 1;
            return;
          }
          try {
            await deps.runTask(task);
          } catch (error) {
            failed.push(record.messageId);
            fault ??= error instanceof Error ? error.name : typeof error;
          }
        }),
      );
    };
    const outcome = deps.scope === undefined ? undefined : await deps.scope.run(run, deadline);
    if (deps.scope === undefined) await run();
    const line: Record<string, unknown> = {
      level: fault === undefined && dropped === 0 ? "info" : "error",
      requestId: context?.awsRequestId,
      route: "routing",
      tasks: event.Records.length,
      failed: failed.length,
      dropped,
      latencyMs: Math.round((performance.now() - started) * 10) / 10,
    };
    if (deps.scope !== undefined && outcome !== undefined) line[deps.scope.name] = outcome.cost;
    if (fault !== undefined) line.error = fault;
    console.log(JSON.stringify(line));
    return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
  };
}
