import type { TextMap } from "./text.ts";

/**
 * What the service keeps, and the interfaces of the stores that keep it. The domain reads and
 * writes only through these; `lib/dynamo/` implements them on DynamoDB, and the tests' memory
 * stores implement the parts the property tests need. Expiries are epoch seconds; a store returns
 * expired records as they are (DynamoDB removes them lazily), and the domain treats them as absent.
 * Failures to reach storage surface as `StorageUnavailableError` (lib/errors.ts).
 */

/** A configured basic chat service (GMS service options `_ttl` and `_chat_endpoint`). */
export interface ServiceConfig {
  readonly name: string;
  readonly ttlSeconds: number;
  readonly chatEndpoint: string;
  readonly updatedAt: string;
}

/**
 * An agent-availability notification for one chat endpoint. One sent with `_ttl` lapses at
 * `expiresAt`, so a notifier that crashes cannot leave the service open; one sent without stays in
 * force until it is replaced.
 */
export interface AvailabilityNotification {
  readonly endpoint: string;
  readonly available: boolean;
  readonly expiresAt?: number;
  readonly updatedAt: string;
}

/** A created basic chat service instance (the GMS "service id"), live until `expiresAt`. */
export interface Session {
  readonly id: string;
  /**
   * Where its records are kept, and what agents name its chat by: the chat id of its id
   * (lib/session/ids.ts), or its id itself for a session opened before chat ids.
   */
  readonly chatId: string;
  readonly serviceName: string;
  readonly chatEndpoint: string;
  /** The business context data request-chat was sent. */
  readonly data: TextMap;
  readonly createdAt: string;
  readonly ttlSeconds: number;
  readonly expiresAt: number;
  /** Fingerprint of the request that created it, kept when the client sent an Idempotency-Key (until the session ends). */
  readonly requestHash?: string;
  /** The digest its Idempotency-Key is recorded under (IdempotencyRecord), when it was sent one. */
  readonly idempotencyKey?: string;
  /** The create's other keys: with `data`, the chat's attached data (ChatState.attachedData). */
  readonly attached?: TextMap;
}

/**
 * The chat interaction (Chat API v1) of a session, one per session: waiting in its endpoint's queue,
 * accepted by an agent, or ended.
 */
export type ChatPhase = "WAITING" | "ACCEPTED" | "ENDED";
export type Party = "CLIENT" | "AGENT";
export type EventType =
  | "Message.Text"
  | "Notice.Joined"
  | "Notice.Left"
  | "Notice.TypingStarted"
  | "Notice.TypingStopped"
  /** Something the service tells the customer in its own words: a transfer. */
  | "Notice.Custom";

export interface ChatState {
  /** What agents name the chat by, and the key of its records (Session.chatId). */
  readonly chatId: string;
  /** The customer's session: the Chat API's credential, which no agent-facing answer shows. */
  readonly sessionId: string;
  readonly chatSessionId: string;
  readonly phase: ChatPhase;
  readonly startedAt: string;
  readonly endpoint: string;
  readonly customerNickname: string;
  readonly customer: TextMap;
  /**
   * The attached data (the session's context data and the create's other keys), up to 32 KB: kept
   * with the session (Session.attached), so that the chat's own record, which the queue reads,
   * stays small. Present here only on chats opened before that.
   */
  readonly attachedData?: TextMap;
  readonly userId: string;
  readonly secureKey: string;
  readonly agentId?: string;
  readonly agentNickname?: string;
  /** When it came into its endpoint's queue: the queue's order (absent on chats that never queued). */
  readonly queuedAt?: string;
  /**
   * The WebSocket connections of the customer's tabs that listen to the chat (lib/push/), kept with
   * the chat so that each write's claim reads them: a write tells them without another read.
   */
  readonly listeners?: readonly string[];
  /** While waiting: the agent it is offered to, until the offer expires (lib/routing/). */
  readonly offer?: ChatOffer;
  /** The agents who refused it, and when (epoch seconds): not offered it again for a while. */
  readonly rejectedBy?: Readonly<Record<string, number>>;
  /** While waiting after a transfer to a named agent: offered to that agent only. */
  readonly target?: string;
  /** The session's expiry: a chat and its transcript go with their session. */
  readonly expiresAt: number;
  /**
   * The key its transcript is kept under at rest: erasing the chat (DELETE) drops the key with the
   * customer's fields, so every event of the chat becomes unreadable at once, however many there
   * are. Absent once erased, and in chats opened before transcripts were sealed.
   */
  readonly transcriptKey?: Uint8Array;
  /**
   * The CometD user its events are pushed to (lib/comet/): a digest of the `gms_user` header of a
   * create with `notify_by=comet` (lib/chat/notify.ts), never the header itself. Absent: polled only.
   */
  readonly cometUser?: string;
}

/** A chat offered to one agent until `expiresAt` (epoch seconds). */
export interface ChatOffer {
  readonly agentId: string;
  /** The name the customer sees if it accepts (its presence's nickname when offered). */
  readonly nickname: string;
  /** ISO time. */
  readonly offeredAt: string;
  readonly expiresAt: number;
}

/** A change of phase: an agent accepting, a transfer back to waiting, or the end. */
export type ChatChange =
  /** An agent joins: one it was offered to (`offered`), or one it took from its endpoint's queue (which has no offer then). */
  | { readonly phase: "ACCEPTED"; readonly agentId: string; readonly agentNickname: string; readonly offered: boolean }
  /**
   * Back to waiting, on `endpoint`, keeping its place in the queue: a transfer of the chat `from` the
   * agent holding it; to a named agent, `target`, offered to that agent only until it cannot take it.
   */
  | { readonly phase: "WAITING"; readonly from: string; readonly endpoint: string; readonly target?: string }
  | { readonly phase: "ENDED" };

/**
 * A change of who a waiting chat is offered to (lib/chat/claims.ts), which takes no transcript position:
 * an offer to one agent, or its withdrawal (refused, not answered in time, or let go).
 */
export type ChatRouting =
  /** Offered to `offer.agentId`, unless the chat is offered already, is a transfer to another, or the agent refused it within `cooloffSeconds`. */
  | { readonly kind: "offer"; readonly offer: ChatOffer; readonly cooloffSeconds: number }
  /** The offer to `agentId` goes (only once expired, with `expired`); `refused` remembers the refusal; a transfer's target goes with it. */
  | { readonly kind: "withdraw"; readonly agentId: string; readonly refused: boolean; readonly expired: boolean }
  /** A transfer's target, `agentId`, could not be offered the chat: it goes to its endpoint's routing. */
  | { readonly kind: "untarget"; readonly agentId: string };

/** What someone said or did in a chat. */
export interface NewEvent {
  readonly type: EventType;
  readonly nickname: string;
  readonly text: string;
  readonly party: Party;
  /** Who in the back office wrote it (an opaque id of the person), kept with the event and never shown to customers. */
  readonly actor?: string;
}

/** An event as the transcript keeps it. */
export interface TranscriptEvent extends NewEvent {
  /** 1, 2, 3, ...: each position is claimed once (ClaimedPosition), then holds its event or is given up. */
  readonly position: number;
  /** Whole seconds since the chat started. */
  readonly offset: number;
  /** When it was written, as an ISO time. */
  readonly at: string;
}

/** A position its writer never filled, given up by a reader (lib/chat/transcript.ts): it holds nothing and shows nothing. */
export interface GivenUpPosition {
  readonly position: number;
  readonly givenUp: true;
}

/** What a transcript position holds. */
export type TranscriptEntry = TranscriptEvent | GivenUpPosition;

/** Who posts: the customer, or the agent holding the chat. */
export type PostBy = { readonly party: "CLIENT" } | { readonly party: "AGENT"; readonly agentId: string };

/**
 * Who may take the next position of a chat's transcript. A post (a message or a typing notice) needs
 * a chat that runs (and, from an agent, is the agent's) and that has room left under the caps; a
 * change of phase (accept, the end) needs one of the phases in `from` and always has room for its
 * notice.
 */
export type Claim =
  | {
      /** A message: within the chat's caps on messages and bytes. */
      readonly kind: "post";
      readonly by: PostBy;
      /** The bytes the event adds to the transcript. */
      readonly bytes: number;
      readonly maxEvents: number;
      readonly maxBytes: number;
    }
  /** A typing notice: within a cap of its own, so that no number of them leaves a message no room. */
  | { readonly kind: "typing"; readonly by: PostBy; readonly maxTyping: number }
  | { readonly kind: "change"; readonly from: readonly ChatPhase[]; readonly change: ChatChange }
  /** Another position for an event whose first claim was granted but whose position was lost (given up, or taken in a chat from before position counters). */
  | { readonly kind: "again" };

/** A position claimed for one event, and the chat as the claim left it. */
export interface ClaimedPosition {
  readonly chat: ChatState;
  readonly position: number;
}

/** What writing a claimed position found: it holds the event now; a reader gave it up first; another writer's event is there. */
export type WriteOutcome = "written" | "givenUp" | "taken";

/**
 * An Idempotency-Key in use: the session its first request opened. `key` is a digest of the
 * service, the client's `gms_user` and its key; the session id itself is random, so knowing a
 * client's key computes nothing.
 */
export interface IdempotencyRecord {
  readonly key: string;
  readonly sessionId: string;
  /** Where the session is kept (Session.chatId); absent on records made before chat ids, whose sessions are kept under their id. */
  readonly chatId?: string;
  /** Fingerprint of the request that used the key first. */
  readonly requestHash: string;
  readonly expiresAt: number;
}

/** An event ready to be stored: when it happened, as an ISO time and as the offset clients see. */
export interface TimedEvent extends NewEvent {
  readonly offset: number;
  readonly at: string;
}

/**
 * What decides whether a chat endpoint takes chats (lib/config/availability.ts): its notification,
 * and until when at least one of its agents is ready (0: none). Every change is a new `version`.
 */
export interface EndpointAvailability {
  readonly notification: AvailabilityNotification | undefined;
  /** Epoch seconds: no later than the last ready agent's presence lapses, and 0 once the last one goes not ready. */
  readonly readyUntil: number;
}

/** A service with its endpoint's availability, read together in one round. */
export interface ServiceRoute {
  readonly service: ServiceConfig | undefined;
  readonly availability: EndpointAvailability;
}

/**
 * Service configuration and the endpoints' availability (notifications, and agents ready: the agent
 * store keeps that part, lib/agents/store.ts). Reads are strongly consistent: a change applies to the
 * very next request. The store keeps each endpoint's
 * availability with each of its services (lib/dynamo/config-store.ts), so that request-chat reads
 * one small record whatever the number of services and agents.
 */
export interface ConfigStore {
  loadServiceRoute(serviceName: string): Promise<ServiceRoute>;
  getService(name: string): Promise<ServiceConfig | undefined>;
  listServices(): Promise<ServiceConfig[]>;
  /** Replaces the configuration; resolves true when the service did not exist before. */
  putService(config: ServiceConfig): Promise<boolean>;
  /** Creates the service only if it does not exist; resolves true when it was created. */
  createServiceIfAbsent(config: ServiceConfig): Promise<boolean>;
  /** Resolves true when a service was deleted. */
  deleteService(name: string): Promise<boolean>;
  getNotification(endpoint: string): Promise<AvailabilityNotification | undefined>;
  putNotification(notification: AvailabilityNotification): Promise<void>;
  /** Writes the notification only if the endpoint has none; resolves true when it was written. */
  createNotificationIfAbsent(notification: AvailabilityNotification): Promise<boolean>;
  /** The endpoint's availability: its notification, and until when an agent is ready on it (lib/config/availability.ts). */
  endpointAvailability(endpoint: string): Promise<EndpointAvailability>;
}

/** What moving an older layout's configuration to the current one moved (lib/dynamo/config-migration.ts). */
export interface MigrationOutcome {
  readonly services: number;
  readonly notifications: number;
  /** Agents' presence is not moved: their consoles renew it within 20 s, in the new layout. */
  readonly presenceDropped: number;
  /** Items of the older layout it could not read (not written by this service's code): left in place. */
  readonly unreadable: number;
  /** Chats that waited in the sessions table's queue index, moved into their endpoints' queues (lib/dynamo/queue-migration.ts). */
  readonly waitingChats: number;
}

/** What one read of a session's records returns. */
export interface SessionRecords {
  readonly session: Session | undefined;
  readonly chat: ChatState | undefined;
}

/**
 * Sessions, their chats and transcripts. Everything of a session is kept under its chat id
 * (Session.chatId), which every call but the Idempotency-Key's names.
 */
export interface SessionStore {
  /**
   * Insert-only: never overwrites. Resolves `stored` when this call stored the session (including
   * when an earlier attempt of the same call did, and a retry found it there); otherwise with what
   * another request had already stored under this id (undefined if it is gone again).
   */
  create(session: Session): Promise<{ readonly stored: true } | { readonly stored: false; readonly existing: Session | undefined }>;
  /** Strongly consistent read of a session, expired or not. */
  get(chatId: string): Promise<Session | undefined>;
  /** The Idempotency-Key's record, expired or not. */
  getIdempotency(key: string): Promise<IdempotencyRecord | undefined>;
  /** Insert-only; resolves the key's record in force: this one, or another request's that was there first. */
  putIdempotency(record: IdempotencyRecord): Promise<IdempotencyRecord>;
  /** The session, its chat and the last event's position: one small read. */
  head(chatId: string): Promise<SessionRecords & { readonly lastPosition: number }>;
  /**
   * The session, its chat and at most `limit` transcript entries after `afterPosition`, in order;
   * `more` when there are further entries. One read, whose cost grows with the entries only.
   */
  read(
    chatId: string,
    afterPosition: number,
    limit: number,
  ): Promise<SessionRecords & { readonly entries: TranscriptEntry[]; readonly more: boolean }>;
  /** Insert-only; resolves false when the session already has a chat. Position 1 is the chat's, for its opening notice. */
  createChat(chat: ChatState): Promise<boolean>;
  /**
   * Keeps a new chat's other create keys with its session (Session.attached), if the session is
   * live at `now` (epoch seconds); resolves false otherwise. Once the session has ended nothing is
   * added, so a create racing a DELETE cannot store them after the erasure.
   */
  attach(chatId: string, attached: TextMap, now: number): Promise<boolean>;
  /**
   * The chats of up to 100 chat ids (those that have one), by chat id, read eventually (a view: a
   * chat changed within the last second may show as it was, or, just opened, not at all).
   */
  chats(chatIds: readonly string[]): Promise<ReadonlyMap<string, ChatState>>;
  /** The attached data (context data and the create's other keys) of up to 25 chats, by chat id. */
  attachedData(chatIds: readonly string[]): Promise<ReadonlyMap<string, TextMap>>;
  /** Ends an Idempotency-Key's record at `endedAt` and drops the request's fingerprint from it. */
  endIdempotency(key: string, endedAt: number): Promise<void>;
  /**
   * Takes the chat's next transcript position in one atomic step, if the chat allows the claim (and
   * is live at `now`, epoch seconds); undefined otherwise. Concurrent claims never share a position.
   */
  claim(chatId: string, claim: Claim, now: number): Promise<ClaimedPosition | undefined>;
  /** Fills a claimed position with its event, unless a reader gave it up first. */
  write(chat: ChatState, position: number, event: TimedEvent): Promise<WriteOutcome>;
  /** Gives up a position nobody filled; resolves false when an event is there after all. */
  giveUp(chat: ChatState, position: number): Promise<boolean>;
  /**
   * Changes who the waiting chat is offered to, if the chat allows it at `now` (lib/chat/claims.ts):
   * the chat after, or, refused, the chat as it is (undefined when there is none).
   */
  route(
    chatId: string,
    change: ChatRouting,
    now: number,
  ): Promise<{ readonly chat: ChatState } | { readonly refused: ChatState | undefined }>;
  /** Moves the chat's position counter up to `lastPosition` (chats whose events were written before the counter existed). */
  advance(chatId: string, lastPosition: number): Promise<void>;
  /**
   * Ends the session at `endedAt` (epoch seconds) and drops its context data, the create's other
   * keys and the request's fingerprint: from then on the id answers as unknown. The record stays
   * (until its expiry) so a retry with its Idempotency-Key is refused instead of opening a new
   * session on the old chat's records.
   */
  endSession(chatId: string, endedAt: number): Promise<void>;
  /**
   * Ends the session's chat at `endedAt` and erases what it holds about the customer: the fields,
   * the attached data, and the transcript's key (every event becomes unreadable). Leaves an ended,
   * empty chat where there was none, so a create racing the erasure cannot store the fields again.
   */
  eraseChat(chatId: string, endedAt: number): Promise<void>;
}

/**
 * Who hears of a chat's events as they are written: the push channels (lib/push/: WebSocket
 * connections, CometD clients). Best-effort: an implementation never throws and returns within a
 * small budget of its own, since correctness comes from positions, resume and refresh, never from
 * a push arriving.
 */
export interface ChatListeners {
  /** The chat as the event's claim left it (its phase, its agent), and the event at its position. */
  written(chat: ChatState, event: TranscriptEvent): Promise<void>;
  /** The chat as it was when its session was cancelled (DELETE) and erased: no event tells of that. */
  erased?(chat: ChatState, lastPosition: number): Promise<void>;
}

/**
 * What a push connection (lib/push/) listens to: one chat, as its customer; the chats an agent
 * holds; the waiting chats of an endpoint.
 */
export type PushTopic =
  | { readonly kind: "chat"; readonly chatId: string }
  | { readonly kind: "agent"; readonly agentId: string }
  | { readonly kind: "queue"; readonly endpoint: string };

/** A connection listening to a topic until `expiresAt` (epoch seconds). */
export interface PushSubscription {
  readonly connectionId: string;
  readonly expiresAt: number;
  /** When it subscribed (epoch milliseconds), for the topics other than chats; 0 when not told. */
  readonly since: number;
}

/**
 * Who listens to what: one record per connection naming its topics, one per topic and connection,
 * but a chat's listeners, which are kept with the chat (ChatState.listeners) so that a write's
 * claim reads them.
 */
export interface PushStore {
  /**
   * The connection listens to the topics until `expiresAt` (a chat's listeners: while the chat
   * lives); resolves false when it would hold more than `limits.topics` in all, or a chat would
   * have more than `limits.chatListeners`, or is not there. `since`: when (epoch milliseconds), kept
   * with the topics other than chats, whose listeners are told apart by age.
   */
  subscribe(
    connectionId: string,
    topics: readonly PushTopic[],
    expiresAt: number,
    limits: { readonly topics: number; readonly chatListeners: number },
    since?: number,
  ): Promise<boolean>;
  /** Up to `limit` connections listening to the topic, lapsed ones included. */
  listening(topic: PushTopic, limit: number): Promise<PushSubscription[]>;
  /** Forgets one connection's subscription to one topic, on both sides (the connection turned out gone, the chat was erased). */
  unsubscribe(topic: PushTopic, connectionId: string): Promise<void>;
  /** Forgets everything the connection listened to (it closed). */
  forget(connectionId: string): Promise<void>;
}

/** Sends frames to open connections (API Gateway's Management API). */
export interface ConnectionSender {
  /** Resolves "gone" when the connection no longer exists; rejects on other failures, and when `signal` aborts it. */
  send(connectionId: string, frame: string, signal?: AbortSignal): Promise<"sent" | "gone">;
}

/**
 * A CometD (Bayeux) client, from its handshake to its disconnect or expiry, kept with the user it
 * belongs to: every message it sends must come with the same `gms_user`.
 */
export interface CometClient {
  /** The digest of its `gms_user` (ChatState.cometUser). */
  readonly user: string;
  readonly clientId: string;
  /** Whether it subscribed to `/_genesys`, the one channel it may subscribe to. */
  readonly subscribed: boolean;
  /** Where it starts a chat it has not been sent anything of yet: its handshake's `ext.transcriptPosition`, else 0. */
  readonly start: number;
  /** The last position it was sent, per chat (session id). */
  readonly delivered: Readonly<Record<string, number>>;
  readonly expiresAt: number;
  /** When it shook hands (epoch milliseconds); 0 for clients stored before it was kept. */
  readonly since: number;
}

/** Where a chat of a CometD user has events up to: one small item per user and chat, bumped as events are written. */
export interface CometMailbox {
  readonly sessionId: string;
  readonly position: number;
  /** The chat's (its session's) expiry. */
  readonly expiresAt: number;
}

/** A client's new expiry, and the time (epoch seconds) at which it must still be live to get it. */
export interface CometRenewal {
  readonly now: number;
  readonly expiresAt: number;
}

/** The CometD clients and the mailboxes of their users' chats (lib/comet/). */
export interface CometStore {
  /**
   * Raises the chat's mailbox to `position` (never lowers it), keeping it until `expiresAt`: one
   * small write. `signal` aborts it: the writer of the event never waits long for a push.
   */
  bump(user: string, chat: Pick<ChatState, "sessionId" | "startedAt" | "expiresAt">, position: number, signal?: AbortSignal): Promise<void>;
  /** The mailboxes of the user's most recently started chats, at most `limit`, newest first. One read. */
  mailboxes(user: string, limit: number): Promise<CometMailbox[]>;
  /** Forgets the chat's mailbox in the user's partition (its session was cancelled: nothing may link the user to it). */
  dropMailbox(user: string, chat: Pick<ChatState, "sessionId" | "startedAt">): Promise<void>;
  /** Stores a new client (its id is random: never one that exists). */
  putClient(client: CometClient): Promise<void>;
  /** The user's client, expired or not; undefined when there is none (another user's id finds nothing). */
  getClient(user: string, clientId: string): Promise<CometClient | undefined>;
  /**
   * Sets whether the client is subscribed and keeps it until `until.expiresAt`, if it is live at
   * `until.now` (epoch seconds); false otherwise (gone or expired), and nothing is written.
   */
  subscribe(user: string, clientId: string, subscribed: boolean, until: CometRenewal): Promise<boolean>;
  /**
   * Records what a connect sent and keeps the client until `update.expiresAt`, if it is live at
   * `update.now` and (with `requireSubscribed`) subscribed; false otherwise, and nothing is written.
   */
  record(
    user: string,
    clientId: string,
    update: CometRenewal & { readonly delivered: Readonly<Record<string, number>>; readonly requireSubscribed: boolean },
  ): Promise<boolean>;
  /** Forgets the client (its disconnect). */
  deleteClient(user: string, clientId: string): Promise<void>;
  /** Up to `limit` of the user's clients, lapsed ones included, each with when it shook hands and its expiry (read strongly consistent). */
  clients(user: string, limit: number): Promise<Pick<CometClient, "clientId" | "since" | "expiresAt">[]>;
}

/**
 * What routes chats to agents (lib/routing/), as the chat's operations tell it: a chat that needs an
 * agent, and one that ended. The chat's operations know no queue, offer or agent's slot: the router
 * keeps them.
 */
export interface ChatRouter {
  /** The chat waits for an agent (it was just opened): it is queued on its endpoint, and routed. */
  waiting(chat: ChatState): Promise<void>;
  /** The chat ended or was erased (as it was then): its queue entry, its offer and its agent's slot go. */
  ended(chat: ChatState): Promise<void>;
}

/** Both stores, and the clock: what the domain's operations run on. */
export interface Deps {
  readonly config: ConfigStore;
  readonly sessions: SessionStore;
  readonly now: () => Date;
  /** Told of every event written; absent where nothing listens (tests of the domain alone). */
  readonly listeners?: ChatListeners;
  readonly router: ChatRouter;
}

/** What the configuration's operations run on (services, availability, presence). */
export type ConfigDeps = Pick<Deps, "config" | "now">;
/** What a chat's operations run on, but accept, which also reads the agent's presence. */
export type ChatDeps = Pick<Deps, "sessions" | "now" | "listeners" | "router">;
