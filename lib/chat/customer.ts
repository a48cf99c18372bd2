import { randomBytes, randomUUID } from "node:crypto";
import { requireContextData } from "../session/context-data.ts";
import type { ChatDeps, ChatState, EventType, Session } from "../storage.ts";
import { firstCodePoints, type TextMap } from "../text.ts";
import { epochSeconds } from "../time.ts";
import {
  appendEvent,
  type ChatCall,
  liveHead,
  liveTranscript,
  notice,
  type PostCommand,
  requireChat,
  requireRunning,
  viewSince,
} from "./transcript.ts";
import { type InteractionView, interactionView } from "./view.ts";

/**
 * The customer side: Chat API v1 on a session (`POST {B}...`, B = /genesys/1/service/{id}/ixn/chat)
 * and the service API on the session id (GET, DELETE). The session id is the credential, as in GMS.
 */

/**
 * `POST {B}`: the customer fields, and the other fields that join the session's context data as
 * attached data. Both as the client sent them: their limits are checked when a chat is opened.
 */
export interface CreateChatCommand extends ChatCall {
  readonly customer: TextMap;
  readonly extra: TextMap;
}

/** `POST {B}/refresh`, with a message to post first when the client sent one. */
export interface RefreshCommand extends ChatCall {
  readonly message: string | undefined;
}

/** Opens the session's one chat and queues it on the session's chat endpoint, or answers with the chat that already exists. */
export async function createChat(deps: ChatDeps, command: CreateChatCommand): Promise<InteractionView> {
  const since = command.position ?? 0;
  // One read serves both cases: a new session's records hold only the session.
  const existing = await liveTranscript(deps, command.sessionId, since);
  if (existing.chat !== undefined) return interactionView(existing.chat, existing.events, since, command.view);

  const chat = newChat(existing.session, command, deps.now());
  if (await deps.sessions.createChat(chat)) {
    await appendEvent(deps, chat, 0, notice("Notice.Joined", chat.customerNickname, "CLIENT"));
  }
  return viewSince(deps, command, since);
}

function newChat(session: Session, command: CreateChatCommand, now: Date): ChatState {
  // The customer fields, and the attached data (the session's context data plus the create's other
  // keys), keep to the limits of context data.
  const customer = requireContextData(command.customer);
  const attachedData = requireContextData({ ...session.data, ...command.extra });
  // Blank names (only spaces) count as absent.
  const fullName = [customer.firstName?.trim(), customer.lastName?.trim()].filter(Boolean).join(" ");
  const nickname = customer.userDisplayName?.trim() || fullName || "Customer";
  return {
    sessionId: session.id,
    chatSessionId: randomBytes(8).toString("hex").toUpperCase(),
    phase: "WAITING",
    startedAt: now.toISOString(),
    endpoint: session.chatEndpoint,
    customerNickname: firstCodePoints(nickname, 64),
    customer,
    attachedData,
    userId: randomBytes(8).toString("hex").toUpperCase(),
    secureKey: randomUUID().replaceAll("-", ""),
    queuedAt: now.toISOString(),
    expiresAt: session.expiresAt,
  };
}

/** The events after `transcriptPosition`; a message sent along is posted first. */
export async function refresh(deps: ChatDeps, command: RefreshCommand): Promise<InteractionView> {
  if (command.message !== undefined) await post(deps, command.sessionId, "Message.Text", command.message);
  return viewSince(deps, command, command.position ?? 0);
}

/** A message or typing notice: the answer shows the new event (and any later). */
export async function customerEvent(deps: ChatDeps, command: PostCommand): Promise<InteractionView> {
  const position = await post(deps, command.sessionId, command.type, command.text);
  return viewSince(deps, command, command.position ?? position - 1);
}

async function post(deps: ChatDeps, sessionId: string, type: EventType, text: string): Promise<number> {
  const head = await liveHead(deps, sessionId);
  const chat = requireRunning(requireChat(head.chat));
  return appendEvent(deps, chat, head.lastPosition, { type, nickname: chat.customerNickname, text, party: "CLIENT" });
}

/** The customer leaves; afterwards refresh still answers with the final state. */
export async function customerDisconnect(deps: ChatDeps, call: ChatCall): Promise<InteractionView> {
  const head = await liveHead(deps, call.sessionId);
  await endChat(deps, requireChat(head.chat), head.lastPosition);
  return viewSince(deps, call, call.position ?? head.lastPosition);
}

/** Ends a chat that is still running, with the customer's `Notice.Left`. */
async function endChat(deps: ChatDeps, chat: ChatState, lastPosition: number): Promise<void> {
  if (await deps.sessions.transition(chat, ["WAITING", "ACCEPTED"], { phase: "ENDED" })) {
    await appendEvent(deps, chat, lastPosition, notice("Notice.Left", chat.customerNickname, "CLIENT"));
  }
}

/** `GET /genesys/1/service/{id}`: the stored business data of a live session. */
export async function sessionData(deps: ChatDeps, sessionId: string): Promise<TextMap> {
  return (await liveHead(deps, sessionId)).session.data;
}

/** `DELETE /genesys/1/service/{id}`: ends a running chat, then ends the session and forgets its data. */
export async function cancelSession(deps: ChatDeps, sessionId: string): Promise<void> {
  const head = await liveHead(deps, sessionId);
  if (head.chat !== undefined) await endChat(deps, head.chat, head.lastPosition);
  await deps.sessions.endSession(sessionId, epochSeconds(deps.now()));
}
