import type { PresenceRouter } from "./agents/presence.ts";
import type { AgentStore } from "./agents/store.ts";
import { allListeners } from "./chat/listeners.ts";
import { cometListener } from "./comet/listener.ts";
import { type AgentListeners, NO_AGENT_LISTENERS } from "./routing/listeners.ts";
import { chatRouter, presenceRouter, runTask } from "./routing/router.ts";
import type { RoutingStore } from "./routing/store.ts";
import type { RoutingTask, RoutingWork } from "./routing/work.ts";
import type { ChatListeners, ChatRouter, CometStore, ConfigStore, ConnectionSender, PushStore, SessionStore } from "./storage.ts";

/** Every store the service keeps its state in (lib/dynamo/stores.ts on DynamoDB, lib/memory/stores.ts in memory). */
export interface Stores {
  readonly config: ConfigStore;
  readonly sessions: SessionStore;
  readonly push: PushStore;
  readonly comet: CometStore;
  readonly routing: RoutingStore;
  readonly agents: AgentStore;
}

/** The service before its listeners: what a listener is made from. */
export interface Wired extends Stores {
  readonly now: () => Date;
  readonly sender?: ConnectionSender;
  /** Where routing's tasks go (lib/routing/work.ts): SQS deployed, memory in tests. */
  readonly work: RoutingWork;
}

/** What the service runs on besides its stores. */
export interface WireOptions {
  /** The clock (tests and the benchmarks move their own). */
  readonly now?: () => Date;
  /** Where routing's tasks go; without one, a task sent is a bug (functions that route nothing). */
  readonly work?: RoutingWork;
  /** Where frames to WebSocket connections go (API Gateway's Management API). */
  readonly sender?: ConnectionSender | undefined;
  /**
   * Listeners of every written event besides CometD's, each made from the wired service: the push
   * channel's (lib/push/push.ts `pushListener`, given a sender) where frames are posted. A
   * parameter rather than an import, so that the functions that post no frame bundle none of it.
   */
  readonly listen?: readonly ((wired: Wired & { readonly sender: ConnectionSender }) => ChatListeners)[];
  /**
   * Who hears of offers and presence for agents: made from the wired service where there is a sender
   * (lib/push/push.ts `agentListeners`), or given as they are (tests and benchmarks listening in).
   */
  readonly tell?: AgentListeners | ((wired: Wired & { readonly sender: ConnectionSender }) => AgentListeners);
}

/** The service as every route family and operation takes it: its stores, its clock, and who hears what. */
export interface Service extends Wired {
  readonly listeners: ChatListeners;
  readonly tell: AgentListeners;
  /** What the chat's operations tell routing. */
  readonly router: ChatRouter;
  /** What a change of an agent's presence sets in motion. */
  readonly presenceRouter: PresenceRouter;
  /** The router function's part: runs one task. */
  readonly runTask: (task: RoutingTask) => Promise<void>;
}

/** A function that routes nothing: a task sent there is a bug, and fails loudly. */
const NO_WORK: RoutingWork = {
  send: async () => {
    throw new Error("This function was wired without routing's queue");
  },
};

/**
 * The one composition of the service, for the Lambda handlers (lib/runtime.ts on DynamoDB), the
 * tests (on dynalite or in memory) and the benchmarks alike: the stores, the clock, routing's
 * queue, and the listeners that hear every event as it is written (CometD mailboxes always, the
 * `listen` ones and `tell` where there is a sender).
 */
export function wire(stores: Stores, options: WireOptions = {}): Service {
  const now = options.now ?? (() => new Date());
  const { sender } = options;
  const wired: Wired = { ...stores, now, work: options.work ?? NO_WORK, ...(sender === undefined ? {} : { sender }) };
  const more = sender === undefined ? [] : (options.listen ?? []).map((make) => make({ ...wired, sender }));
  const tell =
    typeof options.tell === "object"
      ? options.tell
      : sender === undefined || options.tell === undefined
        ? NO_AGENT_LISTENERS
        : options.tell({ ...wired, sender });
  const routing = { ...wired, tell };
  return {
    ...wired,
    listeners: allListeners(cometListener(stores.comet), ...more),
    tell,
    router: chatRouter(routing),
    presenceRouter: presenceRouter(routing),
    runTask: (task) => runTask(routing, task),
  };
}
