/**
 * A simulated contact centre, driven through the real handlers in process against dynalite, for
 * `npm run bench:scale` (bench/scale.ts, full size) and the scale budgets (tests/budgets/scale.test.ts,
 * small). Everything goes through the handlers' HTTP-shaped events, as API Gateway passes them
 * (agent calls with the authorizer's context of that agent, admin calls with a machine caller's):
 * the admin API configures the services, agents go ready and renew their presence, customers
 * request chats and talk to the agents who accept them. The storage layout under the handlers is
 * whatever lib/ has; nothing here knows it.
 *
 * The proxy in front of dynalite (scripts/local/dynamo-proxy.ts) records every DynamoDB call with the
 * partitions it touched and the simulated second it belongs to (its tag), so that what each
 * partition key received in each second can be held against DynamoDB's per-partition limits; each
 * handler call's own capacity is counted too, by operation.
 *
 * `simulate` runs this timeline:
 * - setup: the built-in defaults as `npm start` seeds them (the `request-chat` service, its endpoint
 *   `gms_builtin` open by a notification), then `services` services through the admin API, spread
 *   evenly over `endpoints` chat endpoints. No other availability notification: the simulation's
 *   endpoints are available because agents are ready on them.
 * - warm-up, seconds 0 to heartbeatSeconds-1: the agents (spread evenly over the endpoints) go ready,
 *   an even share each second; each then renews its presence every heartbeatSeconds.
 * - the chats, from second heartbeatSeconds on: `chatsPerSecond` new ones each second for `seconds`
 *   seconds, spread evenly over the services. Each chat takes nine seconds: request-chat and the
 *   customer's create; an agent ready on its endpoint reads the endpoint's queue and accepts the
 *   chat; six messages, one a second, customer and agent in turn; the customer (even chats) or the
 *   agent (odd ones) disconnects. Nobody polls (`refresh`): each message's answer brings the other
 *   side's messages since the sender's position.
 * - request-chat's latency, when asked for (`latencyAt`): `latencySamples` sequential calls on the
 *   built-in service (open by its notification whatever the agents do) before the warm-up for 0
 *   agents, and after the warm-up second that brings that many agents ready otherwise. The clock
 *   stands still meanwhile, and their calls are tagged "latency", apart from the seconds.
 * - afterwards, `timingChats` chats one call at a time (tagged "timing"): each operation's handler
 *   duration alone, which the cost estimate bills as Lambda time.
 *
 * Within a simulated second the second's handler calls run side by side, at most `concurrency` at
 * once, and `now()` answers the second.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import { seedDefaults } from "../lib/config/defaults.ts";
import { capacityUnits, READ_OPERATIONS } from "../lib/dynamo/request-scope.ts";
import { dynamoStores } from "../lib/dynamo/stores.ts";
import { tableDefinitions } from "../lib/dynamo/tables.ts";
import { corsPolicy } from "../lib/http/cors.ts";
import { adminHandler } from "../lib/http/routes/admin.ts";
import { agentHandler } from "../lib/http/routes/agent.ts";
import { chatHandler } from "../lib/http/routes/chat.ts";
import { requestChatHandler } from "../lib/http/routes/request-chat.ts";
import { memoryStores } from "../lib/memory/stores.ts";
import { MemoryWork } from "../lib/memory/work.ts";
import { pushListener } from "../lib/push/push.ts";
import { type AgentListeners, NO_AGENT_LISTENERS } from "../lib/routing/listeners.ts";
import type { RoutingTask } from "../lib/routing/work.ts";
import { chatIdOf } from "../lib/session/ids.ts";
import type { ConfigStore } from "../lib/storage.ts";
import { type Stores, wire } from "../lib/wire.ts";
import { DynamoProxy, type ProxiedCall } from "../scripts/local/dynamo-proxy.ts";
import { httpEvent } from "../scripts/local/events.ts";
import { ensureTables, startDynalite, toolingDocumentClient } from "../scripts/local/stack.ts";

/** request-chats made and not measured before each latency measurement. */
const LATENCY_WARM_UP = 100;

/** DynamoDB's throughput limits per partition, per second. */
export const PARTITION_LIMITS = { readUnits: 3_000, writeUnits: 1_000 } as const;

/** The Lambda functions of serverless.yml that the simulation calls. */
export type LambdaFunction = "requestChat" | "chat" | "agent" | "admin";

/** What one handler call consumed in DynamoDB. */
export interface Consumed {
  calls: number;
  readUnits: number;
  writeUnits: number;
}

// Answers are read field by field.
// biome-ignore lint/suspicious/noExplicitAny: see above.
export type Json = Record<string, any>;

export interface Answer {
  readonly status: number;
  /** The JSON body ({} when empty). */
  readonly body: Json;
  readonly consumed: Consumed;
  readonly ms: number;
}

const FORM = { "content-type": "application/x-www-form-urlencoded" };
const MACHINE = { outcome: "machine" } as const;

/**
 * A contact centre's backend in process: the request-chat, chat, agent and admin functions on the
 * production wiring (handlers/*.ts and lib/push-runtime.ts, with a deployed stage's WebSocket push
 * listener, which looks for listeners of every event written; nobody listens here, so nothing is
 * sent), and the router function's tasks (`route`), over a fresh dynalite behind a recording proxy
 * (`start`) or over the memory stores (`inMemory`, held to the DynamoDB adapter by the contract
 * suite, for runs too long for dynalite), on a simulated clock (epoch seconds, fractions allowed).
 */
export class ContactCentre {
  /** The simulated time, in epoch seconds: what the handlers' `now()` answers. Starts at the present second. */
  clock = Math.floor(Date.now() / 1000);
  /** Every call, answered or not, is reported here first (the simulation's bookkeeping). */
  onAnswer: ((op: string, lambda: LambdaFunction, answer: Answer, ok: boolean) => void) | undefined;

  private readonly meters = new AsyncLocalStorage<Consumed>();
  private readonly handlers: Record<LambdaFunction, (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>>;
  /** Who hears of offers, withdrawals and presence the service tells agents (`listen`). */
  private heard: AgentListeners = NO_AGENT_LISTENERS;

  private constructor(
    /** The proxy in front of dynalite that records every call's partitions; none in memory. */
    readonly proxy: DynamoProxy | undefined,
    stores: Stores,
    private readonly stop: () => Promise<void>,
  ) {
    // The production composition, on the bench's clock, with every connection gone.
    const now = () => new Date(this.clock * 1000);
    this.work = new MemoryWork(now);
    const service = wire(stores, {
      now,
      work: this.work,
      sender: { send: async () => "gone" as const },
      listen: [pushListener],
      tell: {
        offered: (agentId, offer) => this.heard.offered(agentId, offer),
        withdrawn: (agentId, chatId, reason) => this.heard.withdrawn(agentId, chatId, reason),
        presence: (agentId, presence) => this.heard.presence(agentId, presence),
      },
    });
    this.runTask = service.runTask;
    this.config = service.config;
    const cors = corsPolicy("*");
    this.handlers = {
      requestChat: requestChatHandler({ ...service, cors }),
      chat: chatHandler({ ...service, cors }),
      agent: agentHandler({ ...service, cors }),
      admin: adminHandler({ ...service, cors }),
    };
  }

  /** The config store, for what only the deployment itself writes (the built-in defaults). */
  readonly config: ConfigStore;
  /** Routing's queue, run by `route()` (the router function's part). */
  private readonly work: MemoryWork;
  private readonly runTask: (task: RoutingTask) => Promise<void>;
  /** Agents given a profile (through the admin API) before their first `ready`. */
  private readonly profiled = new Set<string>();

  /** Agents' tokens last a week from the simulated present. */
  private get tokenExpiry(): string {
    return String(Math.floor(this.clock) + 7 * 86_400);
  }

  /**
   * Runs routing's tasks that are due, as the router function would; each task's DynamoDB calls are
   * counted apart and reported to `onTask` (or, without it, to the handler call under way).
   */
  route(onTask?: (kind: RoutingTask["kind"], consumed: Consumed) => void): Promise<number> {
    if (onTask === undefined) return this.work.drain(this.runTask);
    return this.work.drain(async (task) => {
      const consumed: Consumed = { calls: 0, readUnits: 0, writeUnits: 0 };
      await this.meters.run(consumed, () => this.runTask(task));
      onTask(task.kind, consumed);
    });
  }

  /** When routing's next task is due, in simulated epoch seconds (undefined: none waits). */
  nextTaskDue(): number | undefined {
    const due = this.work.nextDue();
    return due === undefined ? undefined : due / 1000;
  }

  /** Hears what the service tells agents from now on (the push frames a console would receive). */
  listen(listeners: AgentListeners): void {
    this.heard = listeners;
  }

  /** A centre on the memory stores: no dynalite, no proxy, each call's cost not counted. */
  static inMemory(): ContactCentre {
    return new ContactCentre(undefined, memoryStores(), async () => undefined);
  }

  /** Starts dynalite on a free port, the proxy in front of it, and the tables. */
  static async start(): Promise<ContactCentre & { readonly proxy: DynamoProxy }> {
    const dynamo = await startDynalite({ port: 0 });
    const proxy = await DynamoProxy.start(dynamo.endpoint);
    // A patient client: dynalite on a busy machine answers far slower than DynamoDB, and the
    // service's own client would give up (and retry, counting twice) where DynamoDB would have answered.
    const setupClient = toolingDocumentClient(dynamo.endpoint);
    const client = toolingDocumentClient(proxy.endpoint);
    const stop = async () => {
      client.destroy();
      setupClient.destroy();
      await proxy.close();
      await dynamo.close();
    };
    try {
      const tables = { sessions: "scale-sessions", config: "scale-config" };
      await ensureTables(setupClient, tables);
      proxy.learnTables(tableDefinitions(tables));
      const centre = new ContactCentre(proxy, dynamoStores(client, tables), stop);
      meter(client, centre.meters);
      return centre as ContactCentre & { readonly proxy: DynamoProxy };
    } catch (error) {
      await stop();
      throw error;
    }
  }

  close(): Promise<void> {
    return this.stop();
  }

  /** One handler call with the event API Gateway would pass (a form body unless `event` says otherwise); `expected`: the statuses that are a success. */
  async call(
    op: string,
    lambda: LambdaFunction,
    event: Partial<APIGatewayProxyEvent>,
    options: { readonly authorizer?: Readonly<Record<string, string>>; readonly expected?: readonly number[] } = {},
  ): Promise<Answer & { readonly ok: boolean }> {
    const full = httpEvent({ headers: FORM, ...event });
    if (options.authorizer !== undefined) full.requestContext = { ...full.requestContext, authorizer: { ...options.authorizer } };
    const consumed: Consumed = { calls: 0, readUnits: 0, writeUnits: 0 };
    const begun = performance.now();
    const result = await this.meters.run(consumed, () => this.handlers[lambda](full));
    const ms = performance.now() - begun;
    const answer = { status: result.statusCode, body: result.body === "" ? {} : (JSON.parse(result.body) as Json), consumed, ms };
    const ok = (options.expected ?? [200]).includes(answer.status);
    this.onAnswer?.(op, lambda, answer, ok);
    return { ...answer, ok };
  }

  /** What the authorizer passes on for a signed-in agent (lib/http/authorizer.ts). */
  agentContext(agentId: string): Record<string, string> {
    return { outcome: "person", userId: `sub-${agentId}`, username: agentId, groups: "agent", exp: this.tokenExpiry };
  }

  /** `PUT /genesys/1/admin/services/{name}` with `_chat_endpoint`. */
  putService(name: string, endpoint: string) {
    return this.call(
      "admin PUT service",
      "admin",
      {
        resource: "/genesys/1/admin/services/{name}",
        httpMethod: "PUT",
        pathParameters: { name },
        body: `_chat_endpoint=${encodeURIComponent(endpoint)}&_ttl=3600`,
      },
      { authorizer: MACHINE, expected: [200, 201] },
    );
  }

  /** `PUT /genesys/1/admin/availability/{endpoint}`: an availability notification, until further notice. */
  notify(endpoint: string, available: boolean) {
    return this.call(
      "admin PUT availability",
      "admin",
      {
        resource: "/genesys/1/admin/availability/{endpoint}",
        httpMethod: "PUT",
        pathParameters: { endpoint },
        body: `available=${available}`,
      },
      { authorizer: MACHINE },
    );
  }

  /** `PUT /genesys/1/admin/endpoints/{endpoint}`: how its chats reach its agents. */
  routing(endpoint: string, routing: "offer" | "pick", offerTimeout = 20) {
    return this.call(
      "admin PUT endpoint",
      "admin",
      {
        resource: "/genesys/1/admin/endpoints/{endpoint}",
        httpMethod: "PUT",
        pathParameters: { endpoint },
        body: `routing=${routing}&offerTimeout=${offerTimeout}`,
      },
      { authorizer: MACHINE },
    );
  }

  /** `PUT /genesys/1/admin/agents/{agentId}`: the agent's profile, on one endpoint. */
  profile(agentId: string, endpoint: string, maxChats = 10) {
    return this.call(
      "admin PUT agent",
      "admin",
      {
        resource: "/genesys/1/admin/agents/{agentId}",
        httpMethod: "PUT",
        pathParameters: { agentId },
        body: `endpoints=${encodeURIComponent(endpoint)}&maxChats=${maxChats}`,
      },
      { authorizer: MACHINE, expected: [200, 201] },
    );
  }

  /**
   * `PUT /genesys/1/agent/{agentId}/presence`, ready: the agent goes ready (given its profile first,
   * through the admin API, the first time), or renews its presence as its console does (`renew=true`;
   * by default every call after the first).
   */
  async ready(agentId: string, endpoint: string, options: { readonly maxChats?: number; readonly renew?: boolean } = {}) {
    const renew = options.renew ?? this.profiled.has(agentId);
    if (!this.profiled.has(agentId)) {
      const profiled = await this.profile(agentId, endpoint, options.maxChats);
      if (!profiled.ok) return profiled;
      this.profiled.add(agentId);
    }
    return this.call(
      renew ? "presence (renewal)" : "presence",
      "agent",
      {
        resource: "/genesys/1/agent/{agentId}/presence",
        httpMethod: "PUT",
        pathParameters: { agentId },
        body: `endpoints=${encodeURIComponent(endpoint)}&state=ready&nickname=${encodeURIComponent(`Agent ${agentId}`)}${renew ? "&renew=true" : ""}`,
      },
      { authorizer: this.agentContext(agentId) },
    );
  }

  /** `POST /genesys/1/service/{service}` with a customer's context data. */
  requestChat(service: string, customer: string | number) {
    return this.call("request-chat", "requestChat", {
      resource: "/genesys/1/service/{service}",
      pathParameters: { service },
      body: `firstName=Customer&lastName=${customer}&email=customer${customer}%40example.com&subject=Billing&orderId=A-${customer}`,
    });
  }

  /** A Chat API call of the customer on session `id`: `path` is "" (create), "/send", "/refresh", "/disconnect". */
  customer(op: string, id: string, path: string, body: string) {
    return this.call(op, "chat", { resource: `/genesys/1/service/{service}/ixn/chat${path}`, pathParameters: { service: id }, body });
  }

  /** An agent's call on session `id`: `path` is "/accept", "/send", "/disconnect", ... */
  agent(op: string, agentId: string, id: string, path: string, body = "") {
    return this.onChat(op, agentId, chatIdOf(id), path, body);
  }

  /** An agent's call on the chat named `chatId` (as agents name chats); `expected`: the statuses that are a success. */
  onChat(op: string, agentId: string, chatId: string, path: string, body = "", expected?: readonly number[]) {
    return this.call(
      op,
      "agent",
      { resource: `/genesys/1/agent/{agentId}/chats/{chatId}${path}`, pathParameters: { agentId, chatId }, body },
      { authorizer: this.agentContext(agentId), ...(expected === undefined ? {} : { expected }) },
    );
  }

  /** `GET /genesys/1/agent/{agentId}/queue?endpoint=...`: the chats waiting on the endpoint. */
  queue(agentId: string, endpoint: string) {
    return this.call(
      "queue",
      "agent",
      {
        resource: "/genesys/1/agent/{agentId}/queue",
        httpMethod: "GET",
        pathParameters: { agentId },
        queryStringParameters: { endpoint },
        headers: {},
      },
      { authorizer: this.agentContext(agentId) },
    );
  }
}

/** Counts each DynamoDB call's consumed capacity into the handler call it belongs to (its async context). */
function meter(client: DynamoDBDocumentClient, meters: AsyncLocalStorage<Consumed>): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const consumed = meters.getStore();
      const output = await next(args);
      if (consumed !== undefined) {
        const units = capacityUnits((output.output as { ConsumedCapacity?: unknown }).ConsumedCapacity);
        consumed.calls += 1;
        if (READ_OPERATIONS.has((context.commandName ?? "").replace(/Command$/, ""))) consumed.readUnits += units;
        else consumed.writeUnits += units;
      }
      return output;
    },
    { step: "initialize", name: "scaleSimulationMeter" },
  );
}

/** Runs `tasks`, at most `concurrency` at a time. */
export async function runConcurrently(tasks: readonly (() => Promise<unknown>)[], concurrency: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) await tasks[next++]?.();
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker));
}

export interface SimulationOptions {
  /** Agents, spread evenly over the endpoints (agent i on endpoint i mod endpoints). */
  readonly agents: number;
  readonly endpoints: number;
  /** Services, spread evenly over the endpoints (service i on endpoint i mod endpoints). */
  readonly services: number;
  readonly chatsPerSecond: number;
  /** Seconds during which new chats start. */
  readonly seconds: number;
  /** How often an agent renews its presence (the console's interval): 20 s. */
  readonly heartbeatSeconds?: number;
  /** Handler calls in flight at once within a simulated second: 16. */
  readonly concurrency?: number;
  /** Ready-agent counts (each at most `agents`) at which request-chat's latency is measured: none. */
  readonly latencyAt?: readonly number[];
  /** Sequential request-chats per latency measurement: 300. */
  readonly latencySamples?: number;
  /** Chats run one call at a time after the simulation, to time each operation alone: none. */
  readonly timingChats?: number;
  /** Told what the simulation is doing, now and then. */
  readonly progress?: (message: string) => void;
}

/** What one kind of handler call cost, over its calls. */
export interface OperationFigures {
  /** The Lambda function that serves it. */
  readonly lambda: LambdaFunction;
  readonly count: number;
  /** Calls answered with another status than expected (their chat stops there). */
  readonly failures: number;
  readonly dynamoCalls: number;
  readonly readUnits: UnitFigures;
  readonly writeUnits: UnitFigures;
}

export interface UnitFigures {
  readonly total: number;
  readonly mean: number;
  readonly max: number;
}

/** A partition key's units in one simulated second: its key space (`table` or `table/index`), key, second, units. */
export interface PartitionPeak {
  readonly space: string;
  readonly key: string;
  readonly second: number;
  readonly units: number;
  /** Of DynamoDB's per-partition limit (PARTITION_LIMITS), in percent. */
  readonly percent: number;
}

export interface LatencyFigures {
  /** Agents ready when measured. */
  readonly agents: number;
  readonly samples: number;
  readonly medianMs: number;
  readonly p90Ms: number;
  /** Read and write units of one request-chat at this size (the last sample's). */
  readonly readUnits: number;
  readonly writeUnits: number;
}

export interface SimulationResult {
  readonly options: Required<Omit<SimulationOptions, "progress">>;
  /** Chats that went from request-chat to their disconnect without a failure (the timing chats not included). */
  readonly chats: number;
  /** Per operation during the simulated seconds (warm-up and chats). */
  readonly operations: Readonly<Record<string, OperationFigures>>;
  /** Per operation of the setup (the admin calls). */
  readonly setup: Readonly<Record<string, OperationFigures>>;
  /** The first few failures: operation, status and the answer. */
  readonly failureSamples: readonly string[];
  /** The most read units, and the most write units, a single partition key received in a simulated second. */
  readonly peaks: { readonly read: PartitionPeak | undefined; readonly write: PartitionPeak | undefined };
  /** Each key space's (table's, index's) busiest partition key and its peak (read and write apart), busiest first. */
  readonly hottest: { readonly read: readonly PartitionPeak[]; readonly write: readonly PartitionPeak[] };
  /** All partitions together: the busiest second's units. */
  readonly busiestSecond: { readonly readUnits: number; readonly writeUnits: number };
  readonly latency: readonly LatencyFigures[];
  /** Each operation's handler duration called alone (the timing chats), in milliseconds. */
  readonly timing: Readonly<Record<string, { readonly samples: number; readonly medianMs: number; readonly meanMs: number }>>;
  /** The simulated seconds run: warm-up, chats and their last steps. */
  readonly simulatedSeconds: number;
  readonly wallMs: number;
  /** DynamoDB calls the proxy recorded, and how many of the simulated seconds' it could name no partition for. */
  readonly recordedCalls: number;
  readonly unattributedCalls: number;
}

interface Tally {
  lambda: LambdaFunction;
  count: number;
  failures: number;
  dynamoCalls: number;
  read: number;
  maxRead: number;
  write: number;
  maxWrite: number;
}

/** A chat's seconds: request-chat and create; queue and accept; six messages; the disconnect. */
const MESSAGES = 6;
const CHAT_SECONDS = 3 + MESSAGES;

const median = (values: readonly number[]) => quantile(values, 0.5);
function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

const endpointName = (index: number) => `scale_ep_${String(index).padStart(3, "0")}`;
const serviceName = (index: number) => `scale-svc-${String(index).padStart(4, "0")}`;
const agentName = (index: number) => `agent-${String(index).padStart(5, "0")}`;

/** Runs the simulation on a contact centre of its own; resolves its figures once everything it started is stopped. */
export async function simulate(options: SimulationOptions): Promise<SimulationResult> {
  const settings = {
    heartbeatSeconds: 20,
    concurrency: 16,
    latencyAt: [] as readonly number[],
    latencySamples: 300,
    timingChats: 0,
    ...options,
  };
  const { agents, endpoints, services, chatsPerSecond, seconds, heartbeatSeconds, concurrency } = settings;
  const counts = { agents, endpoints, services, chatsPerSecond, seconds, heartbeatSeconds, concurrency, timingChats: settings.timingChats };
  for (const [name, value] of Object.entries(counts)) {
    if (!Number.isInteger(value) || value < 0) throw new Error(`simulate: ${name} must be a whole number`);
  }
  if (endpoints < 1 || services < 1 || heartbeatSeconds < 1 || concurrency < 1) throw new Error("simulate: nothing to simulate");
  if (chatsPerSecond * seconds + settings.timingChats > 0 && agents < endpoints) {
    throw new Error("simulate: every endpoint needs an agent to accept its chats");
  }
  const pendingLatency = [...new Set(settings.latencyAt)].sort((a, b) => a - b);
  if ((pendingLatency.at(-1) ?? 0) > agents) throw new Error("simulate: latencyAt counts ready agents: at most `agents`");
  const progress = options.progress ?? (() => {});
  const started = performance.now();

  const centre = await ContactCentre.start();
  const { proxy } = centre;
  const originalLog = console.log;
  // The handlers log a line per request: a simulation makes hundreds of thousands.
  console.log = () => {};
  try {
    /** Per operation, what its calls cost; `book` is where the calls of the present phase count (none: not counted). */
    const simulated = new Map<string, Tally>();
    const setup = new Map<string, Tally>();
    let book: Map<string, Tally> | undefined = setup;
    let timings: Map<string, number[]> | undefined;
    const failureSamples: string[] = [];
    centre.onAnswer = (op, lambda, answer, ok) => {
      if (timings !== undefined) timings.set(op, [...(timings.get(op) ?? []), answer.ms]);
      if (!ok && failureSamples.length < 10) failureSamples.push(`${op}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`);
      if (book === undefined) return;
      const tally = book.get(op) ?? { lambda, count: 0, failures: 0, dynamoCalls: 0, read: 0, maxRead: 0, write: 0, maxWrite: 0 };
      tally.count += 1;
      tally.failures += ok ? 0 : 1;
      tally.dynamoCalls += answer.consumed.calls;
      tally.read += answer.consumed.readUnits;
      tally.maxRead = Math.max(tally.maxRead, answer.consumed.readUnits);
      tally.write += answer.consumed.writeUnits;
      tally.maxWrite = Math.max(tally.maxWrite, answer.consumed.writeUnits);
      book.set(op, tally);
    };

    progress(`setup: ${services} services on ${endpoints} endpoints`);
    proxy.tag = "setup";
    await seedDefaults(centre.config, { availability: true, now: new Date(centre.clock * 1000) });
    await runConcurrently(
      Array.from({ length: services }, (_, i) => () => centre.putService(serviceName(i), endpointName(i % endpoints))),
      concurrency,
    );
    // Agents pick their chats from the queue here (bench/routing.ts measures routing's offers).
    await runConcurrently(
      Array.from({ length: endpoints }, (_, e) => () => centre.routing(endpointName(e), "pick")),
      concurrency,
    );

    const latency: LatencyFigures[] = [];
    let ready = 0;
    /** Measures request-chat's latency for each count asked for that the ready agents have reached. */
    const measureLatency = async () => {
      while (pendingLatency.length > 0 && (pendingLatency[0] ?? 0) <= ready) {
        pendingLatency.shift();
        progress(`request-chat's latency with ${ready} agents ready`);
        const [tag, keep] = [proxy.tag, book];
        proxy.tag = "latency";
        book = undefined;
        const samples: number[] = [];
        let last: Answer | undefined;
        // Unmeasured calls first, so that no figure carries the JIT's warm-up (the first one would).
        for (let i = 0; i < LATENCY_WARM_UP; i++) await centre.requestChat("request-chat", `warm-up-${i}`);
        for (let i = 0; i < settings.latencySamples; i++) {
          last = await centre.requestChat("request-chat", `latency-${i}`);
          if (last.status !== 200)
            throw new Error(`request-chat on the built-in service answered ${last.status}: ${JSON.stringify(last.body)}`);
          samples.push(last.ms);
        }
        latency.push({
          agents: ready,
          samples: samples.length,
          medianMs: median(samples),
          p90Ms: quantile(samples, 0.9),
          readUnits: last?.consumed.readUnits ?? 0,
          writeUnits: last?.consumed.writeUnits ?? 0,
        });
        [proxy.tag, book] = [tag, keep];
      }
    };
    await measureLatency();

    /** The next chat of each endpoint goes to the endpoint's next agent. */
    const turns = new Map<number, number>();
    let completed = 0;
    /** A chat's steps, one a second; a failed step ends the chat. */
    const chatSteps = (k: number): (() => Promise<void>)[] => {
      const service = k % services;
      const endpoint = service % endpoints;
      const turn = turns.get(endpoint) ?? 0;
      turns.set(endpoint, turn + 1);
      const agentId = agentName(endpoint + endpoints * (turn % Math.ceil((agents - endpoint) / endpoints)));
      const chat = { id: "", failed: false, customerAt: "0", agentAt: "0" };
      const step = (run: () => Promise<boolean>) => async () => {
        if (!chat.failed) chat.failed = !(await run());
      };
      const customerSends = (n: number) =>
        step(async () => {
          const text = encodeURIComponent(`Customer message ${n} of chat ${k}`);
          const sent = await centre.customer("send", chat.id, "/send", `message=${text}&transcriptPosition=${chat.customerAt}`);
          chat.customerAt = String(sent.body.transcriptPosition);
          return sent.ok;
        });
      const agentSends = (n: number) =>
        step(async () => {
          const text = encodeURIComponent(`Agent message ${n} of chat ${k}`);
          const sent = await centre.agent("agent send", agentId, chat.id, "/send", `message=${text}&transcriptPosition=${chat.agentAt}`);
          chat.agentAt = String(sent.body.transcriptPosition);
          return sent.ok;
        });
      return [
        step(async () => {
          const opened = await centre.requestChat(serviceName(service), k);
          if (!opened.ok) return false;
          chat.id = String(opened.body._id);
          const created = await centre.customer("create", chat.id, "", "firstName=Customer&lastName=Smith&subject=Billing");
          chat.customerAt = String(created.body.transcriptPosition);
          return created.ok;
        }),
        step(async () => {
          if (!(await centre.queue(agentId, endpointName(endpoint))).ok) return false;
          const accepted = await centre.agent("accept", agentId, chat.id, "/accept");
          chat.agentAt = String(accepted.body.transcriptPosition);
          return accepted.ok;
        }),
        ...Array.from({ length: MESSAGES }, (_, n) => (n % 2 === 0 ? customerSends(n / 2 + 1) : agentSends((n + 1) / 2))),
        step(async () => {
          const ended =
            k % 2 === 0
              ? await centre.customer("disconnect (customer)", chat.id, "/disconnect", `transcriptPosition=${chat.customerAt}`)
              : await centre.agent("disconnect (agent)", agentId, chat.id, "/disconnect", `transcriptPosition=${chat.agentAt}`);
          if (ended.ok) completed += 1;
          return ended.ok;
        }),
      ];
    };

    // The simulated seconds: the warm-up, the chats, their last steps.
    const schedule = new Map<number, (() => Promise<unknown>)[]>();
    const at = (second: number, task: () => Promise<unknown>) => {
      const tasks = schedule.get(second);
      if (tasks === undefined) schedule.set(second, [task]);
      else tasks.push(task);
    };
    const chatsFrom = heartbeatSeconds;
    const lastSecond = chatsPerSecond * seconds > 0 ? chatsFrom + seconds - 1 + CHAT_SECONDS - 1 : heartbeatSeconds - 1;
    for (let a = 0; a < agents; a++) {
      const beat = () => centre.ready(agentName(a), endpointName(a % endpoints));
      for (let s = Math.floor((a * heartbeatSeconds) / agents); s <= lastSecond; s += heartbeatSeconds) at(s, beat);
    }
    let k = 0;
    for (let s = chatsFrom; s < chatsFrom + seconds; s++) {
      for (let c = 0; c < chatsPerSecond; c++) {
        for (const [offset, task] of chatSteps(k++).entries()) at(s + offset, task);
      }
    }
    book = simulated;
    const firstSecond = centre.clock;
    for (let second = 0; second <= lastSecond; second++) {
      centre.clock = firstSecond + second;
      proxy.tag = second;
      await runConcurrently(schedule.get(second) ?? [], concurrency);
      // What the second's calls sent routing, run as the router function would, within the second.
      await centre.route();
      schedule.delete(second);
      // Agent a is ready from second floor(a * heartbeatSeconds / agents) on.
      ready = Math.min(agents, Math.ceil(((second + 1) * agents) / heartbeatSeconds));
      await measureLatency();
      if (second % 10 === 9 || second === lastSecond) {
        progress(
          `second ${second + 1} of ${lastSecond + 1}: ${proxy.calls.length} DynamoDB calls, ${Math.round((performance.now() - started) / 1000)} s`,
        );
      }
    }

    const chats = completed;
    // Chats one call at a time, each call timed alone.
    book = undefined;
    timings = new Map();
    proxy.tag = "timing";
    if (settings.timingChats > 0) progress(`timing ${settings.timingChats} chats one call at a time`);
    for (let t = 0; t < settings.timingChats; t++) {
      await centre.ready(agentName(t % agents), endpointName((t % agents) % endpoints));
      for (const step of chatSteps(k++)) await step();
    }
    const timing = Object.fromEntries(
      [...timings].map(([op, samples]) => [
        op,
        { samples: samples.length, medianMs: median(samples), meanMs: samples.reduce((sum, ms) => sum + ms, 0) / samples.length },
      ]),
    );

    const { peaks, hottest, busiestSecond, unattributed } = partitionFigures(proxy.calls);
    const { progress: _progress, ...recorded } = settings;
    return {
      options: recorded,
      chats,
      operations: figuresOf(simulated),
      setup: figuresOf(setup),
      failureSamples,
      peaks,
      hottest,
      busiestSecond,
      latency,
      timing,
      simulatedSeconds: lastSecond + 1,
      wallMs: performance.now() - started,
      recordedCalls: proxy.calls.length,
      unattributedCalls: unattributed,
    };
  } finally {
    console.log = originalLog;
    await centre.close();
  }
}

function figuresOf(tallies: ReadonlyMap<string, Tally>): Record<string, OperationFigures> {
  return Object.fromEntries(
    [...tallies].map(([op, t]) => [
      op,
      {
        lambda: t.lambda,
        count: t.count,
        failures: t.failures,
        dynamoCalls: t.dynamoCalls,
        readUnits: { total: t.read, mean: t.read / t.count, max: t.maxRead },
        writeUnits: { total: t.write, mean: t.write / t.count, max: t.maxWrite },
      },
    ]),
  );
}

/**
 * The proxy's calls of the simulated seconds (the calls whose tag is a number), summed by second and
 * partition key: the peaks, the hottest keys, the busiest second over all partitions.
 */
export function partitionFigures(calls: readonly ProxiedCall[]) {
  interface Cell {
    space: string;
    key: string;
    second: number;
    read: number;
    write: number;
  }
  const cells = new Map<string, Cell>();
  const seconds = new Map<number, { read: number; write: number }>();
  let unattributed = 0;
  for (const call of calls) {
    if (typeof call.tag !== "number") continue;
    if (call.partitions.length === 0) unattributed += 1;
    const total = seconds.get(call.tag) ?? { read: 0, write: 0 };
    total.read += call.readUnits;
    total.write += call.writeUnits;
    seconds.set(call.tag, total);
    for (const partition of call.partitions) {
      const id = `${call.tag}\u0000${partition.space}\u0000${partition.key}`;
      const cell = cells.get(id) ?? { space: partition.space, key: partition.key, second: call.tag, read: 0, write: 0 };
      cell.read += partition.readUnits;
      cell.write += partition.writeUnits;
      cells.set(id, cell);
    }
  }
  const hottestOf = (kind: "read" | "write") => {
    const limit = kind === "read" ? PARTITION_LIMITS.readUnits : PARTITION_LIMITS.writeUnits;
    const perSpace = new Map<string, PartitionPeak>();
    for (const cell of cells.values()) {
      if (cell[kind] > (perSpace.get(cell.space)?.units ?? 0)) {
        perSpace.set(cell.space, {
          space: cell.space,
          key: cell.key,
          second: cell.second,
          units: cell[kind],
          percent: (cell[kind] / limit) * 100,
        });
      }
    }
    return [...perSpace.values()].sort((a, b) => b.units - a.units);
  };
  const read = hottestOf("read");
  const write = hottestOf("write");
  const totals = [...seconds.values()];
  return {
    peaks: { read: read[0], write: write[0] },
    hottest: { read, write },
    busiestSecond: {
      readUnits: Math.max(0, ...totals.map((total) => total.read)),
      writeUnits: Math.max(0, ...totals.map((total) => total.write)),
    },
    unattributed,
  };
}
