import type { Fields } from "../http/decode.ts";
import { BadRequestError, HttpError, NotFoundError } from "../http/errors.ts";
import { isPlainText } from "../context-data.ts";
import { epochSeconds, isVerbose } from "../options.ts";
import type { Session } from "../session.ts";
import type { ConfigStore } from "../stores.ts";
import { interactionView, type ChatState, type NewEvent } from "./model.ts";
import type { ChatStore } from "./store.ts";

/** One Chat API call: the session id from the path, the decoded fields, and the public base path
 * (the stage prefix clients see, e.g. `/prod` on API Gateway's default endpoint) for the URLs. */
export interface ChatRequest {
  readonly sessionId: string;
  readonly fields: Fields;
  /** The client's `transcriptPosition`, checked with the rest of the input before anything is written. */
  readonly position: number | undefined;
  readonly basePath: string;
}

export interface ChatDeps {
  readonly chats: ChatStore;
  readonly config: ConfigStore;
  readonly now: () => Date;
}

export class ChatStateError extends HttpError {
  constructor(message: string) {
    super(409, "InvalidChatStateException", message);
  }
}

function unknownSession(): NotFoundError {
  return new NotFoundError("No live service with this id");
}

const MAX_MESSAGE_LENGTH = 4096;

export function requireMessage(raw: string | undefined): string {
  const message = raw ?? "";
  if (message.trim() === "" || message.length > MAX_MESSAGE_LENGTH || !isPlainText(message)) {
    throw new BadRequestError(`message must be 1-${MAX_MESSAGE_LENGTH} characters of text`);
  }
  return message;
}

/** `transcriptPosition`: the last position the client has seen; 0 (or absent) for everything. */
export function parsePosition(raw: string | undefined): number | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  if (!/^\d{1,10}$/.test(raw.trim())) throw new BadRequestError("transcriptPosition must be a whole number");
  return Number(raw.trim());
}

/**
 * Session ids are UUIDs (lib/idempotency.ts). Anything else is unknown without asking DynamoDB,
 * which would refuse a key over 2 KB with an error that is not the client's to see.
 */
const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function requireSessionIdShape(sessionId: string): void {
  if (!SESSION_ID.test(sessionId)) throw unknownSession();
}

/** The session's partition head; an unknown, deleted or expired id is a 404, whatever TTL has not yet removed. */
export async function liveHead(deps: ChatDeps, sessionId: string) {
  requireSessionIdShape(sessionId);
  const head = await deps.chats.head(sessionId);
  return { ...head, session: requireLive(deps, head.session) };
}

function requireLive(deps: ChatDeps, session: Session | undefined): Session {
  if (session === undefined || session.expiresAt <= epochSeconds(deps.now())) throw unknownSession();
  return session;
}

/** The live session's chat (409 before create) and its last event's position: one small Query. */
export async function liveChat(deps: ChatDeps, sessionId: string) {
  const head = await liveHead(deps, sessionId);
  return { chat: requireChat(head.chat), lastPosition: head.lastPosition };
}

/** Nothing more can be said in a chat that has ended. */
export function requireRunning<T extends ChatState>(chat: T): T {
  if (chat.phase === "ENDED") throw new ChatStateError("This chat has ended");
  return chat;
}

function requireChat(chat: ChatState | undefined): ChatState {
  if (chat === undefined) throw new ChatStateError("No chat on this service id yet: create it first");
  return chat;
}

export async function appendEvent(deps: ChatDeps, chat: ChatState, lastPosition: number, event: NewEvent): Promise<number> {
  return deps.chats.append(chat, lastPosition + 1, event, deps.now());
}

/**
 * Answers with the chat interaction object: the events after `since`, as the client asked. One
 * Query, which also proves the session live and the chat created.
 */
export async function answer(deps: ChatDeps, request: ChatRequest, since: number) {
  const { chat, events } = await readChat(deps, request.sessionId, since);
  return interactionView(chat, events, since, viewOptions(request));
}

export function viewOptions(request: ChatRequest) {
  return { verbose: isVerbose(request.fields._verbose), basePath: request.basePath };
}

/** The live session with its chat, if any, and the events after `since`: one Query. */
export async function readLive(deps: ChatDeps, sessionId: string, since: number) {
  requireSessionIdShape(sessionId);
  const { session, chat, events } = await deps.chats.read(sessionId, since);
  return { session: requireLive(deps, session), chat, events };
}

export async function readChat(deps: ChatDeps, sessionId: string, since: number) {
  const { chat, events } = await readLive(deps, sessionId, since);
  return { chat: requireChat(chat), events };
}
