import { requireServes } from "../agents/state.ts";
import type { AgentProfile } from "../agents/store.ts";
import { onSession } from "../chat/locate.ts";
import { liveHead, liveTranscript, type Position, requireChat, requireOwner } from "../chat/transcript.ts";
import { agentChatView, interactionView } from "../chat/view.ts";
import { ChatStateError, InvalidInputError } from "../errors.ts";
import { keepNewest } from "../newest.ts";
import type { AgentListeners } from "../routing/listeners.ts";
import type { ChatDeps, ChatListeners, ChatState, ConnectionSender, PushStore, PushTopic, TranscriptEvent } from "../storage.ts";
import { epochSeconds } from "../time.ts";
import {
  agentChatFrame,
  chatFrame,
  errorFrame,
  fitting,
  offerFrame,
  presenceFrame,
  queueFrame,
  refreshFrame,
  subscribedFrame,
  withdrawnFrame,
} from "./frames.ts";

/**
 * Push: the chat's events sent to the WebSocket connections that listen, as they are written.
 *
 * The function that writes an event tells the connections itself (DynamoDB Streams would need a
 * second function and do not exist locally). The customer's tabs are kept with the chat
 * (ChatState.listeners), so the write's own claim has read them; the consoles of the agent holding
 * the chat, and its endpoint's queue when the queue changed, take one query each. One Management API
 * post per connection, all side by side and within FAN_OUT_BUDGET_MS. Push is best-effort: a post
 * that fails is not retried, a connection found gone is forgotten, and clients recover from
 * positions (each frame carries the position it reaches; a gap is refreshed) and by subscribing
 * again. Both hear the chat in GMS's envelope: customers by their session id, agents by the chat id,
 * with the agent's view of the chat, which shows nothing of the customer's session.
 */
export interface PushDeps extends Pick<ChatDeps, "sessions" | "now"> {
  readonly push: PushStore;
  readonly sender: ConnectionSender;
}

/** The longest a fan-out holds the call that wrote the event; what is not sent by then is not sent. */
export const FAN_OUT_BUDGET_MS = 1_000;
/**
 * Connections told per topic and event. A chat is heard by its customer's tabs and an agent's chats
 * by its consoles, so a few; a queue by every agent watching its endpoint. A fan-out never posts
 * more than these, however many subscribed; a chat takes no more listeners than this.
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

type Delivery = readonly [PushTopic, readonly string[] | undefined, string];

/** The listener that fans each written event (and each erasure) out to the connections listening. */
export function pushListener(deps: Pick<PushDeps, "push" | "sender" | "now">): ChatListeners {
  return {
    written: (chat, event) => withinBudget((signal) => fanOut(deps, chat, event, signal)),
    // Erased (DELETE): no event says so, and refresh now answers 404: each listener is told to refresh,
    // then no connection is left subscribed to the chat.
    erased: (chat, lastPosition) =>
      withinBudget(async (signal) => {
        const deliveries: Delivery[] = [[chatTopic(chat), listenersOf(chat), refreshFrame(chat.sessionId, lastPosition)]];
        if (chat.agentId !== undefined)
          deliveries.push([{ kind: "agent", agentId: chat.agentId }, undefined, refreshFrame(chat.chatId, lastPosition)]);
        if (chat.phase === "WAITING") deliveries.push([queueTopic(chat), undefined, queueFrame({ ...chat, phase: "ENDED" })]);
        await deliverAll(deps, deliveries, signal);
        const listeners = listenersOf(chat) ?? (await deps.push.listening(chatTopic(chat), MAX_LISTENERS.chat)).map((s) => s.connectionId);
        await Promise.all(listeners.map((connectionId) => deps.push.unsubscribe(chatTopic(chat), connectionId).catch(() => undefined)));
      }),
  };
}

/**
 * Routing's news for an agent (lib/routing/listeners.ts) posted to its consoles: a chat offered, an
 * offer withdrawn, its presence changed. Best-effort, within FAN_OUT_BUDGET_MS like every fan-out.
 */
export function agentListeners(deps: Pick<PushDeps, "push" | "sender" | "now">): AgentListeners {
  const tell = (agentId: string, frame: string) =>
    withinBudget((signal) => deliverAll(deps, [[{ kind: "agent", agentId }, undefined, frame]], signal));
  return {
    offered: (agentId, offer) => tell(agentId, offerFrame(offer)),
    withdrawn: (agentId, chatId, reason) => tell(agentId, withdrawnFrame(chatId, reason)),
    presence: (agentId, presence) => tell(agentId, presenceFrame(presence)),
  };
}

const chatTopic = (chat: ChatState): PushTopic => ({ kind: "chat", chatId: chat.chatId });

/**
 * The customer's tabs, as the chat's record names them; for a chat opened before chat ids (kept under
 * its session id), read from the store, which also knows the subscriptions made before them.
 */
const listenersOf = (chat: ChatState): readonly string[] | undefined =>
  chat.chatId === chat.sessionId ? undefined : (chat.listeners ?? []);
const queueTopic = (chat: ChatState): PushTopic => ({ kind: "queue", endpoint: chat.endpoint });

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
  const page = { events: [event], reached: event.position };
  const since = event.position - 1;
  const deliveries: Delivery[] = [
    [chatTopic(chat), listenersOf(chat), fitting(chatFrame(chat, interactionView(chat, page, PUSH_VIEW)), chat.sessionId, since)],
  ];
  if (chat.agentId !== undefined)
    deliveries.push([
      { kind: "agent", agentId: chat.agentId },
      undefined,
      fitting(agentChatFrame(agentChatView(chat, page)), chat.chatId, since),
    ]);
  if (changesQueue(chat, event)) deliveries.push([queueTopic(chat), undefined, queueFrame(chat)]);
  await deliverAll(deps, deliveries, signal);
}

async function deliverAll(
  deps: Pick<PushDeps, "push" | "sender" | "now">,
  deliveries: readonly Delivery[],
  signal: AbortSignal,
): Promise<void> {
  const now = epochSeconds(deps.now());
  await Promise.all(deliveries.map(([topic, known, text]) => deliver(deps, topic, known, text, now, signal)));
}

/** A chat came into its endpoint's queue (its first event), was taken (the agent's Joined), or left it unanswered. */
function changesQueue(chat: ChatState, event: TranscriptEvent): boolean {
  if (event.position === 1) return true;
  if (event.type === "Notice.Joined" && event.party === "AGENT") return true;
  return chat.phase === "ENDED" && chat.agentId === undefined;
}

/** Posts the frame to the topic's connections: `known` when the chat's record named them, else read. */
async function deliver(
  deps: Pick<PushDeps, "push" | "sender">,
  topic: PushTopic,
  known: readonly string[] | undefined,
  frame: string,
  now: number,
  signal: AbortSignal,
): Promise<void> {
  const listening =
    known === undefined
      ? (await deps.push.listening(topic, MAX_LISTENERS[topic.kind])).filter((s) => s.expiresAt > now).map((s) => s.connectionId)
      : known.slice(0, MAX_LISTENERS[topic.kind]);
  await Promise.all(
    listening.map(async (connectionId) => {
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

async function listen(
  deps: PushDeps,
  connectionId: string,
  topics: readonly PushTopic[],
  expiresAt: number,
  since?: number,
): Promise<void> {
  if (!(await deps.push.subscribe(connectionId, topics, expiresAt, { topics: MAX_TOPICS, chatListeners: MAX_LISTENERS.chat }, since))) {
    throw new InvalidInputError(
      `One connection listens to at most ${MAX_TOPICS} chats, agents and queues, and a chat to ${MAX_LISTENERS.chat} connections: open another, or close one`,
    );
  }
}

/** A customer's subscription: the session id, which is the Chat API's credential, and the last position it has. */
export interface CustomerSubscribe extends Position {
  readonly connectionId: string;
  readonly sessionId: string;
}

/**
 * The connection hears the chat's events from now on, and gets at once what followed `position`
 * (nothing without one). It listens before it reads, so no event falls between the two: one that
 * comes in both is dropped by the client by its position. The chat must exist (it keeps its
 * listeners): a client subscribes once it has created it.
 */
export function subscribeCustomer(deps: PushDeps, command: CustomerSubscribe): Promise<void> {
  return onSession(deps, command.sessionId, async (chatId) => {
    const { session, chat } = await liveHead(deps, chatId);
    if (chat === undefined) throw new ChatStateError("No chat on this service id yet: create it, then subscribe");
    const expiresAt = Math.min(session.expiresAt, epochSeconds(deps.now()) + CONNECTION_SECONDS);
    await listen(deps, command.connectionId, [chatTopic(chat)], expiresAt);
    const frames = [subscribedFrame({ chat: session.id }, expiresAt)];
    if (command.position !== undefined) {
      const { chat: now, page } = await liveTranscript(deps, chatId, command.position);
      frames.push(fitting(chatFrame(requireChat(now), interactionView(requireChat(now), page, PUSH_VIEW)), session.id, command.position));
    }
    await reply(deps, command.connectionId, frames);
  });
}

/** A held chat an agent's console resumes: its chat id, and the last position the console has. */
export interface ResumedChat extends Position {
  readonly chatId: string;
}

/** An agent's subscription, the token's owner checked by the edge: its chats, the queues it watches, the chats it resumes. */
export interface AgentSubscribe {
  readonly connectionId: string;
  readonly agentId: string;
  readonly endpoints: readonly string[];
  /** Those of `endpoints` the person oversees (lib/http/caller.ts `oversees`): the rest its profile must serve. */
  readonly overseen: readonly string[];
  /** The agent's profile, as read with its token (undefined: none, or not read since it names no queue). */
  readonly profile: Pick<AgentProfile, "endpoints"> | undefined;
  readonly chats: readonly ResumedChat[];
  /** When the credential lapses (epoch seconds): the subscription lapses with it. */
  readonly until: number;
}

/** The agent's chat's events after `since` as one frame (or the notice to refresh when they do not fit one). */
async function catchUp(deps: Pick<ChatDeps, "sessions" | "now">, chatId: string, since: number, owner: string): Promise<string> {
  const { chat, page } = await liveTranscript(deps, chatId, since);
  const own = requireChat(chat);
  requireOwner(own, owner);
  return fitting(agentChatFrame(agentChatView(own, page)), chatId, since);
}

/**
 * Consoles one agent may have listening at once. Each watches up to MAX_ENDPOINTS queues, so this
 * bounds what one agent adds to every chat's fan-out; a further console takes over from the one
 * that subscribed longest ago, which is told so.
 */
const MAX_CONSOLES = 3;
/** An agent's consoles read at once to keep the newest MAX_CONSOLES: far more than ever race. */
const CONSOLES_READ = 100;

/**
 * Race-safe without a lock: each console subscribes first, then reads the agent's consoles (strongly
 * consistent) and lets go of all but the newest MAX_CONSOLES. Of consoles subscribing at once, the
 * last to read sees them all, so no more than MAX_CONSOLES stay; every console let go is told, and
 * one that finds itself let go answers so instead of "subscribed".
 */
export async function subscribeAgent(deps: PushDeps, command: AgentSubscribe): Promise<void> {
  const now = epochSeconds(deps.now());
  // An agent watches only the queues it serves; refused, the connection stays as it was.
  const unserved = command.endpoints.filter((endpoint) => !command.overseen.includes(endpoint));
  if (unserved.length > 0) requireServes(command.profile, command.agentId, unserved);
  const expiresAt = Math.min(command.until, now + CONNECTION_SECONDS);
  const agentTopic: PushTopic = { kind: "agent", agentId: command.agentId };
  const topics: PushTopic[] = [agentTopic, ...command.endpoints.map((endpoint): PushTopic => ({ kind: "queue", endpoint }))];
  await listen(deps, command.connectionId, topics, expiresAt, deps.now().getTime());
  const consoles = (await deps.push.listening(agentTopic, CONSOLES_READ)).map((s) => ({ ...s, id: s.connectionId }));
  const { letGo, lapsed, keeps } = keepNewest(consoles, MAX_CONSOLES, now, command.connectionId);
  const lettingGo = Promise.all([
    ...lapsed.map((connectionId) => deps.push.forget(connectionId)),
    ...letGo.map(async (connectionId) => {
      await deps.push.forget(connectionId);
      await deps.sender
        .send(
          connectionId,
          errorFrame(409, "Another console of yours took over: subscribe again to go on here", "ConsoleReplacedException"),
        )
        .catch(() => undefined);
    }),
  ]);
  // Let go by a console that subscribed at the same moment: told so above (by this or the other one).
  if (!keeps) {
    await lettingGo;
    return;
  }
  const frames = [subscribedFrame({ agentId: command.agentId, endpoints: command.endpoints }, expiresAt)];
  // A chat that cannot be resumed here (gone, another agent's) is handed to REST, which says why.
  // Read beside the letting go of other consoles.
  const [resumed] = await Promise.all([
    Promise.all(
      command.chats.map(({ chatId, position }) =>
        catchUp(deps, chatId, position ?? 0, command.agentId).catch(() => refreshFrame(chatId, position ?? 0)),
      ),
    ),
    lettingGo,
  ]);
  await reply(deps, command.connectionId, [...frames, ...resumed]);
}
