/**
 * Push beside polling, measured in one run on the local stack (part of `npm run bench`): how long a
 * message takes to reach the other party, what an idle chat costs in requests, and what a chat-hour
 * costs at AWS list prices. Both parties are clients of the API that behave as the pages do:
 * polling, the widget refreshes every 2 s and the console refreshes its chat and reads its queue
 * every 3 s; pushed, each holds a WebSocket subscription (docs/push.md) and pings it every 5 minutes.
 * Both renew the agent's presence every 20 s, which is the agent's and not the chat's.
 */
import WebSocket from "ws";
import { chatIdOf } from "../lib/session/ids.ts";
import type { LocalStack } from "../scripts/local/launch.ts";

const SAMPLES = Number(process.env.BENCH_PUSH_SAMPLES ?? 40);
const POLL_SAMPLES = Number(process.env.BENCH_POLL_SAMPLES ?? 16);
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 60_000);
const WIDGET_POLL_MS = 2_000;
const CONSOLE_POLL_MS = 3_000;
const PRESENCE_MS = 20_000;
const PING_PER_MINUTE = 1 / 5;

/** AWS list prices, us-east-1, as published for 2026 (USD). */
export const PRICES = {
  restPerMillion: 3.5,
  websocketMessagesPerMillion: 1.0,
  connectionMinutesPerMillion: 0.25,
  lambdaRequestsPerMillion: 0.2,
  lambdaArmPerGbSecond: 0.0000133334,
  readRequestUnitsPerMillion: 0.125,
  writeRequestUnitsPerMillion: 0.625,
  lambdaMemoryGb: 0.5,
} as const;

// biome-ignore lint/suspicious/noExplicitAny: JSON from the API, read field by field.
type Json = Record<string, any>;

interface Window {
  /** REST requests by route, and the Lambda time and capacity they cost, from the stack's log lines. */
  readonly rest: Map<string, number>;
  readonly websocketMessages: number;
  readonly lambdaMs: number;
  readonly readUnits: number;
  readonly writeUnits: number;
  readonly invocations: number;
}

export interface PushFigures {
  readonly push: { readonly delivery: number[]; readonly idle: Window; readonly sockets: number };
  readonly polling: { readonly delivery: number[]; readonly idle: Window };
  readonly idleMs: number;
}

class Client {
  private position = 0;
  private readonly seen = new Map<string, (at: number) => void>();
  constructor(
    private readonly base: string,
    private readonly path: string,
    private readonly headers: Record<string, string>,
  ) {}

  post(op: string, form: Record<string, string> = {}): Promise<Json> {
    return fetch(`${this.base}${this.path}/${op}`, { method: "POST", headers: this.headers, body: new URLSearchParams(form) }).then(
      async (answer) => {
        if (!answer.ok) throw new Error(`${op}: ${answer.status} ${await answer.text()}`);
        return (await answer.json()) as Json;
      },
    );
  }

  /** A refresh from the last position shown, as the pages poll. */
  async poll(): Promise<void> {
    this.show(await this.post("refresh", { transcriptPosition: String(this.position) }));
  }

  show(view: Json): void {
    const at = performance.now();
    const reached = Number(view.transcriptPosition);
    if (reached <= this.position) return;
    this.position = reached;
    for (const [, , text] of view.transcriptToShow as string[][]) this.seen.get(text as string)?.(at);
  }

  /** When `text` is shown. */
  shown(text: string): Promise<number> {
    return new Promise((resolve) => this.seen.set(text, resolve));
  }
}

/** Signs a local user in as the console does (InitiateAuth); resolves its access token. */
export async function signIn(stack: LocalStack, username: string, password: string): Promise<string> {
  const answer = await fetch(stack.identity.endpoint, {
    method: "POST",
    headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "AWSCognitoIdentityProviderService.InitiateAuth" },
    body: JSON.stringify({
      AuthFlow: "USER_PASSWORD_AUTH",
      ClientId: stack.identity.clientId,
      AuthParameters: { USERNAME: username, PASSWORD: password },
    }),
  });
  const body = (await answer.json()) as Json;
  return String(body.AuthenticationResult.AccessToken);
}

async function openSocket(
  url: string,
  subscribe: object,
  onFrame: (frame: Json) => void,
): Promise<{ socket: WebSocket; sent: () => number }> {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  let sent = 0;
  const subscribed = new Promise<void>((resolve) => {
    socket.on("message", (data: Buffer) => {
      const frame = JSON.parse(data.toString("utf8")) as Json;
      if (frame.channel === "/gms/subscribed") resolve();
      onFrame(frame);
    });
  });
  socket.send(JSON.stringify(subscribe));
  sent += 1;
  await subscribed;
  return { socket, sent: () => sent };
}

/** The stack's log lines written while `during` ran: what its requests cost. */
async function logged(stack: LocalStack, during: () => Promise<number>): Promise<Window> {
  const before = stack.output().length;
  const websocketMessages = await during();
  // Log lines land just after their answers: a moment for the last ones.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const lines = stack
    .output()
    .slice(before)
    .split("\n")
    .filter((line) => line.startsWith("{") && line.includes('"latencyMs"'))
    .map((line) => JSON.parse(line) as Json);
  const rest = new Map<string, number>();
  let lambdaMs = 0;
  let readUnits = 0;
  let writeUnits = 0;
  for (const line of lines) {
    if (line.method !== undefined) rest.set(`${line.method} ${line.route}`, (rest.get(`${line.method} ${line.route}`) ?? 0) + 1);
    lambdaMs += Number(line.latencyMs);
    readUnits += Number(line.dynamodb?.readUnits ?? 0);
    writeUnits += Number(line.dynamodb?.writeUnits ?? 0);
  }
  return { rest, websocketMessages, lambdaMs, readUnits, writeUnits, invocations: lines.length };
}

function every(ms: number, run: () => Promise<unknown>): () => void {
  const timer = setInterval(() => void run().catch(() => undefined), ms);
  return () => clearInterval(timer);
}

export async function measurePush(stack: LocalStack, log: (message: string) => void): Promise<PushFigures> {
  const token = await signIn(stack, "anna", "Anna-local-1");
  const bearer = { authorization: `Bearer ${token}` };
  const presence = () =>
    fetch(`${stack.baseUrl}/genesys/1/agent/anna/presence`, {
      method: "PUT",
      headers: bearer,
      body: new URLSearchParams({ endpoint: "gms_builtin", state: "ready", nickname: "Anna" }),
    });
  await presence();

  async function newChat(): Promise<{ id: string; customer: Client; agent: Client }> {
    const opened = (await (await fetch(`${stack.baseUrl}/genesys/1/service/request-chat`, { method: "POST" })).json()) as Json;
    const id = String(opened._id);
    const customer = new Client(stack.baseUrl, `/genesys/1/service/${id}/ixn/chat`, {});
    customer.show(
      (await (
        await fetch(`${stack.baseUrl}/genesys/1/service/${id}/ixn/chat`, {
          method: "POST",
          body: new URLSearchParams({ firstName: "Max" }),
        })
      ).json()) as Json,
    );
    const agent = new Client(stack.baseUrl, `/genesys/1/agent/anna/chats/${chatIdOf(id)}`, bearer);
    agent.show(await agent.post("accept", { transcriptPosition: "0" }));
    return { id, customer, agent };
  }

  /** Messages each way in turn, each sent once the last arrived: from the send's start to its showing. */
  async function deliveries(samples: number, chat: { customer: Client; agent: Client }, tag: string): Promise<number[]> {
    const times: number[] = [];
    for (let n = 0; n < samples; n += 1) {
      const [from, to] = n % 2 === 0 ? [chat.agent, chat.customer] : [chat.customer, chat.agent];
      const text = `${tag}-${n}`;
      const shown = to.shown(text);
      const started = performance.now();
      await from.post("send", { message: text });
      times.push((await shown) - started);
    }
    return times;
  }

  log(`push: ${SAMPLES} messages between the parties over WebSocket subscriptions, then ${IDLE_MS / 1000} s idle`);
  const pushed = await newChat();
  const customerSocket = await openSocket(stack.pushUrl, { action: "subscribe", chat: pushed.id, transcriptPosition: "0" }, (frame) => {
    if (frame.channel === "/_genesys") pushed.customer.show(frame.data.message);
  });
  const agentSocket = await openSocket(
    stack.pushUrl,
    { action: "subscribe", agentId: "anna", token, endpoints: ["gms_builtin"] },
    (frame) => {
      if (frame.channel === "/_genesys" && frame.data.tag === `service.chat.refresh.${pushed.id}`) pushed.agent.show(frame.data.message);
    },
  );
  const pushDelivery = await deliveries(SAMPLES, pushed, "push");
  const pushIdle = await logged(stack, async () => {
    const stop = every(PRESENCE_MS, presence);
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    stop();
    // The pings the pages send every 5 minutes, at that rate over the window.
    return 2 * PING_PER_MINUTE * (IDLE_MS / 60_000);
  });
  customerSocket.socket.close();
  agentSocket.socket.close();
  await pushed.agent.post("disconnect");

  log(
    `polling: ${POLL_SAMPLES} messages between the parties, the widget refreshing every 2 s and the console every 3 s, then ${IDLE_MS / 1000} s idle`,
  );
  const polled = await newChat();
  const queue = () => fetch(`${stack.baseUrl}/genesys/1/agent/anna/queue?endpoint=gms_builtin`, { headers: bearer });
  const pollers = () => {
    const stops = [
      every(WIDGET_POLL_MS, () => polled.customer.poll()),
      every(CONSOLE_POLL_MS, () => polled.agent.poll()),
      every(CONSOLE_POLL_MS, queue),
      every(PRESENCE_MS, presence),
    ];
    return () => {
      for (const stop of stops) stop();
    };
  };
  let stop = pollers();
  const pollDelivery = await deliveries(POLL_SAMPLES, polled, "poll");
  stop();
  const pollIdle = await logged(stack, async () => {
    stop = pollers();
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    stop();
    return 0;
  });
  await polled.agent.post("disconnect");
  return {
    push: { delivery: pushDelivery, idle: pushIdle, sockets: 2 },
    polling: { delivery: pollDelivery, idle: pollIdle },
    idleMs: IDLE_MS,
  };
}

const quantile = (values: readonly number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
};

/** Requests per idle chat-minute (REST calls and WebSocket messages, the agent's presence apart) and the chat-hour's cost. */
function perChat(window: Window, idleMs: number, sockets: number) {
  const minutes = idleMs / 60_000;
  const presence = [...window.rest].filter(([route]) => route.endsWith("/presence")).reduce((sum, [, n]) => sum + n, 0);
  const rest = [...window.rest.values()].reduce((sum, n) => sum + n, 0);
  const perHour = 60 / minutes;
  const cost =
    (rest * perHour * PRICES.restPerMillion +
      window.websocketMessages * perHour * PRICES.websocketMessagesPerMillion +
      sockets * 60 * PRICES.connectionMinutesPerMillion +
      // Each WebSocket message (a ping) is also one invocation of the push function.
      (window.invocations + window.websocketMessages) * perHour * PRICES.lambdaRequestsPerMillion +
      window.readUnits * perHour * PRICES.readRequestUnitsPerMillion +
      window.writeUnits * perHour * PRICES.writeRequestUnitsPerMillion) /
      1e6 +
    ((window.lambdaMs * perHour) / 1000) * PRICES.lambdaMemoryGb * PRICES.lambdaArmPerGbSecond;
  return {
    chatRequestsPerMinute: (rest - presence + window.websocketMessages) / minutes,
    presencePerMinute: presence / minutes,
    costPerChatHour: cost,
  };
}

/** The section of BENCHMARKS.md. */
export function pushSection(figures: PushFigures): string {
  const push = perChat(figures.push.idle, figures.idleMs, figures.push.sockets);
  const polling = perChat(figures.polling.idle, figures.idleMs, 0);
  const row = (name: string, delivery: number[], f: ReturnType<typeof perChat>) =>
    `| ${name} | ${quantile(delivery, 0.5).toFixed(0)} ms / ${quantile(delivery, 0.99).toFixed(0)} ms (${delivery.length} messages) | ${f.chatRequestsPerMinute.toFixed(1)} | ${f.presencePerMinute.toFixed(1)} | $${(f.costPerChatHour * 1000).toFixed(3)} |`;
  return [
    "## Push beside polling",
    "",
    "| mode | delivery between the parties, median / p99 | requests per idle chat-minute, both parties | the agent's presence renewals per minute | cost per 1,000 idle chat-hours |",
    "| --- | --- | --- | --- | --- |",
    row("push (WebSocket)", figures.push.delivery, push),
    row("polling (2 s / 3 s)", figures.polling.delivery, polling),
    "",
    `Both modes in one run on the local stack (bench/push.ts): two API clients behaving as the pages, a message each way in turn, each sent once the last arrived; delivery runs from the send's start to the other party having it. Idle: ${figures.idleMs / 1000} s with nothing said, counted from the stack's log lines (REST requests, Lambda time, DynamoDB capacity), WebSocket messages at the pages' keep-alive rate (a ping per socket every 5 minutes), presence renewals apart since they are the agent's, not the chat's. Cost per chat-hour at AWS list prices (us-east-1): REST $${PRICES.restPerMillion}/M requests, WebSocket $${PRICES.websocketMessagesPerMillion}/M messages and $${PRICES.connectionMinutesPerMillion}/M connection-minutes, Lambda arm64 $${PRICES.lambdaRequestsPerMillion}/M requests and $${PRICES.lambdaArmPerGbSecond}/GB-s at ${PRICES.lambdaMemoryGb * 1024} MB (the local handler latency taken as the billed duration, which overstates it), DynamoDB on-demand $${PRICES.readRequestUnitsPerMillion}/M read and $${PRICES.writeRequestUnitsPerMillion}/M write request units; the presence renewals included.`,
  ].join("\n");
}
