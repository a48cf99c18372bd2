import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalStack } from "../scripts/local/launch.ts";
import { startDynalite } from "../scripts/local/stack.ts";

/**
 * What a connected CometD client costs (docs/api.md, CometD): `node --import tsx bench/comet.ts`.
 * Starts the local stack on free ports against its own dynalite, then measures with the comet
 * function's own log lines (latency, DynamoDB calls and capacity): three held connects with nothing
 * to push, and 15 customer messages each written while a connect is held, from the start of the
 * send to the connect's answer.
 */
type Json = Record<string, unknown>;

const dataDir = await mkdtemp(join(tmpdir(), "gms-chat-comet-bench-"));
const dynamo = await startDynalite({ port: 0, path: dataDir });
const stack = await startLocalStack({ AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint });
const gmsUser = { gms_user: "bench-user" };

async function bayeux(type: string, messages: object[]): Promise<Json[]> {
  const response = await fetch(`${stack.baseUrl}/genesys/cometd/${type}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...gmsUser },
    body: JSON.stringify(messages),
  });
  return (await response.json()) as Json[];
}

/** The last `count` log lines of a route. */
function logLines(route: string, count: number): Json[] {
  return stack
    .output()
    .split("\n")
    .filter((line) => line.includes(`"route":"${route}"`))
    .slice(-count)
    .map((line) => JSON.parse(line.slice(line.indexOf("{"))) as Json);
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

try {
  const [shaken] = await bayeux("handshake", [{ channel: "/meta/handshake", version: "1.0", supportedConnectionTypes: ["long-polling"] }]);
  const clientId = shaken?.clientId;
  const connect = (advice: object = {}) =>
    bayeux("connect", [{ channel: "/meta/connect", clientId, connectionType: "long-polling", advice }]);
  await bayeux("subscribe", [{ channel: "/meta/subscribe", clientId, subscription: "/_genesys" }]);
  await connect({ timeout: 0 });

  for (let i = 0; i < 3; i += 1) await connect();
  console.log("held connects with nothing to push (log lines):");
  for (const line of logLines("/genesys/cometd/{type}", 3))
    console.log(`  ${line.latencyMs} ms, dynamodb ${JSON.stringify(line.dynamodb)}`);

  const opened = await fetch(`${stack.baseUrl}/genesys/1/service/request-chat`, { method: "POST", headers: gmsUser, body: "" });
  const { _id: id } = (await opened.json()) as { _id: string };
  const chat = `${stack.baseUrl}/genesys/1/service/${id}/ixn/chat`;
  await fetch(chat, { method: "POST", headers: gmsUser, body: new URLSearchParams({ notify_by: "comet" }) });
  await connect({ timeout: 0 });
  const delays: number[] = [];
  for (let i = 0; i < 15; i += 1) {
    const held = connect();
    // Somewhere within a poll interval, as events come.
    await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 1000));
    const sent = performance.now();
    await fetch(`${chat}/send`, { method: "POST", headers: gmsUser, body: new URLSearchParams({ message: `message ${i}` }) });
    const replies = await held;
    delays.push(performance.now() - sent);
    if (replies.length !== 2) throw new Error(`expected a push and the connect's reply, got ${JSON.stringify(replies)}`);
  }
  console.log(
    `a message pushed, from the send's start to the connect's answer: median ${Math.round(median(delays))} ms, at most ${Math.round(Math.max(...delays))} ms`,
  );
  console.log("connects that pushed (log lines):");
  for (const line of logLines("/genesys/cometd/{type}", 3))
    console.log(`  ${line.latencyMs} ms, dynamodb ${JSON.stringify(line.dynamodb)}`);
  console.log("the sends (log lines):");
  for (const line of logLines("/genesys/1/service/{service}/ixn/chat/send", 3))
    console.log(`  ${line.latencyMs} ms, dynamodb ${JSON.stringify(line.dynamodb)}`);
} finally {
  await stack.stop();
  await dynamo.close();
  await rm(dataDir, { recursive: true, force: true });
}
