import { applyClaim, claimAllowed, type StoredChat } from "../chat/claims.ts";
import { InvalidInputError } from "../errors.ts";
import type {
  ChatState,
  Claim,
  ClaimedPosition,
  IdempotencyRecord,
  QueuePage,
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
 * Sessions, chats and transcripts in memory, with the DynamoDB adapter's semantics (the store
 * contract suite, tests/contract/, runs against both): for tests of the domain that need thousands
 * of operations in milliseconds, and races decided by the same rules (lib/chat/claims.ts).
 */
export class MemorySessionStore implements SessionStore {
  private readonly partitions = new Map<string, Partition>();
  private readonly keys = new Map<string, IdempotencyRecord>();

  private partition(id: string): Partition {
    let found = this.partitions.get(id);
    if (found === undefined) {
      found = { events: new Map() };
      this.partitions.set(id, found);
    }
    return found;
  }

  async create(session: Session): ReturnType<SessionStore["create"]> {
    const partition = this.partition(session.id);
    if (partition.session !== undefined) return { stored: false, existing: structuredClone(partition.session) };
    partition.session = structuredClone(session);
    return { stored: true };
  }

  async get(id: string): Promise<Session | undefined> {
    return copy(this.partitions.get(id)?.session);
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

  async head(sessionId: string): Promise<SessionRecords & { readonly lastPosition: number }> {
    const partition = this.partitions.get(sessionId);
    const positions = [...(partition?.events.keys() ?? [])];
    return { ...this.records(partition), lastPosition: positions.length === 0 ? 0 : Math.max(...positions) };
  }

  async read(sessionId: string, afterPosition: number, limit: number) {
    const partition = this.partitions.get(sessionId);
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
    const partition = this.partition(chat.sessionId);
    if (partition.chat !== undefined) return false;
    // Position 1 is the opening notice's, written next by the chat's creator.
    partition.chat = { ...structuredClone(chat), lastPosition: 1 };
    return true;
  }

  async attach(sessionId: string, attached: TextMap, now: number): Promise<boolean> {
    const session = this.partitions.get(sessionId)?.session;
    if (session === undefined || !(session.expiresAt > now)) return false;
    this.partition(sessionId).session = { ...session, attached: { ...attached } };
    return true;
  }

  async attachedData(sessionIds: readonly string[]): Promise<ReadonlyMap<string, TextMap>> {
    const found = new Map<string, TextMap>();
    for (const id of sessionIds) {
      const session = this.partitions.get(id)?.session;
      if (session !== undefined) found.set(id, { ...session.data, ...session.attached });
    }
    return found;
  }

  async claim(sessionId: string, claim: Claim, now: number): Promise<ClaimedPosition | undefined> {
    const partition = this.partitions.get(sessionId);
    const chat = partition?.chat;
    if (partition === undefined || !claimAllowed(chat, claim, now)) return undefined;
    partition.chat = applyClaim(chat, claim);
    return { chat: chatOf(partition.chat), position: partition.chat.lastPosition ?? 1 };
  }

  async write(chat: ChatState, position: number, event: TimedEvent): Promise<WriteOutcome> {
    const events = this.partition(chat.sessionId).events;
    const found = events.get(position);
    if (found !== undefined) return "givenUp" in found ? "givenUp" : "taken";
    events.set(position, { ...structuredClone(event), position, ...(chat.transcriptKey === undefined ? {} : { sealed: true }) });
    return "written";
  }

  async giveUp(chat: ChatState, position: number): Promise<boolean> {
    const events = this.partition(chat.sessionId).events;
    if (events.has(position)) return false;
    events.set(position, { position, givenUp: true });
    return true;
  }

  async advance(sessionId: string, lastPosition: number): Promise<void> {
    const partition = this.partitions.get(sessionId);
    const chat = partition?.chat;
    if (partition === undefined || chat === undefined) return;
    if (chat.lastPosition === undefined || chat.lastPosition < lastPosition) partition.chat = { ...chat, lastPosition };
  }

  async queue(endpoint: string, page: { readonly limit: number; readonly after?: string }): Promise<QueuePage> {
    const waiting = [...this.partitions.values()]
      .map((partition) => partition.chat)
      .filter((chat): chat is StoredChat => chat?.queuedAt !== undefined && chat.endpoint === endpoint)
      .sort((a, b) => order(a).localeCompare(order(b)));
    let start = 0;
    if (page.after !== undefined) {
      const cursor = decodeCursor(page.after);
      start = waiting.findIndex((chat) => order(chat) > cursor);
      if (start === -1) start = waiting.length;
    }
    const chats = waiting.slice(start, start + page.limit).map(chatOf);
    const last = chats.at(-1);
    return start + page.limit < waiting.length && last !== undefined ? { chats, next: encodeCursor(order(last)) } : { chats };
  }

  async endSession(sessionId: string, endedAt: number): Promise<void> {
    const session = this.partitions.get(sessionId)?.session;
    if (session === undefined) return;
    const { attached: _attached, requestHash: _hash, ...kept } = session;
    this.partition(sessionId).session = { ...kept, expiresAt: endedAt, data: {} };
  }

  async eraseChat(sessionId: string, endedAt: number): Promise<void> {
    const partition = this.partition(sessionId);
    const chat: StoredChat = partition.chat ?? emptyChat(sessionId);
    const { customer: _customer, attachedData: _attached, transcriptKey: _key, cometUser: _user, queuedAt: _queued, ...kept } = chat;
    partition.chat = { ...kept, customer: {}, phase: "ENDED", expiresAt: endedAt, customerNickname: "" };
  }

  async endIdempotency(key: string, endedAt: number): Promise<void> {
    const record = this.keys.get(key);
    if (record === undefined) return;
    // The fingerprint goes: only its digest's record stays, refusing a retry.
    this.keys.set(key, { ...record, requestHash: "", expiresAt: endedAt });
  }

  private records(partition: Partition | undefined): SessionRecords {
    return { session: copy(partition?.session), chat: partition?.chat && chatOf(partition.chat) };
  }
}

function copy<T>(value: T): T {
  return value === undefined ? value : structuredClone(value);
}

/** The chat without the store's counters. */
function chatOf(stored: StoredChat): ChatState {
  const { lastPosition: _last, transcriptBytes: _bytes, ...chat } = structuredClone(stored);
  return chat;
}

/** A sealed event reads blank once its chat's key is erased. */
function readable(entry: StoredEntry, chat: StoredChat | undefined): TranscriptEntry {
  if ("givenUp" in entry) return { position: entry.position, givenUp: true };
  const { sealed, ...event } = entry;
  return sealed && chat?.transcriptKey === undefined ? { ...event, nickname: "", text: "" } : { ...event };
}

/** What an erasure leaves where there was no chat: an ended, empty one. */
function emptyChat(sessionId: string): StoredChat {
  return {
    sessionId,
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

const order = (chat: ChatState) => `${chat.queuedAt}#${chat.sessionId}`;
const encodeCursor = (value: string) => Buffer.from(value).toString("base64url");

function decodeCursor(cursor: string): string {
  const value = Buffer.from(cursor, "base64url").toString("utf8");
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z#[0-9a-f-]{36}$/.test(value)) {
    throw new InvalidInputError("after must be the next value of a queue page");
  }
  return value;
}
