/**
 * `npm run bench:scale`: a simulated contact centre (bench/scale-sim.ts) at full size, through the
 * real handlers in process against dynalite: 10,000 agents on 100 endpoints renewing their presence
 * every 20 s, 1,000 services, 100 new chats a second for a simulated minute. Reports per operation
 * the read and write units, the most units any single partition key received in any simulated second
 * against DynamoDB's per-partition limits, request-chat's latency at 0, 1,000 and 10,000 ready
 * agents, and the cost per 1,000 chats at AWS list prices. Prints the section and writes it into
 * BENCHMARKS.md, replacing the scale section only.
 *
 * Sizes can be changed for a shorter run: SCALE_AGENTS, SCALE_ENDPOINTS, SCALE_SERVICES,
 * SCALE_CHATS_PER_SECOND, SCALE_SECONDS, SCALE_TIMING_CHATS, SCALE_LATENCY_SAMPLES, SCALE_CONCURRENCY,
 * SCALE_LATENCY_AT;
 * SCALE_WRITE=false prints the section without writing BENCHMARKS.md.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseDocument } from "yaml";
import { PRICES } from "./push.ts";
import { machineDescription, today, withSection } from "./report.ts";
import { type LambdaFunction, type OperationFigures, PARTITION_LIMITS, type SimulationResult, simulate } from "./scale-sim.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SIZE = {
  agents: env("SCALE_AGENTS", 10_000),
  endpoints: env("SCALE_ENDPOINTS", 100),
  services: env("SCALE_SERVICES", 1_000),
  chatsPerSecond: env("SCALE_CHATS_PER_SECOND", 100),
  seconds: env("SCALE_SECONDS", 60),
  timingChats: env("SCALE_TIMING_CHATS", 20),
  latencySamples: env("SCALE_LATENCY_SAMPLES", 300),
  concurrency: env("SCALE_CONCURRENCY", 16),
};
/** The numbers of ready agents request-chat's latency is measured at (SCALE_LATENCY_AT: a comma-separated list). */
const LATENCY_AT = (process.env.SCALE_LATENCY_AT ?? "0,1000,10000").split(",").map(Number);

/** Lambda x86_64's compute price (bench/push.ts's PRICES has arm64's), us-east-1. */
const LAMBDA_X86_PER_GB_SECOND = 0.0000166667;

/** The operations a chat is made of, in its order; `presence` is the agents'. */
const CHAT_OPERATIONS = [
  "request-chat",
  "create",
  "queue",
  "accept",
  "send",
  "agent send",
  "disconnect (customer)",
  "disconnect (agent)",
] as const;

const log = (message: string) => process.stderr.write(`[bench:scale] ${message}\n`);

/** Each function's memory and the architecture, from serverless.yml as deployed. */
async function lambdaSettings(): Promise<{ memoryMb: Record<LambdaFunction, number>; architecture: string }> {
  // CloudFormation's tags (!Ref, !GetAtt) are left unresolved: only plain settings are read.
  const config = parseDocument(await readFile(join(root, "serverless.yml"), "utf8")).toJS() as {
    provider: { memorySize?: number; architecture?: string };
    functions: Record<string, { memorySize?: number; architecture?: string }>;
  };
  const memoryOf = (name: LambdaFunction) => Number(config.functions[name]?.memorySize ?? config.provider.memorySize ?? 1024);
  return {
    memoryMb: { requestChat: memoryOf("requestChat"), chat: memoryOf("chat"), agent: memoryOf("agent"), admin: memoryOf("admin") },
    architecture: config.provider.architecture ?? "x86_64",
  };
}

interface Cost {
  readonly apiGateway: number;
  readonly lambda: number;
  readonly dynamo: number;
}

const sum = (costs: readonly Cost[]): Cost =>
  costs.reduce((a, b) => ({ apiGateway: a.apiGateway + b.apiGateway, lambda: a.lambda + b.lambda, dynamo: a.dynamo + b.dynamo }), {
    apiGateway: 0,
    lambda: 0,
    dynamo: 0,
  });
const scaled = (cost: Cost, factor: number): Cost => ({
  apiGateway: cost.apiGateway * factor,
  lambda: cost.lambda * factor,
  dynamo: cost.dynamo * factor,
});

async function main() {
  // Both kinds of disconnect are timed (the even chats' customer, the odd chats' agent).
  if (!(SIZE.timingChats >= 2)) throw new Error("SCALE_TIMING_CHATS must be 2 or more: the cost estimate needs every operation timed");
  const lambda = await lambdaSettings();
  const perGbSecond = lambda.architecture === "arm64" ? PRICES.lambdaArmPerGbSecond : LAMBDA_X86_PER_GB_SECOND;
  const started = Date.now();
  const result = await simulate({ ...SIZE, latencyAt: LATENCY_AT.filter((count) => count <= SIZE.agents), progress: log });
  log(`done in ${((Date.now() - started) / 60_000).toFixed(1)} min`);

  /** What one call of `op` costs: a REST request, a Lambda invocation billed its measured duration (whole ms), its units. */
  const costOfCall = (op: string, figures: OperationFigures): Cost => {
    const ms = Math.ceil(result.timing[op]?.meanMs ?? Number.NaN);
    return {
      apiGateway: PRICES.restPerMillion / 1e6,
      lambda: PRICES.lambdaRequestsPerMillion / 1e6 + (ms / 1000) * (lambda.memoryMb[figures.lambda] / 1024) * perGbSecond,
      dynamo:
        (figures.readUnits.mean * PRICES.readRequestUnitsPerMillion) / 1e6 +
        (figures.writeUnits.mean * PRICES.writeRequestUnitsPerMillion) / 1e6,
    };
  };
  const chatCost = sum(
    CHAT_OPERATIONS.flatMap((op) => {
      const figures = result.operations[op];
      return figures === undefined ? [] : [scaled(costOfCall(op, figures), figures.count / Math.max(1, result.chats))];
    }),
  );
  // In steady state the agents renew agents / heartbeatSeconds presences a second for chatsPerSecond chats.
  const renewalsPerChat = result.options.agents / result.options.heartbeatSeconds / Math.max(1, result.options.chatsPerSecond);
  const presence = result.operations.presence;
  const presenceCost = presence === undefined ? sum([]) : scaled(costOfCall("presence", presence), renewalsPerChat);

  const section = scaleSection(result, {
    chat: scaled(chatCost, 1000),
    presence: scaled(presenceCost, 1000),
    renewalsPerChat,
    lambda,
    perGbSecond,
    wallMinutes: (Date.now() - started) / 60_000,
  });
  console.log(section);
  if (process.env.SCALE_WRITE === "false") return;
  const file = join(root, "BENCHMARKS.md");
  await writeFile(file, withSection(await readFile(file, "utf8").catch(() => "# Benchmarks\n"), "scale", section));
  log("wrote the scale section of BENCHMARKS.md");
}

const units = (value: number) =>
  Number.isInteger(value) ? value.toLocaleString("en") : value.toLocaleString("en", { maximumFractionDigits: 2 });
const dollars = (value: number) => `$${value.toFixed(value < 0.1 ? 4 : 3)}`;
const row = (cells: readonly (string | number)[]) => `| ${cells.join(" | ")} |`;
const table = (header: readonly string[], rows: readonly (readonly (string | number)[])[]) =>
  [row(header), row(header.map(() => "---")), ...rows.map(row)].join("\n");

function scaleSection(
  result: SimulationResult,
  figures: {
    chat: Cost;
    presence: Cost;
    renewalsPerChat: number;
    lambda: { memoryMb: Record<LambdaFunction, number>; architecture: string };
    perGbSecond: number;
    wallMinutes: number;
  },
): string {
  const o = result.options;
  const operationRows = (operations: Readonly<Record<string, OperationFigures>>) =>
    Object.entries(operations).map(([op, f]) => [
      op,
      f.lambda,
      units(f.count),
      units(f.dynamoCalls / f.count),
      `${units(f.readUnits.mean)} / ${units(f.readUnits.max)}`,
      `${units(f.writeUnits.mean)} / ${units(f.writeUnits.max)}`,
      result.timing[op] === undefined ? "-" : `${result.timing[op].medianMs.toFixed(1)} ms`,
      f.failures === 0 ? "0" : `**${f.failures}**`,
    ]);
  const operationHeader = [
    "operation",
    "function",
    "calls",
    "DynamoDB calls per call",
    "read units mean / max",
    "write units mean / max",
    "handler alone, median",
    "failures",
  ];
  const peakRows = (kind: "read" | "write") =>
    result.hottest[kind].map((peak) => [
      kind,
      `\`${peak.space}\` \`${peak.key}\``,
      peak.second,
      units(peak.units),
      `${peak.percent.toFixed(peak.percent < 10 ? 1 : 0)}% of ${units(kind === "read" ? PARTITION_LIMITS.readUnits : PARTITION_LIMITS.writeUnits)}`,
    ]);
  const costRow = (name: string, cost: Cost) => [
    name,
    dollars(cost.apiGateway),
    dollars(cost.lambda),
    dollars(cost.dynamo),
    `**${dollars(cost.apiGateway + cost.lambda + cost.dynamo)}**`,
  ];
  const both = sum([figures.chat, figures.presence]);
  const memory = [...new Set(Object.values(figures.lambda.memoryMb))].join("/");
  return `## Scale: a simulated contact centre

\`npm run bench:scale\` produced this section (bench/scale.ts, simulation in bench/scale-sim.ts); \`npm run bench\` leaves it as it is.
Measured ${today()} on ${machineDescription()}, in ${figures.wallMinutes.toFixed(1)} minutes.

${units(o.agents)} agents on ${units(o.endpoints)} endpoints, each renewing its presence every ${o.heartbeatSeconds} s; ${units(o.services)} services; ${units(o.chatsPerSecond)} new chats a second for ${o.seconds} simulated second${o.seconds === 1 ? "" : "s"} (${units(result.chats)} chats completed). Each chat: request-chat and the customer's create; a second later an agent of its endpoint reads the queue and accepts it; six messages, a second apart, customer and agent in turn; the customer (half the chats) or the agent disconnects. Everything goes through the handlers' HTTP events in process (the production wiring, push listener included) against dynalite, behind the proxy that records each DynamoDB call's partitions and capacity (scripts/local/dynamo-proxy.ts); ${units(result.recordedCalls)} calls in ${result.simulatedSeconds} simulated seconds (a ${o.heartbeatSeconds}-second warm-up in which the agents go ready, then the chats).${result.failureSamples.length === 0 ? "" : `\n\n**Failures**: ${result.failureSamples.map((sample) => `\`${sample}\``).join("; ")}`}

### DynamoDB units per operation

${table(operationHeader, operationRows(result.operations))}

Setup, through the admin API:

${table(operationHeader, operationRows(result.setup))}

### The busiest partitions

The most units a single partition key received in one simulated second, against DynamoDB's per-partition limits (${units(PARTITION_LIMITS.readUnits)} read units, ${units(PARTITION_LIMITS.writeUnits)} write units a second): the busiest key of each table and index (\`table/index\`, an index's partitions being its own). All partitions together: at most ${units(result.busiestSecond.readUnits)} read units and ${units(result.busiestSecond.writeUnits)} write units in a second.

${table(["capacity", "table and partition key", "second", "units in that second", "of the limit"], [...peakRows("read"), ...peakRows("write")])}

### request-chat's latency

${units(o.latencySamples)} sequential request-chats (after 100 unmeasured ones) on the built-in \`request-chat\` service (its endpoint open by the built-in notification) with the agents ready on the simulation's endpoints, the ${units(o.services)} services configured; in process against dynalite, so the local emulation's time is most of it.

${table(
  ["agents ready", "median", "p90", "read units per call"],
  result.latency.map((l) => [units(l.agents), `${l.medianMs.toFixed(1)} ms`, `${l.p90Ms.toFixed(1)} ms`, units(l.readUnits)]),
)}

### Cost per 1,000 chats

${table(["", "API Gateway", "Lambda", "DynamoDB", "total"], [costRow("the chats' requests", figures.chat), costRow(`the agents' presence renewals (${units(figures.renewalsPerChat)} per chat)`, figures.presence), costRow("together", both)])}

AWS list prices, us-east-1 (USD): API Gateway REST $${PRICES.restPerMillion} per million requests; Lambda $${PRICES.lambdaRequestsPerMillion} per million requests and $${figures.perGbSecond} per GB-second (${figures.lambda.architecture}, as serverless.yml deploys, at ${memory} MB, each call billed its mean duration called alone above, rounded up to the millisecond: the local emulation makes that an overestimate); DynamoDB on-demand $${PRICES.readRequestUnitsPerMillion} per million read request units and $${PRICES.writeRequestUnitsPerMillion} per million write request units, at the units above. Renewals per chat: the steady state's ${units(o.agents / o.heartbeatSeconds)} renewals a second for ${units(o.chatsPerSecond)} chats a second. Not included: the agent authorizer (its answer is cached 300 s per token), storage, logs, data transfer, and the write units DynamoDB bills for the queue index when a chat enters or leaves it (dynalite reports none for index writes).`;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
