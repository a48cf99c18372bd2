import { allListeners } from "./chat/listeners.ts";
import { cometListener } from "./comet/listener.ts";
import { queueRouter } from "./routing/queue.ts";
import type { RoutingStore } from "./routing/store.ts";
import type { ChatListeners, ChatRouter, CometStore, ConfigStore, ConnectionSender, PushStore, SessionStore } from "./storage.ts";

/** Every store the service keeps its state in (lib/dynamo/stores.ts on DynamoDB, lib/memory/stores.ts in memory). */
export interface Stores {
  readonly config: ConfigStore;
  readonly sessions: SessionStore;
  readonly push: PushStore;
  readonly comet: CometStore;
  readonly routing: RoutingStore;
}

/** The service before its listeners: what a listener is made from. */
export interface Wired extends Stores {
  readonly now: () => Date;
  readonly sender?: ConnectionSender;
  /** What the chat's operations tell of chats that come into and leave their endpoints' queues. */
  readonly router: ChatRouter;
}

/** What the service runs on besides its stores. */
export interface WireOptions {
  /** The clock (tests and the benchmarks move their own). */
  readonly now?: () => Date;
  /** Where frames to WebSocket connections go (API Gateway's Management API). */
  readonly sender?: ConnectionSender | undefined;
  /**
   * Listeners of every written event besides CometD's, each made from the wired service: the push
   * channel's (lib/push/push.ts `pushListener`, given a sender) where frames are posted. A
   * parameter rather than an import, so that the functions that post no frame bundle none of it.
   */
  readonly listen?: readonly ((wired: Wired & { readonly sender: ConnectionSender }) => ChatListeners)[];
}

/** The service as every route family and operation takes it: its stores, its clock, and who hears each event. */
export interface Service extends Wired {
  readonly listeners: ChatListeners;
}

/**
 * The one composition of the service, for the Lambda handlers (lib/runtime.ts on DynamoDB), the
 * tests (on dynalite or in memory) and the benchmarks alike: the stores, the clock, and the
 * listeners that hear every event as it is written (CometD mailboxes always, the `listen` ones
 * where there is a sender).
 */
export function wire(stores: Stores, options: WireOptions = {}): Service {
  const now = options.now ?? (() => new Date());
  const { sender } = options;
  const wired: Wired = { ...stores, now, router: queueRouter(stores), ...(sender === undefined ? {} : { sender }) };
  const more = sender === undefined ? [] : (options.listen ?? []).map((make) => make({ ...wired, sender }));
  return { ...wired, listeners: allListeners(cometListener(stores.comet), ...more) };
}
