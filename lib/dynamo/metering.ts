import { AsyncLocalStorage } from "node:async_hooks";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";

/**
 * DynamoDB calls and consumed capacity of one request, for its log line: what each request costs
 * is then visible in production, not only in a benchmark. Every call asks for its consumed capacity
 * (free of charge) and adds it to the meter of the request it runs in.
 */
export interface Meter {
  calls: number;
  readUnits: number;
  writeUnits: number;
}

const current = new AsyncLocalStorage<Meter>();
const READS = new Set(["GetItemCommand", "QueryCommand", "BatchGetItemCommand", "ScanCommand"]);

export async function metered<T>(run: () => Promise<T>): Promise<{ result: T; meter: Meter } | { error: unknown; meter: Meter }> {
  const meter: Meter = { calls: 0, readUnits: 0, writeUnits: 0 };
  try {
    return { result: await current.run(meter, run), meter };
  } catch (error) {
    return { error, meter };
  }
}

export function addMetering(client: DynamoDBClient): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const meter = current.getStore();
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
