/**
 * `npm run loadtest`: drives the local stack (`npm start`'s script, real serverless-offline and its
 * embedded dynalite, with data in a temporary folder) with request-chat calls at a fixed concurrency, then checks in DynamoDB that
 * every 200 answer is exactly one stored session: no loss, no duplicate, no 5xx.
 *
 * LOADTEST_REQUESTS (5000) and LOADTEST_CONNECTIONS (50) change the load. Exits non-zero when a
 * check fails.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { paginateScan } from "@aws-sdk/lib-dynamodb";
import autocannon from "autocannon";
import { type LocalStack, startLocalStack } from "./local/launch.ts";
import { stageTableNames, toolingDocumentClient } from "./local/stack.ts";

const amount = Number(process.env.LOADTEST_REQUESTS ?? 5000);
const connections = Number(process.env.LOADTEST_CONNECTIONS ?? 50);

async function storedSessionIds(endpoint: string): Promise<string[]> {
  const client = toolingDocumentClient(endpoint);
  const ids: string[] = [];
  const pages = paginateScan(
    { client },
    {
      TableName: stageTableNames("dev").sessions,
      ProjectionExpression: "id",
      FilterExpression: "sk = :session",
      ExpressionAttributeValues: { ":session": "session" },
    },
  );
  for await (const page of pages) for (const item of page.Items ?? []) ids.push(String(item.id));
  client.destroy();
  return ids;
}

async function main() {
  const dataDir = await mkdtemp(join(tmpdir(), "gms-chat-load-"));
  let stack: LocalStack | undefined;
  try {
    stack = await startLocalStack({ GMS_DATA_DIR: dataDir });
    const answered: string[] = [];
    const statuses = new Map<number, number>();
    const result = await autocannon({
      url: `${stack.baseUrl}/genesys/1/service/request-chat`,
      connections,
      amount,
      requests: [
        {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: "firstName=Anna&lastName=Load&email=anna%40example.com&subject=Billing",
          onResponse: (status: number, body: string) => {
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
            if (status === 200) answered.push((JSON.parse(body) as { _id: string })._id);
          },
        },
      ],
    });
    const stored = await storedSessionIds(`http://127.0.0.1:${stack.ports.dynamo}`);
    const storedSet = new Set(stored);
    const answeredSet = new Set(answered);
    const fivexx = [...statuses].filter(([status]) => status >= 500).reduce((sum, [, n]) => sum + n, 0);
    const checks = {
      "every request answered": result.requests.total >= amount && result.errors === 0 && result.timeouts === 0,
      "no 5xx": fivexx === 0,
      "stored sessions = 200 answers": stored.length === answered.length,
      "no duplicate ids answered": answeredSet.size === answered.length,
      "no duplicate sessions stored": storedSet.size === stored.length,
      "every answered id is stored": answered.every((id) => storedSet.has(id)),
    };
    const figures = {
      requests: result.requests.total,
      connections,
      durationSeconds: result.duration,
      requestsPerSecond: result.requests.average,
      latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
      statuses: Object.fromEntries(statuses),
      socketErrors: result.errors,
      timeouts: result.timeouts,
      answered200: answered.length,
      storedSessions: stored.length,
    };
    console.log(JSON.stringify({ figures, checks }, null, 2));
    process.exitCode = Object.values(checks).every(Boolean) ? 0 : 1;
  } finally {
    await stack?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
