/**
 * `npm run bench`: builds every function as deployed plus the baseline (bench/baseline), then
 * measures, on this machine and in one run: bundle size, cold module load, warm cost per request
 * against a DynamoDB stand-in that answers instantly, DynamoDB calls and capacity per request on
 * dynalite, peak RSS after 10,000 requests, and request-chat's throughput through the whole local
 * stack beside the baseline served the same way, and push beside polling on that stack (bench/push.ts).
 * Prints a table and writes BENCHMARKS.md, keeping its scale section (`npm run bench:scale`'s) as it is.
 */
import { execFile, fork } from "node:child_process";
import { once } from "node:events";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import autocannon from "autocannon";
import { type Bundle, buildFunctionBundles, buildOne } from "../scripts/local/bundles.ts";
import { DynamoProxy } from "../scripts/local/dynamo-proxy.ts";
import { startLocalStack } from "../scripts/local/launch.ts";
import { freePort } from "../scripts/local/ports.ts";
import { killGroup, spawnOffline, watchOutput } from "../scripts/local/processes.ts";
import { ensureTables, LOCAL_AWS_ENV, stageTableNames, startDynalite, toolingDocumentClient } from "../scripts/local/stack.ts";
import { REQUESTS, SEED_ITEMS, standInAnswer } from "./fixtures.ts";
import { measurePush, pushSection } from "./push.ts";
import { machineDescription, SECTIONS, type SectionName, sectionOf, today } from "./report.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = join(root, ".esbuild/bench");
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 25);
const WARM_REQUESTS = Number(process.env.BENCH_WARM_REQUESTS ?? 10_000);
const WARM_ROUNDS = Number(process.env.BENCH_WARM_ROUNDS ?? 3);
const STACK_REQUESTS = Number(process.env.BENCH_STACK_REQUESTS ?? 3_000);
const tables = stageTableNames("dev");

const median = (values: number[]) => quantile(values, 0.5);
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return required(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))], "a measurement");
}
function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is missing`);
  return value;
}
const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

/** Answers DynamoDB's JSON protocol from fixtures, at once: the handler's own cost remains. */
async function startStandIn(): Promise<{ server: Server; endpoint: string }> {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      const operation = String(req.headers["x-amz-target"]).split(".").pop() ?? "";
      res
        .writeHead(200, { "content-type": "application/x-amz-json-1.0" })
        .end(JSON.stringify(standInAnswer(operation, JSON.parse(body || "{}"))));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function workerEnv(endpoint: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...LOCAL_AWS_ENV,
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    SESSIONS_TABLE: tables.sessions,
    CONFIG_TABLE: tables.config,
    CORS_ALLOWED_ORIGINS: "*",
    // What the functions check at cold start: the console's pool, the pages' push address, the
    // token verifier's pool. None of it is called in the measured requests.
    CONSOLE_IDENTITY_REGION: "us-east-1",
    CONSOLE_USER_POOL_ID: "us-east-1_Bench",
    CONSOLE_CLIENT_ID: "benchclient",
    PUSH_URL: "ws://localhost:3001",
    IDENTITY_ISSUER: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Bench",
    IDENTITY_JWKS_URI: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Bench/.well-known/jwks.json",
    IDENTITY_CLIENT_ID: "benchclient",
  };
}

/** Cold loads also of the push function, which needs the Management API's address (the measured requests push nothing). */
const coldEnv = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({ ...env, PUSH_MANAGEMENT_URL: "http://localhost:3001" });

async function coldLoad(bundle: Bundle, env: NodeJS.ProcessEnv): Promise<number> {
  const script = "const t=performance.now();await import(process.argv[1]);process.stdout.write(String(performance.now()-t))";
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script, bundle.file], { env });
  return Number(stdout);
}

/** The worker, bundled on its own so that its process holds nothing but Node, the subject and the fixtures. */
let workerFile = "";

function warm(bundle: Bundle, env: NodeJS.ProcessEnv): Promise<{ medianMs: number; p99Ms: number; rps: number; maxRssMb: number }> {
  const child = fork(workerFile, [bundle.file, bundle.name, "warm", String(WARM_REQUESTS)], {
    env,
    execArgv: [],
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    child.once("message", (result) => resolve(result as never));
    child.once("exit", (code) => code !== 0 && reject(new Error(`${bundle.name} warm run exited with ${code}`)));
  });
}

async function callsPerRequest(bundle: Bundle, env: NodeJS.ProcessEnv, proxy: DynamoProxy) {
  const child = fork(workerFile, [bundle.file, bundle.name, "once"], { env, execArgv: [], stdio: ["ignore", "ignore", "inherit", "ipc"] });
  await once(child, "message");
  proxy.reset();
  child.send("go");
  await once(child, "message");
  const measured = proxy.cost();
  child.kill();
  return measured;
}

async function stackThroughput(url: string): Promise<{ rps: number; p50: number; p99: number; non2xx: number }> {
  const result = await autocannon({
    url,
    connections: 50,
    amount: STACK_REQUESTS,
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "firstName=Anna&lastName=Smith&email=anna%40example.com&subject=Billing",
  });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx + result.errors };
}

/** The baseline under serverless-offline, from bench/baseline, on a free port. */
async function startBaselineOffline(dynamoEndpoint: string) {
  const port = await freePort();
  const child = spawnOffline(join(root, "bench/baseline"), port, {
    ...process.env,
    ...LOCAL_AWS_ENV,
    AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
    GMS_BUILD_FOLDER: `.esbuild/bench-${port}`,
  });
  try {
    await watchOutput(child, "the baseline's serverless offline").until("Server ready");
  } catch (error) {
    killGroup(child);
    throw error;
  }
  return {
    url: `http://127.0.0.1:${port}/genesys/1/service/request-chat`,
    stop: async () => {
      killGroup(child, "SIGINT");
      await once(child, "exit");
      killGroup(child);
      await rm(join(root, "bench/baseline/.esbuild"), { recursive: true, force: true });
    },
  };
}

/** Servers and processes the run started, stopped however it ends (a failure must not leave them running). */
const running = new Map<string, () => unknown>();
function track(name: string, stop: () => unknown): void {
  running.set(name, stop);
}
async function release(name: string): Promise<void> {
  const stop = running.get(name);
  running.delete(name);
  await stop?.();
}

async function main() {
  try {
    await measure();
  } finally {
    for (const name of [...running.keys()].reverse()) await release(name);
  }
}

async function measure() {
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  log("building bundles");
  const bundles = await buildFunctionBundles(out);
  const baseline = await buildOne(
    "baseline",
    {
      bundle: true,
      minify: true,
      format: "cjs",
      platform: "node",
      target: "node22",
      entryPoints: [join(root, "bench/baseline/handler.ts")],
    },
    join(out, "baseline.cjs"),
  );
  workerFile = (
    await buildOne(
      "worker",
      { bundle: true, format: "esm", platform: "node", target: "node20", entryPoints: [join(root, "bench/worker.ts")] },
      join(out, "worker.mjs"),
    )
  ).file;
  const all = [baseline, ...bundles];
  const measured = all.filter((bundle) => REQUESTS[bundle.name] !== undefined);

  const standIn = await startStandIn();
  track("stand-in", () => standIn.server.close());
  const standInEnv = workerEnv(standIn.endpoint);
  log(`cold module load: ${COLD_RUNS} fresh processes per bundle`);
  const cold = new Map<string, number[]>(all.map((bundle) => [bundle.name, []]));
  for (let run = 0; run < COLD_RUNS; run++) {
    for (const bundle of all) required(cold.get(bundle.name), bundle.name).push(await coldLoad(bundle, coldEnv(standInEnv)));
  }
  // Run-to-run drift on a small machine is larger than the differences measured, so the subjects
  // take turns over several rounds and each figure is the median of its rounds.
  log(`warm cost: ${WARM_ROUNDS} rounds of ${WARM_REQUESTS} in-process requests per function against the stand-in`);
  const rounds = new Map<string, Awaited<ReturnType<typeof warm>>[]>(measured.map((bundle) => [bundle.name, []]));
  for (let round = 0; round < WARM_ROUNDS; round++) {
    for (const bundle of measured) required(rounds.get(bundle.name), bundle.name).push(await warm(bundle, standInEnv));
  }
  const warmResults = new Map(
    [...rounds].map(([name, runs]) => [
      name,
      {
        medianMs: median(runs.map((r) => r.medianMs)),
        p99Ms: median(runs.map((r) => r.p99Ms)),
        rps: median(runs.map((r) => r.rps)),
        maxRssMb: Math.max(...runs.map((r) => r.maxRssMb)),
      },
    ]),
  );
  await release("stand-in");

  log("DynamoDB calls and capacity on dynalite");
  const dynamo = await startDynalite({ port: 0 });
  track("dynalite", () => dynamo.close());
  const seedClient = toolingDocumentClient(dynamo.endpoint);
  await ensureTables(seedClient, tables);
  for (const { table, item } of SEED_ITEMS) {
    await seedClient.send(new PutItemCommand({ TableName: tables[table], Item: item }));
  }
  seedClient.destroy();
  const proxy = await DynamoProxy.start(dynamo.endpoint);
  track("counting proxy", () => proxy.close());
  const calls = new Map<string, { calls: number; readUnits: number; writeUnits: number }>();
  for (const bundle of measured) calls.set(bundle.name, await callsPerRequest(bundle, workerEnv(proxy.endpoint), proxy));
  await release("counting proxy");

  log(`whole local stack: ${STACK_REQUESTS} request-chat calls at 50 connections, ours then the baseline`);
  const stack = await startLocalStack({ AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint });
  track("local stack", () => stack.stop());
  const ours = await stackThroughput(`${stack.baseUrl}/genesys/1/service/request-chat`);
  const pushed = await measurePush(stack, log);
  await release("local stack");
  const baselineServer = await startBaselineOffline(dynamo.endpoint);
  track("baseline stack", () => baselineServer.stop());
  const theirs = await stackThroughput(baselineServer.url);
  await release("baseline stack");
  await release("dynalite");

  const baseCold = median(required(cold.get("baseline"), "the baseline's cold loads"));
  const baseWarm = required(warmResults.get("baseline"), "the baseline's warm run").medianMs;
  const ratio = (value: number, base: number) => `${(value / base).toFixed(2)}x`;
  const rows = all.map((bundle) => {
    const c = required(cold.get(bundle.name), bundle.name);
    const w = warmResults.get(bundle.name);
    const d = calls.get(bundle.name);
    const s = bundle.name === "baseline" ? theirs : bundle.name === "requestChat" ? ours : undefined;
    return [
      bundle.name,
      REQUESTS[bundle.name]?.label ?? UNMEASURED[bundle.name] ?? "(cold load only)",
      `${(bundle.bytes / 1024).toFixed(0)} KB / ${(bundle.gzipBytes / 1024).toFixed(0)} KB`,
      `${median(c).toFixed(1)} / ${quantile(c, 0.9).toFixed(1)} ms (${ratio(median(c), baseCold)})`,
      w ? `${w.medianMs.toFixed(3)} / ${w.p99Ms.toFixed(3)} ms (${ratio(w.medianMs, baseWarm)})` : "-",
      w ? w.rps.toFixed(0) : "-",
      d ? `${d.calls} (${d.readUnits} RCU, ${d.writeUnits} WCU)` : "-",
      w ? `${w.maxRssMb.toFixed(0)} MB` : "-",
      s ? `${s.rps.toFixed(0)} req/s, p50 ${s.p50} ms, p99 ${s.p99} ms${s.non2xx ? `, ${s.non2xx} non-2xx` : ""}` : "-",
    ];
  });
  const header = [
    "function",
    "request",
    "bundle (min / gzip)",
    "cold load median / p90",
    "warm median / p99",
    "warm req/s",
    "DynamoDB calls per request",
    `peak RSS after ${WARM_REQUESTS} requests`,
    "local stack, 50 connections",
  ];
  const table = [header, header.map(() => "---"), ...rows].map((row) => `| ${row.join(" | ")} |`).join("\n");
  const machine = machineDescription();
  const date = today();
  console.log(table);
  console.log(`\n${machine}, ${date}`);
  console.log(`\n${pushSection(pushed)}`);
  // The scale and routing sections are their own commands' (bench/scale.ts, bench/routing.ts): kept as they are.
  const file = join(root, "BENCHMARKS.md");
  const existing = await readFile(file, "utf8").catch(() => "");
  const kept = (Object.keys(SECTIONS) as SectionName[]).map((name) => sectionOf(existing, name)).filter((text) => text !== "");
  await writeFile(
    file,
    `${BENCHMARKS_HEAD}\n\nMeasured ${date} on ${machine}.\n\n${table}\n\n${BENCHMARKS_NOTES}\n\n${pushSection(pushed)}\n${kept.map((text) => `\n${text}\n`).join("")}`,
  );
  log("wrote BENCHMARKS.md");
}

/** What the functions measured by their cold load only are. */
const UNMEASURED: Record<string, string> = {
  seed: "(custom resource, no HTTP)",
  authorizer: "(API Gateway authorizer: cold load only)",
  adminAuthorizer: "(API Gateway authorizer: cold load only)",
  push: "(WebSocket API: see Push beside polling)",
  comet: "(CometD long-polling: docs/api.md)",
};

const BENCHMARKS_HEAD = `# Benchmarks

\`npm run bench\` produced this file; run it again to measure your machine. Ratios are to the
baseline (\`bench/baseline/handler.ts\`): the request-chat handler a user would write first, bundled
the way serverless-esbuild does by default (minified CommonJS).`;

const BENCHMARKS_NOTES = `How each column is measured:

- **bundle**: the file each function deploys, built with serverless.yml's esbuild options; gzip level 9.
- **cold load**: time to \`import()\` the bundle in a fresh Node process (${COLD_RUNS} processes per bundle, interleaved), i.e. the module-load part of a Lambda cold start.
- **warm**: ${WARM_REQUESTS.toLocaleString("en")} sequential in-process invocations after 300 warm-up ones, in a fresh process, against a DynamoDB stand-in that answers each call at once from fixtures, so the figure is the handler's own CPU cost including the SDK. The subjects take turns over ${WARM_ROUNDS} rounds and each figure is the median of the rounds' (the same bundle varies by up to a third from one process to the next on this 2-core machine). \`warm req/s\` is one process's sequential rate.
- **DynamoDB calls**: one request against dynalite behind the proxy the tests use (\`scripts/local/dynamo-proxy.ts\`), which asks every call for its consumed capacity (dynalite computes it as DynamoDB does: strongly consistent reads 1 RCU per 4 KB, writes 1 WCU per 1 KB).
- **peak RSS**: the largest maximum resident set of the warm runs' processes.
- **local stack**: autocannon, ${STACK_REQUESTS.toLocaleString("en")} request-chat calls at 50 connections through serverless-offline and dynalite, ours under \`npm start\`'s script, the baseline from \`bench/baseline/serverless.yml\`. It measures the local emulation more than the code.`;

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
