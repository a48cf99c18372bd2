import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";

/**
 * DynamoDB calls and consumed capacity of one request, for its log line: what each request costs
 * is then visible in production, not only in a benchmark. Every call asks for its consumed capacity
 * (free of charge) and adds it to the meter of the request in progress.
 */
export interface Meter {
  calls: number;
  readUnits: number;
  writeUnits: number;
}

/**
 * The meter of the request in progress. A Lambda instance handles one request at a time, so a
 * module-level slot is exact there and costs nothing, where AsyncLocalStorage would add a hook to
 * every promise (about 1% of request-chat's CPU in a profile). Invocations that overlap in one
 * process (tests firing requests in parallel) share the slot, so their figures mix.
 */
let current: Meter | undefined;
const READS = new Set(["GetItemCommand", "QueryCommand", "BatchGetItemCommand", "ScanCommand"]);

export async function metered<T>(run: () => Promise<T>): Promise<{ result: T; meter: Meter } | { error: unknown; meter: Meter }> {
  const meter: Meter = { calls: 0, readUnits: 0, writeUnits: 0 };
  current = meter;
  try {
    return { result: await run(), meter };
  } catch (error) {
    return { error, meter };
  } finally {
    if (current === meter) current = undefined;
  }
}

export function addMetering(client: DynamoDBClient): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const meter = current;
      if (meter === undefined) return next(args);
      (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity ??= "TOTAL";
      meter.calls += 1;
      const output = await next(args);
      const consumed = (output.output as { ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[] }).ConsumedCapacity;
      const units = [consumed ?? []].flat().reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
      if (READS.has(context.commandName ?? "")) meter.readUnits += units;
      else meter.writeUnits += units;
      return output;
    },
    { step: "initialize", name: "gmsMetering" },
  );
}
