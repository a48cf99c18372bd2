import { type ChatCall, liveHead, liveTranscript, requireOwner } from "../chat/transcript.ts";
import { interactionView } from "../chat/view.ts";
import { InvalidInputError } from "../errors.ts";
import type { ChatDeps, ChatListeners, ChatState, ConnectionSender, PushStore, PushTopic, TranscriptEvent } from "../storage.ts";
import { epochSeconds } from "../time.ts";
import { chatFrame, errorFrame, fitting, queueFrame, refreshFrame, subscribedFrame } from "./frames.ts";

/**
 * Push: the chat's events sent to the WebSocket connections that listen, as they are written.
 *
 * The function that writes an event tells the connections itself (DynamoDB Streams would need a
 * second function and do not exist locally): one query per topic the event concerns (the chat,
 * the agent holding it, and its endpoint's queue when the queue changed), one Management API post
 * per connection, all side by side and within FAN_OUT_BUDGET_MS. Push is best-effort: a post that
 * fails is not retried, a connection found gone is forgotten, and clients recover from positions
 * (each frame carries the position it reaches; a gap is refreshed) and by subscribing again.
 */
export interface PushDeps extends ChatDeps {
  readonly push: PushStore;
  readonly sender: ConnectionSender;
}

/** The longest a fan-out holds the call that wrote the event; what is not sent by then is not sent. */
export const FAN_OUT_BUDGET_MS = 1_000;
/**
 * Connections told per topic and event: a topic's listeners are read in one bounded query. A chat
 * is heard by its customer's tabs and an agent's chats by its consoles, so a few; a queue by every
 * agent watching its endpoint. A fan-out never posts more than these, however many subscribed.
 */
export const MAX_LISTENERS: Readonly<Record<PushTopic["kind"], number>> = { chat: 10, agent: 10, queue: 500 };
/** API Gateway closes a connection after 2 hours: its subscriptions lapse a little after. */
const CONNECTION_SECONDS = 2 * 3600 + 300;
/** What one connection may listen to in all: a chat or an agent's chats, and a few endpoints. */
const MAX_TOPICS = 12;
/** Endpoints whose queues one agent connection watches, and held chats it resumes, per subscribe. */
export const MAX_ENDPOINTS = 10;
export const MAX_RESUMED_CHATS = 20;

const PUSH_VIEW = { verbose: false, basePath: "" } as const;

/** The listener that fans each written event (and each erasure) out to the connections listening. */
export function pushListener(deps: Pick<PushDeps, "push" | "sender" | "now">): ChatListeners {
  return {
    written: (chat, event) => withinBudget((signal) => fanOut(deps, chat, event, signal)),
    // Erased (DELETE): no event says so, and refresh now answers 404: each listener is told to refresh.
    erased: (chat, lastPosition) =>
      withinBudget((signal) => {
        const deliveries: [PushTopic, string][] = [
          [{ kind: "chat", sessionId: chat.sessionId }, refreshFrame(chat.sessionId, lastPosition)],
        ];
        if (chat.agentId !== undefined)
          deliveries.push([{ kind: "agent", agentId: chat.agentId }, refreshFrame(chat.sessionId, lastPosition)]);
        if (chat.phase === "WAITING")
          deliveries.push([{ kind: "queue", endpoint: chat.endpoint }, queueFrame({ ...chat, phase: "ENDED" })]);
        return deliverAll(deps, deliveries, signal);
      }),
  };
}

/** Runs `work` for at most FAN_OUT_BUDGET_MS, then aborts what it has not finished (no post outlives the call). */
async function withinBudget(work: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, FAN_OUT_BUDGET_MS);
  });
  await Promise.race([work(abort.signal).catch(() => undefined), budget]);
  clearTimeout(timer);
  abort.abort();
}

async function fanOut(
  deps: Pick<PushDeps, "push" | "sender" | "now">,
  chat: ChatState,
  event: TranscriptEvent,
  signal: AbortSignal,
): Promise<void> {
  // What `refresh` answers from the position before this event: the event alone.
  const frame = fitting(
    chatFrame(chat, interactionView(chat, { events: [event], reached: event.position }, PUSH_VIEW)),
    chat.sessionId,
    event.position - 1,
  );
  const deliveries: [PushTopic, string][] = [[{ kind: "chat", sessionId: chat.sessionId }, frame]];
  if (chat.agentId !== undefined) deliveries.push([{ kind: "agent", agentId: chat.agentId }, frame]);
  if (changesQueue(chat, event)) deliveries.push([{ kind: "queue", endpoint: chat.endpoint }, queueFrame(chat)]);
  await deliverAll(deps, deliveries, signal);
}

async function deliverAll(
  deps: Pick<PushDeps, "push" | "sender" | "now">,
  deliveries: readonly [PushTopic, string][],
  signal: AbortSignal,
): Promise<void> {
  const now = epochSeconds(deps.now());
  await Promise.all(deliveries.map(([topic, text]) => deliver(deps, topic, text, now, signal)));
}

/** A chat came into its endpoint's queue (its first event), was taken (the agent's Joined), or left it unanswered. */
function changesQueue(chat: ChatState, event: TranscriptEvent): boolean {
  if (event.position === 1) return true;
  if (event.type === "Notice.Joined" && event.party === "AGENT") return true;
  return chat.phase === "ENDED" && chat.agentId === undefined;
}

async function deliver(
  deps: Pick<PushDeps, "push" | "sender">,
  topic: PushTopic,
  frame: string,
  now: number,
  signal: AbortSignal,
): Promise<void> {
  const listening = await deps.push.listening(topic, MAX_LISTENERS[topic.kind]);
  await Promise.all(
    listening
      .filter((subscription) => subscription.expiresAt > now)
      .map(async ({ connectionId }) => {
        const outcome = await deps.sender.send(connectionId, frame, signal).catch(() => "failed" as const);
        if (outcome === "gone") await deps.push.unsubscribe(topic, connectionId).catch(() => undefined);
      }),
  );
}

/**
 * Sends on the connection that asked, in the order given. Best-effort like every push: the
 * subscription is in force whether or not its answer arrives (a client that hears nothing
 * subscribes again, which is harmless), so a slow post is not the request's failure.
 */
async function reply(deps: Pick<PushDeps, "sender">, connectionId: string, frames: readonly string[]): Promise<void> {
  for (const frame of frames) {
    if ((await deps.sender.send(connectionId, frame).catch(() => "failed" as const)) !== "sent") return;
  }
}

async function listen(deps: PushDeps, connectionId: string, topics: readonly PushTopic[], expiresAt: number): Promise<void> {
  if (!(await deps.push.subscribe(connectionId, topics, expiresAt, MAX_TOPICS))) {
    throw new InvalidInputError(`One connection listens to at most ${MAX_TOPICS} chats, agents and queues: open another`);
  }
}

/**
 * The chat's events after `since` as one frame (or the notice to refresh when they do not fit one),
 * read after the connection listens; undefined while the session has no chat. `owner`: the agent
 * that must hold it.
 */
async function catchUp(deps: ChatDeps, sessionId: string, since: number, owner?: string): Promise<string | undefined> {
  const { chat, page } = await liveTranscript(deps, sessionId, since);
  if (chat === undefined) return undefined;
  if (owner !== undefined) requireOwner(chat, owner);
  return fitting(chatFrame(chat, interactionView(chat, page, PUSH_VIEW)), sessionId, since);
}

/** A customer's subscription: the session id, which is the Chat API's credential, and the last position it has. */
export interface CustomerSubscribe {
  readonly connectionId: string;
  readonly sessionId: string;
  readonly position: number | undefined;
}

/**
 * The connection hears the chat's events from now on, and gets at once what followed `position`
 * (nothing without one). It listens before it reads, so no event falls between the two: one that
 * comes in both is dropped by the client by its position.
 */
export async function subscribeCustomer(deps: PushDeps, command: CustomerSubscribe): Promise<void> {
  const { session } = await liveHead(deps, command.sessionId);
  const expiresAt = Math.min(session.expiresAt, epochSeconds(deps.now()) + CONNECTION_SECONDS);
  await listen(deps, command.connectionId, [{ kind: "chat", sessionId: session.id }], expiresAt);
  const frames = [subscribedFrame({ chat: session.id }, expiresAt)];
  const caughtUp = command.position === undefined ? undefined : await catchUp(deps, session.id, command.position);
  await reply(deps, command.connectionId, caughtUp === undefined ? frames : [...frames, caughtUp]);
}

/** An agent's subscription, the token's owner checked by the edge: its chats, the queues it watches, the chats it resumes. */
export interface AgentSubscribe {
  readonly connectionId: string;
  readonly agentId: string;
  readonly endpoints: readonly string[];
  /** Held chats and the last position the console has of each. */
  readonly chats: readonly Pick<ChatCall, "sessionId" | "position">[];
  /** When the credential lapses (epoch seconds): the subscription lapses with it. */
  readonly until: number;
}

/**
 * Consoles one agent may have listening at once. Each watches up to MAX_ENDPOINTS queues, so this
 * bounds what one agent adds to every chat's fan-out; a further console takes over from the one
 * that subscribed longest ago, which is told so.
 */
const MAX_CONSOLES = 3;

export async function subscribeAgent(deps: PushDeps, command: AgentSubscribe): Promise<void> {
  const now = epochSeconds(deps.now());
  const expiresAt = Math.min(command.until, now + CONNECTION_SECONDS);
  const consoles = (await deps.push.listening({ kind: "agent", agentId: command.agentId }, MAX_LISTENERS.agent)).filter(
    (subscription) => subscription.expiresAt > now && subscription.connectionId !== command.connectionId,
  );
  const overtaken = [...consoles].sort((a, b) => a.expiresAt - b.expiresAt).slice(0, Math.max(0, consoles.length - MAX_CONSOLES + 1));
  await Promise.all(
    overtaken.map(async ({ connectionId }) => {
      await deps.push.forget(connectionId);
      await deps.sender
        .send(
          connectionId,
          errorFrame(409, "Another console of yours took over: subscribe again to go on here", "ConsoleReplacedException"),
        )
        .catch(() => undefined);
    }),
  );
  const topics: PushTopic[] = [
    { kind: "agent", agentId: command.agentId },
    ...command.endpoints.map((endpoint): PushTopic => ({ kind: "queue", endpoint })),
  ];
  await listen(deps, command.connectionId, topics, expiresAt);
  const frames = [subscribedFrame({ agentId: command.agentId, endpoints: command.endpoints }, expiresAt)];
  // A chat that cannot be resumed here (gone, another agent's) is handed to REST, which says why.
  const resumed = await Promise.all(
    command.chats.map(({ sessionId, position }) =>
      catchUp(deps, sessionId, position ?? 0, command.agentId).catch(() => refreshFrame(sessionId, position ?? 0)),
    ),
  );
  for (const frame of resumed) if (frame !== undefined) frames.push(frame);
  await reply(deps, command.connectionId, frames);
}
