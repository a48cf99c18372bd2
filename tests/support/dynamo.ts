import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { AgentStore } from "../../lib/agents/store.ts";
import { dynamoStores } from "../../lib/dynamo/stores.ts";
import type { TableNames } from "../../lib/dynamo/tables.ts";
import type { RoutingStore } from "../../lib/routing/store.ts";
import type { CometStore, ConfigStore, PushStore, SessionStore } from "../../lib/storage.ts";
import { DynamoProxy } from "../../scripts/local/dynamo-proxy.ts";
import { ensureTables, type LocalDynamo, localDocumentClient, startDynalite } from "../../scripts/local/stack.ts";

export { DynamoProxy };

export interface TestDynamo {
  readonly dynamo: LocalDynamo;
  /** In front of `dynamo`: every call of the stores goes through it, counted (and faults provoked). */
  readonly proxy: DynamoProxy;
  /** For setting up and inspecting tables, straight to `dynamo`: its calls are not counted. */
  readonly client: DynamoDBDocumentClient;
  readonly tables: TableNames;
  /** The adapters on the service's own client configuration (bounded retries and timeouts), through the proxy. */
  readonly config: ConfigStore;
  readonly sessions: SessionStore;
  /** The push channels' subscriptions, in the sessions table, through the proxy. */
  readonly push: PushStore;
  readonly comet: CometStore;
  readonly routing: RoutingStore;
  readonly agents: AgentStore;
  close(): Promise<void>;
}

let counter = 0;

/** A real dynalite server on a free port, in memory, with fresh tables; the stores behind a counting proxy. */
export async function startTestDynamo(): Promise<TestDynamo> {
  const dynamo = await startDynalite({ port: 0 });
  const proxy = await DynamoProxy.start(dynamo.endpoint);
  const client = localDocumentClient(dynamo.endpoint);
  const storeClient = localDocumentClient(proxy.endpoint);
  counter += 1;
  const tables = { sessions: `test-${counter}-sessions`, config: `test-${counter}-config` };
  await ensureTables(client, tables);
  const stores = dynamoStores(storeClient, tables);
  return {
    dynamo,
    proxy,
    client,
    tables,
    ...stores,
    close: async () => {
      client.destroy();
      storeClient.destroy();
      await proxy.close();
      await dynamo.close();
    },
  };
}
