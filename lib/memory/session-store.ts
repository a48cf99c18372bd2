import { applyClaim, applyRoute, type ChatCounters, claimAllowed, routeAllowed, type StoredChat } from "../chat/claims.ts";
import type {
  ChatRouting,
  ChatState,
  Claim,
  ClaimedPosition,
  IdempotencyRecord,
  Session,
  SessionRecords,
  SessionStore,
  TimedEvent,
  TranscriptEntry,
  WriteOutcome,
} from "../storage.ts";
import type { TextMap } from "../text.ts";

/** An event as this store keeps it: whether it was sealed under the chat's key (erasing the key blanks it). */
type StoredEntry = TranscriptEntry & { readonly sealed?: boolean };

interface Partition {
  session?: Session;
  chat?: StoredChat;
  readonly events: Map<number, StoredEntry>;
}

/**
 * Sessions, chats and transcripts in memory, keyed by chat id as on DynamoDB, with the DynamoDB
 * adapter's semantics (the store contract suite, tests/contract/, runs against both): for tests of
 * the domain that need thousands of operations in milliseconds, and races decided by the same
 * rules (lib/chat/claims.ts). It also keeps each chat's listeners, for the memory push store.
 */
export class MemorySessionStore implements SessionStore {
  private readonly partitions = new Map<string, Partition>();
  private readonly keys = new Map<string, IdempotencyRecord>();

  private partition(chatId: string): Partition {
    let found = this.partitions.get(chatId);
    if (found === undefined) {
      found = { events: new Map() };
      this.partitions.set(chatId, found);
    }
    return found;
  }

  async create(session: Session): ReturnType<SessionStore["create"]> {
    const partition = this.partition(session.chatId);
    if (partition.session !== undefined) return { stored: false, existing: structuredClone(partition.session) };
    partition.session = structuredClone(session);
    return { stored: true };
  }

  async get(chatId: string): Promise<Session | undefined> {
    return copy(this.partitions.get(chatId)?.session);
  }

  async getIdempotency(key: string): Promise<IdempotencyRecord | undefined> {
    return copy(this.keys.get(key));
  }

  async putIdempotency(record: IdempotencyRecord): Promise<IdempotencyRecord> {
    const inForce = this.keys.get(record.key);
    if (inForce !== undefined) return copy(inForce);
    this.keys.set(record.key, structuredClone(record));
    return record;
  }

  async head(chatId: string): Promise<SessionRecords & { readonly lastPosition: number }> {
    const partition = this.partitions.get(chatId);
    const positions = [...(partition?.events.keys() ?? [])];
    return { ...this.records(partition), lastPosition: positions.length === 0 ? 0 : Math.max(...positions) };
  }

  async read(chatId: string, afterPosition: number, limit: number) {
    const partition = this.partitions.get(chatId);
    const after = [...(partition?.events.values() ?? [])].filter((entry) => entry.position > afterPosition);
    after.sort((a, b) => a.position - b.position);
    const chat = partition?.chat;
    return {
      ...this.records(partition),
      entries: after.slice(0, limit).map((entry) => readable(entry, chat)),
      more: after.length > limit,
    };
  }

  async createChat(chat: ChatState): Promise<boolean> {
    const partition = this.partition(chat.chatId);
    if (partition.chat !== undefined) return false;
    // Position 1 is the opening notice's, written next by the chat's creator.
    partition.chat = { ...structuredClone(chat), lastPosition: 1 };
    return true;
  }

  async attach(chatId: string, attached: TextMap, now: number): Promise<boolean> {
    const session = this.partitions.get(chatId)?.session;
    if (session === undefined || !(session.expiresAt > now)) return false;
    this.partition(chatId).session = { ...session, attached: { ...attached } };
    return true;
  }

  async chats(chatIds: readonly string[]): Promise<ReadonlyMap<string, ChatState>> {
    const found = new Map<string, ChatState>();
    for (const id of chatIds) {
      const chat = this.partitions.get(id)?.chat;
      if (chat !== undefined) found.set(id, chatOf(chat));
    }
    return found;
  }

  async attachedData(chatIds: readonly string[]): Promise<ReadonlyMap<string, TextMap>> {
    const found = new Map<string, TextMap>();
    for (const id of chatIds) {
      const session = this.partitions.get(id)?.session;
      if (session !== undefined) found.set(id, { ...session.data, ...session.attached });
    }
    return found;
  }

  async claim(chatId: string, claim: Claim, now: number): Promise<ClaimedPosition | undefined> {
    const partition = this.partitions.get(chatId);
    const chat = partition?.chat;
    if (partition === undefined || !claimAllowed(chat, claim, now)) return undefined;
    partition.chat = applyClaim(chat, claim, now);
    return { chat: chatOf(partition.chat), position: partition.chat.lastPosition ?? 1 };
  }

  async route(chatId: string, change: ChatRouting, now: number): ReturnType<SessionStore["route"]> {
    const partition = this.partitions.get(chatId);
    const stored = partition?.chat;
    if (partition === undefined || stored === undefined) return { refused: undefined };
    if (!routeAllowed(chatOf(stored), change, now)) return { refused: chatOf(stored) };
    partition.chat = { ...applyRoute(stored, change, now), ...counters(stored) } as StoredChat;
    return { chat: chatOf(partition.chat) };
  }

  async write(chat: ChatState, position: number, event: TimedEvent): Promise<WriteOutcome> {
    const events = this.partition(chat.chatId).events;
    const found = events.get(position);
    if (found !== undefined) return "givenUp" in found ? "givenUp" : "taken";
    events.set(position, { ...structuredClone(event), position, ...(chat.transcriptKey === undefined ? {} : { sealed: true }) });
    return "written";
  }

  async giveUp(chat: ChatState, position: number): Promise<boolean> {
    const events = this.partition(chat.chatId).events;
    if (events.has(position)) return false;
    events.set(position, { position, givenUp: true });
    return true;
  }

  async advance(chatId: string, lastPosition: number): Promise<void> {
    const partition = this.partitions.get(chatId);
    const chat = partition?.chat;
    if (partition === undefined || chat === undefined) return;
    if (chat.lastPosition === undefined || chat.lastPosition < lastPosition) partition.chat = { ...chat, lastPosition };
  }

  async endSession(chatId: string, endedAt: number): Promise<void> {
    const session = this.partitions.get(chatId)?.session;
    if (session === undefined) return;
    const { attached: _attached, requestHash: _hash, ...kept } = session;
    this.partition(chatId).session = { ...kept, expiresAt: endedAt, data: {} };
  }

  async eraseChat(chatId: string, endedAt: number): Promise<void> {
    const partition = this.partition(chatId);
    const chat: StoredChat = partition.chat ?? emptyChat(chatId);
    const { customer: _customer, attachedData: _attached, transcriptKey: _key, cometUser: _user, ...kept } = chat;
    partition.chat = { ...kept, customer: {}, phase: "ENDED", expiresAt: endedAt, customerNickname: "" };
  }

  async endIdempotency(key: string, endedAt: number): Promise<void> {
    const record = this.keys.get(key);
    if (record === undefined) return;
    // The fingerprint goes: only its digest's record stays, refusing a retry.
    this.keys.set(key, { ...record, requestHash: "", expiresAt: endedAt });
  }

  /** The chat's connection joins its listeners, if the chat is there and has room (or has it already). */
  listen(chatId: string, connectionId: string, max: number): boolean {
    const partition = this.partitions.get(chatId);
    const chat = partition?.chat;
    if (partition === undefined || chat === undefined) return false;
    const listeners = chat.listeners ?? [];
    if (listeners.includes(connectionId)) return true;
    if (listeners.length >= max) return false;
    partition.chat = { ...chat, listeners: [...listeners, connectionId] };
    return true;
  }

  unlisten(chatId: string, connectionId: string): void {
    const partition = this.partitions.get(chatId);
    const chat = partition?.chat;
    if (partition === undefined || chat?.listeners === undefined) return;
    const listeners = chat.listeners.filter((id) => id !== connectionId);
    const { listeners: _old, ...rest } = chat;
    partition.chat = listeners.length === 0 ? rest : { ...chat, listeners };
  }

  /** The chat's listeners, and its expiry. */
  listenersOf(chatId: string): { readonly listeners: readonly string[]; readonly expiresAt: number } {
    const chat = this.partitions.get(chatId)?.chat;
    return { listeners: chat?.listeners ?? [], expiresAt: chat?.expiresAt ?? 0 };
  }

  private records(partition: Partition | undefined): SessionRecords {
    return { session: copy(partition?.session), chat: partition?.chat && chatOf(partition.chat) };
  }
}

function copy<T>(value: T): T {
  return value === undefined ? value : structuredClone(value);
}

/** The store's counters of a chat's record. */
function counters({ lastPosition, transcriptBytes, postedEvents, typingEvents }: StoredChat): ChatCounters {
  const kept = { lastPosition, transcriptBytes, postedEvents, typingEvents };
  return Object.fromEntries(Object.entries(kept).filter(([, value]) => value !== undefined));
}

/** The chat without the store's counters. */
function chatOf(stored: StoredChat): ChatState {
  const { lastPosition: _last, transcriptBytes: _bytes, postedEvents: _posted, typingEvents: _typing, ...chat } = structuredClone(stored);
  return chat;
}

/** A sealed event reads blank once its chat's key is erased. */
function readable(entry: StoredEntry, chat: StoredChat | undefined): TranscriptEntry {
  if ("givenUp" in entry) return { position: entry.position, givenUp: true };
  const { sealed, ...event } = entry;
  return sealed && chat?.transcriptKey === undefined ? { ...event, nickname: "", text: "" } : { ...event };
}

/** What an erasure leaves where there was no chat: an ended, empty one. */
function emptyChat(chatId: string): StoredChat {
  return {
    chatId,
    sessionId: chatId,
    chatSessionId: "",
    phase: "ENDED",
    startedAt: "",
    endpoint: "",
    customerNickname: "",
    customer: {},
    userId: "",
    secureKey: "",
    expiresAt: 0,
  };
}
