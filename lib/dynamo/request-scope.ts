import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { StorageUnavailableError } from "../errors.ts";
import { DEADLINE_MARGIN_MS, WORST_CASE_CALL_MS } from "./limits.ts";

/**
 * The request scope of DynamoDB calls (lib/http/respond.ts's RequestScope): what one request's
 * calls cost, for its log line, and when its function runs out of time. Every call asks for its
 * consumed capacity (free of charge) and adds it to the request's cost; no call starts that could
 * still be running when the function's timeout comes, so a retry loop or a long paged read ends
 * with a 503 the client can act on instead of a function killed mid-request.
 */
export type DynamoCost = {
  calls: number;
  readUnits: number;
  writeUnits: number;
};

/** Operations whose consumed capacity is read capacity; the rest consume write capacity. */
export const READ_OPERATIONS: ReadonlySet<string> = new Set(["GetItem", "Query", "BatchGetItem", "Scan"]);

interface Scope {
  readonly cost: DynamoCost;
  /** Epoch milliseconds by which the function must have answered; none outside Lambda. */
  readonly deadline: number | undefined;
}

/**
 * The scope of the request in progress. A Lambda instance handles one request at a time (and so
 * does each of serverless-offline's workers), so a module-level slot is exact there and costs
 * nothing, where AsyncLocalStorage would add a hook to every promise (about 1% of request-chat's
 * CPU in a profile). Invocations that overlap in one process (tests firing requests in parallel)
 * share the slot: their figures mix, and a call may be held to another invocation's deadline, or to
 * none once that one has ended.
 */
let current: Scope | undefined;

export const dynamoScope = {
  name: "dynamodb",
  async run<T>(
    request: () => Promise<T>,
    deadline?: number,
  ): Promise<({ readonly result: T } | { readonly error: unknown }) & { readonly cost: DynamoCost }> {
    const scope: Scope = { cost: { calls: 0, readUnits: 0, writeUnits: 0 }, deadline };
    current = scope;
    try {
      return { result: await request(), cost: scope.cost };
    } catch (error) {
      return { error, cost: scope.cost };
    } finally {
      if (current === scope) current = undefined;
    }
  },
};

/** Puts every call of `client` in the scope of the request in progress. */
export function addRequestScope(client: DynamoDBClient): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const scope = current;
      if (scope === undefined) return next(args);
      if (scope.deadline !== undefined && Date.now() + WORST_CASE_CALL_MS + DEADLINE_MARGIN_MS > scope.deadline) {
        throw new StorageUnavailableError(new Error("No time left for another DynamoDB call before the function's timeout"));
      }
      (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity ??= "TOTAL";
      scope.cost.calls += 1;
      const output = await next(args);
      const units = capacityUnits((output.output as { ConsumedCapacity?: unknown }).ConsumedCapacity);
      if (READ_OPERATIONS.has((context.commandName ?? "").replace(/Command$/, ""))) scope.cost.readUnits += units;
      else scope.cost.writeUnits += units;
      return output;
    },
    { step: "initialize", name: "gmsRequestScope" },
  );
}

/** The capacity units of a `ConsumedCapacity` answer: one object, or one per table. */
export function capacityUnits(consumed: unknown): number {
  return [consumed ?? []].flat().reduce((sum: number, entry: { CapacityUnits?: number }) => sum + (entry.CapacityUnits ?? 0), 0);
}
