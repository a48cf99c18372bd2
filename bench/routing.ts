/**
 * `npm run bench:routing`: the routing simulation (bench/routing-sim.ts) held against Erlang C and
 * costed on dynalite. Writes its section into BENCHMARKS.md (the other sections kept) and prints it.
 *
 * - Against Erlang C: 20, 200 and 2,000 agents taking one chat at a time, at 50%, 80% and 95%
 *   occupancy, Poisson arrivals, exponential handle times, every offer accepted at once. The mean
 *   wait with its 95% interval (batch means: the measured chats in 20 batches of consecutive
 *   arrivals), the share of chats that waited and the 90th percentile, beside Erlang C's; the time
 *   from a freed slot to its offer; every stretch a chat waited while an agent that could take it
 *   had a free slot; the chats each agent took. These runs are long (up to 300,000 chats) and use
 *   the memory stores (lib/memory/, held to the DynamoDB adapter by tests/contract/): the same
 *   handlers and domain as on dynalite, which answers too slowly (about 70 calls a second here) for
 *   runs of that length. Wait figures do not depend on the store: routing's decisions are the domain's.
 * - Refusals and misses: 200 agents at 80%, 10% of offers refused, 5% left to time out (offer
 *   timeout 20 s; an agent who missed is away 60 s): the time from an offer's expiry to the chat's
 *   next offer, and what the refusals cost in waiting.
 * - Fairness: 20 equal agents, constant handle times, 1,000 chats: each agent's share of even.
 * - Cost, on dynalite: 20, 200 and 2,000 agents at 95%, 300 chats each (handle time 30 s): DynamoDB
 *   calls and units per handler call and routing task, and per routed chat.
 * - Latency on the local stack, in real time (bench/routing-local.ts): a new chat to its offer, a
 *   freed slot to the next offer, an offer's expiry to the next agent's offer (ROUTING_LOCAL=false
 *   skips it).
 *
 * The runs go side by side, one process per CPU. ROUTING_SCALE (default 1) multiplies every run's
 * chats for a shorter run; ROUTING_WRITE=false prints the section without writing BENCHMARKS.md;
 * `--report [file]` writes it again from the figures a previous run kept (in the OS's temp folder).
 */
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { erlangWaits } from "./erlang.ts";
import { machineDescription, today, withSection } from "./report.ts";
import { type LocalLatency, measureLocalLatency } from "./routing-local.ts";
import { type CostFigures, type RoutingResult, type RoutingScenario, simulateRouting } from "./routing-sim.ts";
import { ContactCentre } from "./scale-sim.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const SCALE = Number(process.env.ROUTING_SCALE ?? 1);
const log = (message: string) => process.stderr.write(`[bench:routing] ${message}\n`);

/** A run: its scenario, and the store it runs on. */
interface Run {
  readonly name: string;
  readonly store: "memory" | "dynalite";
  readonly scenario: Omit<RoutingScenario, "progress">;
}

const BASE = {
  handleSeconds: 120,
  handleTimes: "exponential",
  rejectShare: 0,
  missShare: 0,
  offerTimeout: 20,
  awaySeconds: 60,
  seed: 20_261_207,
} as const;

const scaled = (chats: number) => Math.max(200, Math.round(chats * SCALE));

/** Chats measured per run against Erlang C: more where waits are rare or strongly correlated (high load). */
const ERLANG: readonly (readonly [agents: number, load: number, chats: number])[] = [
  [20, 0.5, 100_000],
  [20, 0.8, 100_000],
  [20, 0.95, 200_000],
  [200, 0.5, 50_000],
  [200, 0.8, 50_000],
  [200, 0.95, 200_000],
  [2000, 0.5, 50_000],
  [2000, 0.8, 50_000],
  [2000, 0.95, 100_000],
];

const RUNS: readonly Run[] = [
  ...ERLANG.map(([agents, load, chats]): Run => {
    const measured = scaled(chats);
    return {
      name: `erlang-${agents}-${load}`,
      store: "memory",
      // Warm-up: long enough for the centre to fill (several handle times' arrivals), at least 5% of the run.
      scenario: { ...BASE, agents, load, chats: measured, warmUpChats: Math.max(5 * agents, Math.round(measured / 20)) },
    };
  }),
  {
    name: "refusals",
    store: "memory",
    scenario: { ...BASE, agents: 200, load: 0.8, chats: scaled(20_000), warmUpChats: 1_000, rejectShare: 0.1, missShare: 0.05 },
  },
  {
    name: "fairness",
    store: "memory",
    scenario: { ...BASE, agents: 20, load: 0.8, handleTimes: "constant", chats: 1_000, warmUpChats: 100 },
  },
  ...[20, 200, 2000].map(
    (agents): Run => ({
      name: `cost-${agents}`,
      store: "dynalite",
      scenario: { ...BASE, agents, load: 0.95, handleSeconds: 30, chats: 300, warmUpChats: 0 },
    }),
  ),
];

/** Runs one of RUNS in this process (a child of the main one); prints its result as JSON. */
async function runOne(name: string): Promise<void> {
  const run = RUNS.find((candidate) => candidate.name === name);
  if (run === undefined) throw new Error(`no run named ${name}`);
  // The handlers log a line per request: a run makes millions.
  console.log = () => undefined;
  const centre = run.store === "memory" ? ContactCentre.inMemory() : await ContactCentre.start();
  try {
    const result = await simulateRouting(centre, { ...run.scenario, progress: (message) => log(`${name}: ${message}`) });
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await centre.close();
  }
}

/** Runs every run in a child process, `parallel` at a time (the longest first); resolves their results by name. */
async function runAll(parallel: number): Promise<Map<string, RoutingResult>> {
  const results = new Map<string, RoutingResult>();
  const order = [...RUNS].sort(
    (a, b) => b.scenario.chats * (b.store === "dynalite" ? 50 : 1) - a.scenario.chats * (a.store === "dynalite" ? 50 : 1),
  );
  let next = 0;
  const worker = async () => {
    while (next < order.length) {
      const run = order[next++] as Run;
      const begun = Date.now();
      log(`${run.name}: ${run.scenario.agents} agents, ${run.scenario.chats} chats, on ${run.store}`);
      const output = await child(run.name);
      results.set(run.name, JSON.parse(output) as RoutingResult);
      log(`${run.name}: done in ${((Date.now() - begun) / 1000).toFixed(0)} s`);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return results;
}

function child(name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const process_ = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--run", name], {
      cwd: root,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let output = "";
    process_.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    process_.on("error", reject);
    process_.on("close", (code) => (code === 0 ? resolve(output) : reject(new Error(`run ${name} exited with ${code}`))));
  });
}

// ---- figures --------------------------------------------------------------------------------

const mean = (values: readonly number[]) => (values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length);
function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}
const max = (values: readonly number[]) => values.reduce((top, value) => Math.max(top, value), 0);

/** Student's t at 97.5% for 19 degrees of freedom: 20 batches. */
const T_19 = 2.093;
const BATCHES = 20;

/** The mean of `values` with the half-width of its 95% interval, by batch means (consecutive values in BATCHES batches). */
function batchMeans(values: readonly number[]): { mean: number; halfWidth: number } {
  const size = Math.floor(values.length / BATCHES);
  const means = Array.from({ length: BATCHES }, (_, i) => mean(values.slice(i * size, (i + 1) * size)));
  const centre = mean(means);
  const variance = means.reduce((sum, value) => sum + (value - centre) ** 2, 0) / (BATCHES - 1);
  return { mean: mean(values), halfWidth: (T_19 * Math.sqrt(variance)) / Math.sqrt(BATCHES) };
}

/** Below this, a mean wait is nothing a customer can tell apart from none. */
const NEGLIGIBLE_SECONDS = 0.1;

const s = (seconds: number, digits = 2) => `${seconds.toFixed(digits)} s`;
const percent = (share: number, digits = 1) => `${(100 * share).toFixed(digits)}%`;

/** Each agent's chats as a share of even: the smallest and the largest. */
function spread(shares: readonly number[]): string {
  const even = mean(shares);
  if (even === 0) return "-";
  const low = Math.min(...shares) / even - 1;
  const high = Math.max(...shares) / even - 1;
  return `${percent(low, 0)} / +${percent(high, 0)} (${even.toFixed(0)} each)`;
}

/** Whether `mean` ± `halfWidth` lies within 10% of `expected`, or both are negligible. */
function within10(mean: number, halfWidth: number, expected: number): string {
  if (mean - halfWidth >= 0.9 * expected && mean + halfWidth <= 1.1 * expected) return "yes";
  if (expected < NEGLIGIBLE_SECONDS && mean + halfWidth < NEGLIGIBLE_SECONDS) return `both < ${NEGLIGIBLE_SECONDS} s`;
  const off = mean / expected - 1;
  return Math.abs(off) <= 0.1 ? `mean ${off >= 0 ? "+" : ""}${percent(off)}, interval wider` : `no (${percent(off)})`;
}

function erlangTable(results: Map<string, RoutingResult>): string[] {
  const lines = [
    "| Agents | Load | Chats | Erlang C mean | Run's mean (95% interval) | Within 10% | Run less ideal queue: mean (95%); chats that differ; largest | Estimate: Erlang C + difference | Within 10% | Waited: run / Erlang C | 90th pct: run / Erlang C | Free slot to offer, max | Idle while a chat waited > 1 s | Chats per agent, of even | Wall |",
    "|---:|---:|---:|---:|---|---|---|---|---|---|---|---:|---:|---|---:|",
  ];
  for (const [agents, load] of ERLANG) {
    const result = results.get(`erlang-${agents}-${load}`);
    if (result === undefined) continue;
    const { handleSeconds } = result.scenario;
    const erlang = erlangWaits(agents, load * agents, handleSeconds);
    const raw = batchMeans(result.waits);
    const differences = result.waits.map((wait, i) => wait - (result.idealWaits[i] ?? Number.NaN));
    const difference = batchMeans(differences);
    const differing = differences.filter((seconds) => !(Math.abs(seconds) < 1e-6));
    const estimate = erlang.meanSeconds + difference.mean;
    const waited = result.waits.filter((seconds) => seconds > 0).length / Math.max(1, result.waits.length);
    lines.push(
      `| ${agents} | ${percent(load, 0)} | ${result.waits.length.toLocaleString("en")} | ${s(erlang.meanSeconds, 3)} | ${s(raw.mean, 3)} ± ${s(raw.halfWidth, 3)} | ${within10(raw.mean, raw.halfWidth, erlang.meanSeconds)} | ${s(difference.mean, 4)} ± ${s(difference.halfWidth, 4)}; ${differing.length.toLocaleString("en")}; ${s(max(differing.map(Math.abs)))} | ${s(estimate, 3)} ± ${s(difference.halfWidth, 4)} | ${within10(estimate, difference.halfWidth, erlang.meanSeconds)} | ${percent(waited, 2)} / ${percent(erlang.waitShare, 2)} | ${s(quantile(result.waits, 0.9), 1)} / ${s(erlang.quantileSeconds, 1)} | ${s(max(result.freeToOffer))} | ${result.idleWhileWaiting.over1s} (longest ${s(result.idleWhileWaiting.longestSeconds)}) | ${spread(result.shares)} | ${(result.wallMs / 1000).toFixed(0)} s |`,
    );
  }
  return lines;
}

/** The operations of a chat's routing, in order: what a routed chat costs. */
const CHAT_PATH = ["request-chat", "create", "router: route", "accept", "disconnect (agent)", "router: free", "router: expire"] as const;

function costTable(results: Map<string, RoutingResult>): string[] {
  const sizes = [20, 200, 2000].filter((agents) => results.has(`cost-${agents}`));
  const lines = [
    `| Operation | ${sizes.map((agents) => `${agents.toLocaleString("en")} agents: count, calls / RCU / WCU each`).join(" | ")} |`,
    `|---|${sizes.map(() => "---").join("|")}|`,
  ];
  const per = (figures: CostFigures | undefined) =>
    figures === undefined || figures.count === 0
      ? "-"
      : `${figures.count}: ${(figures.calls / figures.count).toFixed(2)} / ${(figures.readUnits / figures.count).toFixed(1)} / ${(figures.writeUnits / figures.count).toFixed(1)}`;
  for (const op of [...CHAT_PATH, "presence (renewal)"]) {
    lines.push(`| ${op} | ${sizes.map((agents) => per(results.get(`cost-${agents}`)?.cost[op])).join(" | ")} |`);
  }
  const perChat = (result: RoutingResult) => {
    const chats = result.cost.accept?.count ?? 0;
    const sum = (field: keyof CostFigures) => CHAT_PATH.reduce((total, op) => total + (result.cost[op]?.[field] ?? 0), 0);
    return `${chats} chats: ${(sum("calls") / chats).toFixed(1)} / ${(sum("readUnits") / chats).toFixed(1)} / ${(sum("writeUnits") / chats).toFixed(1)}`;
  };
  lines.push(
    `| **per routed chat** | ${sizes.map((agents) => `**${perChat(results.get(`cost-${agents}`) as RoutingResult)}**`).join(" | ")} |`,
  );
  return lines;
}

/** What a whole run measured: the simulations by name, and the local stack's latencies. */
interface Figures {
  readonly runs: Record<string, RoutingResult>;
  readonly local?: LocalLatency;
}

/** Chats per latency on the local stack. */
const LOCAL_SAMPLES = 20;

const ms = (values: readonly number[], q: number) => `${quantile(values, q).toFixed(0)} ms`;

function localTable(local: LocalLatency): string[] {
  const row = (what: string, values: readonly number[]) =>
    `| ${what} | ${values.length} | ${ms(values, 0.5)} | ${ms(values, 0.9)} | ${max(values).toFixed(0)} ms |`;
  return [
    "### On the local stack, in real time",
    "",
    "`npm start`'s stack (serverless-offline, dynalite, local-aws-sqs feeding the router function with 3 long-polling",
    "receivers), one agent's console on the push channel, offer timeout 5 s; measured after the simulations, alone.",
    "",
    "| From | Samples | Median | 90th pct | Max |",
    "|---|---:|---:|---:|---:|",
    row("a new chat's create answered, to the offer frame", local.newChatMs),
    row("a disconnect answered (a chat waiting), to the next offer frame", local.freeSlotMs),
    row("an offer's expiresAt, to the frame offering the chat to the next agent", local.expiryMs),
    "",
    "Deployed, SQS delivers a delayed message within about a second of its delay and starts the router function at once",
    "(no polling on our side); locally the receivers' long polls stand in for that.",
    "",
  ];
}

function section(results: Map<string, RoutingResult>, local: LocalLatency | undefined): string {
  const lines: string[] = [
    "## Routing: offers against Erlang C",
    "",
    `\`npm run bench:routing\` (bench/routing.ts), ${today()}, on ${machineDescription()}${SCALE === 1 ? "" : `, ROUTING_SCALE=${SCALE}`}.`,
    "A simulated centre (bench/routing-sim.ts) through the real handlers and the router function's tasks, on the",
    "simulation's clock: one endpoint whose chats are offered, equal agents taking one chat at a time (Erlang C's",
    "M/M/c), Poisson arrivals, exponential handle times (mean 120 s), every offer accepted at once. The runs against",
    "Erlang C use the memory stores (the same handlers and domain; the contract suite holds them to the DynamoDB",
    "adapter) because they are too long for dynalite; the cost runs use dynalite. The mean wait's interval is by",
    'batch means (20 batches of consecutive chats). "Within 10%": the whole interval within 10% of Erlang C, or',
    `both under ${NEGLIGIBLE_SECONDS} s where Erlang C predicts almost no waiting. Routing's own latency on a real stack`,
    "(the queue's delivery, the functions) is not in the simulation's clock.",
    "",
    "Near full load a queue's waits are so strongly correlated that a run's raw mean needs millions of chats to settle",
    "within 10%. So each run is also replayed, chat by chat, through an ideal first-come-first-served queue with as",
    "many agents (bench/erlang.ts `idealWaits`: same arrivals, same handle times, same empty start), whose long-run",
    "mean is Erlang C's exactly: the run's waits less the ideal ones say how far the router is from the physical",
    "limit, and Erlang C plus that difference is the estimate, with the difference's interval (a control variate on",
    "common random numbers). No chat that differs means the router offered every chat at the very instant an",
    "ideal queue would have started it. The few that differ came within the same millisecond as another chat: the queue",
    "orders chats by the millisecond they were queued, then by chat id, so such a pair may be served in either order",
    "(and, the two agents' handle times being different, the chats after them until the queue empties start a little",
    "earlier or later, by as much in total either way).",
    "",
    ...erlangTable(results),
    "",
  ];
  const refusals = results.get("refusals");
  if (refusals !== undefined) {
    const { agents, load, rejectShare, missShare, offerTimeout, awaySeconds, handleSeconds } = refusals.scenario;
    const erlang = erlangWaits(agents, load * agents, handleSeconds);
    const { mean: wait, halfWidth } = batchMeans(refusals.waits.filter(Number.isFinite));
    lines.push(
      "### Refusals and misses",
      "",
      `${agents} agents at ${percent(load, 0)}, ${percent(rejectShare, 0)} of offers refused after 3 s, ${percent(missShare, 0)} left to time out (offer timeout ${offerTimeout} s; the agent who missed goes not ready and is back ${awaySeconds} s later), ${refusals.waits.length.toLocaleString("en")} chats measured.`,
      "",
      "| Offers placed | Refused | Timed out | Expiry to the next offer: median / max | Free slot to offer, max | Mean wait (95% interval) | Erlang C, no refusals | Unanswered | Failed calls |",
      "|---:|---:|---:|---|---:|---|---:|---:|---:|",
      `| ${refusals.offers.placed.toLocaleString("en")} | ${refusals.offers.refused.toLocaleString("en")} | ${refusals.offers.missed.toLocaleString("en")} | ${s(quantile(refusals.missToOffer, 0.5))} / ${s(max(refusals.missToOffer))} | ${s(max(refusals.freeToOffer))} | ${s(wait, 3)} ± ${s(halfWidth, 3)} | ${s(erlang.meanSeconds, 3)} | ${refusals.unanswered} | ${refusals.failures} |`,
      "",
      "A refusal or a miss costs its chat the seconds until the refusal, or the whole offer timeout, plus the agent's",
      "away time for a miss: the wait above Erlang C's is that, not the router's.",
      "",
    );
  }
  const fairness = results.get("fairness");
  if (fairness !== undefined) {
    lines.push(
      "### Fairness",
      "",
      `${fairness.scenario.agents} equal agents at ${percent(fairness.scenario.load, 0)}, constant handle times (${fairness.scenario.handleSeconds} s), ${fairness.waits.length.toLocaleString("en")} chats: each agent's chats, smallest and largest, of even: ${spread(fairness.shares)}.`,
      "With exponential handle times an agent's count also varies with its customers' chats; the table above gives that spread.",
      "",
    );
  }
  if ([20, 200, 2000].some((agents) => results.has(`cost-${agents}`))) {
    lines.push(
      "### What routing costs, on dynalite",
      "",
      "At 95% occupancy (handle time 30 s), 300 chats per size: per operation, its count, then DynamoDB calls / read units /",
      "write units per call; per routed chat, the chat's operations (request-chat to the expiry task of its accepted",
      "offer) over the chats accepted. Presence renewals are the agents' and grow with time, not chats.",
      "",
      ...costTable(results),
      "",
    );
  }
  if (local !== undefined) lines.push(...localTable(local));
  const failed = [...results.values()].reduce((sum, result) => sum + result.failures, 0);
  lines.push(`Failed handler calls over every run: ${failed}.`);
  for (const [name, result] of results) for (const sample of result.failureSamples) lines.push(`- ${name}: ${sample}`);
  return lines.join("\n");
}

async function main(): Promise<void> {
  const at = process.argv.indexOf("--run");
  if (at !== -1) return runOne(process.argv[at + 1] ?? "");
  // The runs' figures are kept, so that the section can be written again from them (`--report <file>`).
  const saved = join(tmpdir(), "gms-chat-routing-results.json");
  const from = process.argv.indexOf("--report");
  let figures: Figures;
  if (from === -1) {
    const runs = await runAll(Math.max(1, cpus().length));
    // Alone on the machine, after the simulations: real time.
    log("the local stack: offers' latency");
    const local = process.env.ROUTING_LOCAL === "false" ? undefined : await measureLocalLatency(LOCAL_SAMPLES);
    figures = { runs: Object.fromEntries(runs), ...(local === undefined ? {} : { local }) };
    await writeFile(saved, JSON.stringify(figures));
    log(`kept the runs' figures in ${saved}`);
  } else {
    figures = JSON.parse(await readFile(process.argv[from + 1] ?? saved, "utf8")) as Figures;
  }
  const text = section(new Map(Object.entries(figures.runs)), figures.local);
  process.stdout.write(`${text}\n`);
  if (process.env.ROUTING_WRITE === "false") return;
  const file = join(root, "BENCHMARKS.md");
  await writeFile(file, withSection(await readFile(file, "utf8").catch(() => "# Benchmarks\n"), "routing", text));
  log("wrote the routing section of BENCHMARKS.md");
}

await main();
