/**
 * `npm run bench:estimate`: how close the wait estimate (lib/routing/estimate.ts, docs/waiting.md)
 * comes to the wait that followed, beside the three formulas in the field, on the same chats.
 *
 * The chats go through an ideal first-come-first-served queue with one slot per agent: the queue the
 * router reproduces chat for chat (`npm run bench:routing`: every chat started when the ideal queue
 * started it, but pairs queued within the same millisecond). Poisson arrivals; handle times
 * exponential or log-normal (sigma 1: heavy-tailed), 120 s mean; 20 and 200 agents; loads of 50, 80
 * and 95%, steady, or with a step of +50% arrivals for ten minutes in the middle. Each estimate is
 * made as the chat comes, from what the endpoint knows then: its position, the slots, how long the
 * chats in progress have run, the last 200 handle times, the waits so far:
 *
 * - this project: estimateWait (offers accepted at once here: offerSeconds 0);
 * - Rocket.Chat: ((position - 1) / 100 + 1) x the mean handle time;
 * - Comm100: (floor((position - 1) / slots) + 1) x the mean handle time;
 * - Salesforce: a moving average of the waits of the chats that started, A = 0.9 A + 0.1 W.
 *
 * Scored on the chats that found every slot taken (the others start at once, and every method but
 * the field's says so): mean absolute error and bias (mean of estimate less wait), each also as a
 * share of the mean wait. ESTIMATE_SCALE (default 1) multiplies the chats; ESTIMATE_WRITE=false
 * prints the section without writing BENCHMARKS.md.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { seededRandom } from "../lib/random.ts";
import { estimateWait } from "../lib/routing/estimate.ts";
import { machineDescription, today, withSection } from "./report.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const SCALE = Number(process.env.ESTIMATE_SCALE ?? 1);
const HANDLE_SECONDS = 120;
const SAMPLE = 200;
const STEP_SECONDS = 600;

type Shape = "exponential" | "log-normal";
interface Scenario {
  readonly agents: number;
  readonly load: number;
  readonly shape: Shape;
  readonly step: boolean;
  readonly chats: number;
  readonly seed: number;
}

const METHODS = ["this project", "Rocket.Chat", "Comm100", "Salesforce"] as const;
type Method = (typeof METHODS)[number];

interface Score {
  readonly scored: number;
  readonly meanWait: number;
  readonly errors: Record<Method, { readonly mae: number; readonly bias: number }>;
}

function handleTime(draw: () => number, shape: Shape): number {
  if (shape === "exponential") return -Math.log(1 - draw()) * HANDLE_SECONDS;
  // Log-normal with sigma 1 and the same mean: mu = ln(mean) - sigma^2 / 2.
  const normal = Math.sqrt(-2 * Math.log(1 - draw())) * Math.cos(2 * Math.PI * draw());
  return Math.exp(Math.log(HANDLE_SECONDS) - 0.5 + normal);
}

export function run(scenario: Scenario): Score {
  const draw = seededRandom(scenario.seed);
  const rate = (scenario.load * scenario.agents) / HANDLE_SECONDS;
  // Each slot's chat: when it started and when it ends (a free slot: ended at or before now).
  const started = new Array<number>(scenario.agents).fill(0);
  const ends = new Array<number>(scenario.agents).fill(0);
  const recent: number[] = [];
  /** The chats in line, oldest first: when each came, its handle time, and the estimates it was given. */
  const line: { at: number; handle: number; estimates?: Record<Method, number> }[] = [];
  let average: number | undefined;
  const warmup = Math.floor(scenario.chats / 10);
  const middle = (scenario.chats / rate) * 0.5;
  const sums = Object.fromEntries(METHODS.map((m) => [m, { abs: 0, signed: 0 }])) as Record<Method, { abs: number; signed: number }>;
  let scored = 0;
  let waited = 0;
  /** A chat starts on a slot: the moving average learns its wait, a scored chat is scored. */
  const begin = (slot: number, at: number, chat: (typeof line)[number]) => {
    started[slot] = at;
    ends[slot] = at + chat.handle;
    const wait = at - chat.at;
    average = average === undefined ? wait : 0.9 * average + 0.1 * wait;
    if (chat.estimates === undefined) return;
    scored += 1;
    waited += wait;
    for (const method of METHODS) {
      const error = chat.estimates[method] - wait;
      sums[method].abs += Math.abs(error);
      sums[method].signed += error;
    }
  };
  /** Runs the slots' ends up to `now`: each freed slot joins the sample and takes the oldest chat in line. */
  const advance = (now: number) => {
    for (;;) {
      let slot = -1;
      for (let s = 0; s < scenario.agents; s += 1) {
        const end = ends[s] as number;
        if (end > (started[s] as number) && end <= now && (slot === -1 || end < (ends[slot] as number))) slot = s;
      }
      if (slot === -1) return;
      const end = ends[slot] as number;
      recent.push(end - (started[slot] as number));
      if (recent.length > SAMPLE) recent.shift();
      const next = line.shift();
      if (next === undefined) started[slot] = end;
      else begin(slot, end, next);
    }
  };
  let at = 0;
  for (let n = 0; n < scenario.chats; n += 1) {
    const stepped = scenario.step && at >= middle && at < middle + STEP_SECONDS;
    at += -Math.log(1 - draw()) / (stepped ? rate * 1.5 : rate);
    const chat: (typeof line)[number] = { at, handle: handleTime(draw, scenario.shape) };
    advance(at);
    const elapsed: number[] = [];
    let free = -1;
    for (let s = 0; s < scenario.agents; s += 1) {
      if ((ends[s] as number) > at) elapsed.push(at - (started[s] as number));
      else free = s;
    }
    if (free !== -1) {
      begin(free, at, chat);
      continue;
    }
    const position = line.length + 1;
    const mean = recent.length === 0 ? HANDLE_SECONDS : recent.reduce((sum, h) => sum + h, 0) / recent.length;
    if (n >= warmup) {
      chat.estimates = {
        "this project": Math.max(0, estimateWait({ position, slots: scenario.agents, elapsed, handleTimes: recent, offerSeconds: 0 })),
        "Rocket.Chat": ((position - 1) / 100 + 1) * mean,
        Comm100: (Math.floor((position - 1) / scenario.agents) + 1) * mean,
        Salesforce: average ?? 0,
      };
    }
    line.push(chat);
  }
  const errors = Object.fromEntries(
    METHODS.map((m) => [m, { mae: sums[m].abs / Math.max(1, scored), bias: sums[m].signed / Math.max(1, scored) }]),
  ) as Score["errors"];
  return { scored, meanWait: waited / Math.max(1, scored), errors };
}

function section(results: readonly [Scenario, Score][]): string {
  const pct = (value: number, of: number) => (of > 0 ? `${((100 * value) / of).toFixed(0)}%` : "-");
  const rows = results.map(([s, score]) => {
    const scenario = `| ${s.agents} | ${Math.round(s.load * 100)}% | ${s.shape} | ${s.step ? "+50% for 10 min" : "steady"} |`;
    if (score.scored === 0) return `${scenario} 0 | - | ${METHODS.map(() => "no chat found every slot taken").join(" | ")} |`;
    const best = METHODS.reduce((a, b) => (score.errors[b].mae < score.errors[a].mae ? b : a));
    const cells = METHODS.map((m) => {
      const { mae, bias } = score.errors[m];
      const text = `${mae.toFixed(1)} s (${pct(mae, score.meanWait)}), bias ${bias >= 0 ? "+" : ""}${bias.toFixed(1)} s (${pct(bias, score.meanWait)})`;
      return m === best ? `**${text}**` : text;
    });
    return `${scenario} ${score.scored.toLocaleString("en")} | ${score.meanWait.toFixed(1)} s | ${cells.join(" | ")} |`;
  });
  return [
    "## The wait estimate against the field's formulas (`npm run bench:estimate`)",
    "",
    `Measured ${today()} on ${machineDescription()}. Each chat's estimate as it came, against the wait that followed,`,
    "on an ideal first-come-first-served queue (the one the router reproduces chat for chat), scored on the chats",
    "that found every slot taken; the first tenth of each run is warm-up. Mean absolute error (share of the mean",
    "wait) and bias (estimate less wait); the lowest error of the four in bold. Handle times: 120 s mean;",
    "log-normal with sigma 1. Formulas: docs/waiting.md.",
    "",
    `| Agents | Load | Handle times | Arrivals | Scored chats | Mean wait | ${METHODS.join(" | ")} |`,
    `|---|---|---|---|---|---|${METHODS.map(() => "---").join("|")}|`,
    ...rows,
  ].join("\n");
}

async function main(): Promise<void> {
  const scenarios: Scenario[] = [];
  let seed = 20_261_208;
  for (const agents of [20, 200])
    for (const load of [0.5, 0.8, 0.95])
      for (const shape of ["exponential", "log-normal"] as const)
        for (const step of [false, true]) scenarios.push({ agents, load, shape, step, chats: Math.round(60_000 * SCALE), seed: seed++ });
  const results: [Scenario, Score][] = [];
  for (const scenario of scenarios) {
    const started = performance.now();
    results.push([scenario, run(scenario)]);
    process.stderr.write(
      `[bench:estimate] ${scenario.agents} agents, ${scenario.load}, ${scenario.shape}, ${scenario.step ? "step" : "steady"}: ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
    );
  }
  const text = section(results);
  process.stdout.write(`${text}\n`);
  if (process.env.ESTIMATE_WRITE === "false") return;
  const file = join(root, "BENCHMARKS.md");
  await writeFile(file, withSection(await readFile(file, "utf8").catch(() => "# Benchmarks\n"), "estimate", text));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
