import { randomBytes, randomUUID } from "node:crypto";
import { splitContextData } from "../context-data.ts";
import type { Fields } from "../http/decode.ts";
import type { Session } from "../session.ts";
import { answer, appendEvent, liveChat, liveHead, readLive, requireMessage, requireRunning, viewOptions, type ChatDeps, type ChatRequest } from "./conversation.ts";
import { interactionView, type ChatState, type EventType } from "./model.ts";

/** Create fields that describe the customer; push fields are accepted and not used (polling only). */
const CUSTOMER_KEYS = ["firstName", "lastName", "email", "subject", "userDisplayName", "subscriptionID", "notify_by"] as const;
const IGNORED_KEYS = /^(push_notification_|transcriptPosition$|message$)/;

/**
 * `POST {B}` (B = /genesys/1/service/{id}/ixn/chat): opens the session's one chat and queues it on the
 * session's chat endpoint, or answers with the chat that already exists.
 */
export async function createChat(deps: ChatDeps, request: ChatRequest) {
  const since = request.position ?? 0;
  // One read serves both cases: a new session's partition holds only the session record.
  const existing = await readLive(deps, request.sessionId, since);
  if (existing.chat !== undefined) return interactionView(existing.chat, existing.events, since, viewOptions(request));

  const chat = newChat(existing.session, request.fields, deps.now());
  if (await deps.chats.createChat(chat)) {
    await appendEvent(deps, chat, 0, { type: "Notice.Joined", nickname: chat.customerNickname, text: "has joined the session", party: "CLIENT" });
  }
  return answer(deps, request, since);
}

function newChat(session: Session, fields: Fields, now: Date): ChatState {
  const customer: Fields = {};
  const extra: Fields = {};
  for (const [key, value] of Object.entries(fields)) {
    if ((CUSTOMER_KEYS as readonly string[]).includes(key)) customer[key] = value;
    else if (!IGNORED_KEYS.test(key)) extra[key] = value;
  }
  // The same limits as request-chat's context data apply to the customer fields and to the
  // attached data (the session's context data plus the create's other keys, control keys dropped).
  splitContextData(customer);
  const attachedData = splitContextData({ ...session.data, ...extra }).data;
  // Blank names (only spaces) count as absent.
  const fullName = [customer.firstName?.trim(), customer.lastName?.trim()].filter(Boolean).join(" ");
  const nickname = customer.userDisplayName?.trim() || fullName || "Customer";
  return {
    sessionId: session.id,
    chatSessionId: randomBytes(8).toString("hex").toUpperCase(),
    phase: "WAITING",
    startedAt: now.toISOString(),
    endpoint: session.chatEndpoint,
    // Cut by code point: a cut inside a surrogate pair would store malformed text.
    customerNickname: Array.from(nickname).slice(0, 64).join(""),
    customer,
    attachedData,
    userId: randomBytes(8).toString("hex").toUpperCase(),
    secureKey: randomUUID().replaceAll("-", ""),
    queuedAt: now.toISOString(),
    expiresAt: session.expiresAt,
  };
}

/** `POST {B}/refresh`: the events after `transcriptPosition`; a `message` sent along is posted first. */
export async function refresh(deps: ChatDeps, request: ChatRequest) {
  const { fields } = request;
  const since = request.position ?? 0;
  if (fields.message !== undefined && fields.message.trim() !== "") {
    await post(deps, request.sessionId, "Message.Text", requireMessage(fields.message));
  }
  return answer(deps, request, since);
}

/** `POST {B}/send`, `/startTyping`, `/stopTyping`: the answer shows the new event (and any later). */
export async function customerEvent(deps: ChatDeps, request: ChatRequest, type: EventType) {
  const text = type === "Message.Text" ? requireMessage(request.fields.message) : "";
  const position = await post(deps, request.sessionId, type, text);
  return answer(deps, request, request.position ?? position - 1);
}

async function post(deps: ChatDeps, sessionId: string, type: EventType, text: string): Promise<number> {
  const { chat, lastPosition } = await liveChat(deps, sessionId);
  return appendEvent(deps, requireRunning(chat), lastPosition, { type, nickname: chat.customerNickname, text, party: "CLIENT" });
}

/** `POST {B}/disconnect`: the customer leaves; afterwards refresh still answers with the final state. */
export async function customerDisconnect(deps: ChatDeps, request: ChatRequest) {
  const { chat, lastPosition } = await liveChat(deps, request.sessionId);
  await endChat(deps, chat, lastPosition);
  return answer(deps, request, request.position ?? lastPosition);
}

/** Ends a chat that is still running, with the customer's `Notice.Left`. */
async function endChat(deps: ChatDeps, chat: ChatState, lastPosition: number) {
  if (await deps.chats.transition(chat, ["WAITING", "ACCEPTED"], { phase: "ENDED" })) {
    await appendEvent(deps, chat, lastPosition, { type: "Notice.Left", nickname: chat.customerNickname, text: "has left the session", party: "CLIENT" });
  }
}

/** `GET /genesys/1/service/{id}`: the stored business data of a live session. */
export async function getSessionData(deps: ChatDeps, sessionId: string) {
  return (await liveHead(deps, sessionId)).session.data;
}

/** `DELETE /genesys/1/service/{id}`: ends a running chat, then ends the session and forgets its data. */
export async function cancelSession(deps: ChatDeps, sessionId: string) {
  const head = await liveHead(deps, sessionId);
  if (head.chat !== undefined) await endChat(deps, head.chat, head.lastPosition);
  await deps.chats.endSession(sessionId, deps.now());
}
