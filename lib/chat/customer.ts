import { randomBytes, randomUUID } from "node:crypto";
import { requireContextData } from "../session/context-data.ts";
import type { ChatDeps, ChatState, Session } from "../storage.ts";
import { firstCodePoints, type TextMap } from "../text.ts";
import { epochSeconds } from "../time.ts";
import { requireCustomerFields } from "./customer-fields.ts";
import { onSession } from "./locate.ts";
import { cometUserDigest, wantsComet } from "./notify.ts";
import {
  type ChatPage,
  claimAndWrite,
  liveHead,
  liveTranscript,
  notice,
  type Position,
  type Post,
  pageOfPost,
  pageSince,
  postEvent,
  requireChat,
  tellListeners,
  timed,
} from "./transcript.ts";
import { type InteractionView, interactionView, type ViewOptions } from "./view.ts";

/**
 * The customer side: Chat API v1 on a session (`POST {B}...`, B = /genesys/1/service/{id}/ixn/chat)
 * and the service API on the session id (GET, DELETE). The session id is the credential, as in GMS;
 * the chat's records are found from it (lib/chat/locate.ts).
 */

/** A Chat API call on one session, checked: the id is a session id and the position a number. */
export interface CustomerCall extends Position {
  readonly sessionId: string;
  readonly view: ViewOptions;
}

/** A message or typing notice from the customer. */
export type CustomerPost = CustomerCall & Post;

/**
 * `POST {B}`: the customer fields, and the other fields that join the session's context data as
 * attached data. Both as the client sent them: their limits are checked when a chat is opened.
 */
export interface CreateChatCommand extends CustomerCall {
  readonly customer: TextMap;
  readonly extra: TextMap;
  /** The request's `gms_user` header, when it named someone: with `notify_by=comet`, who the chat's events are pushed to. */
  readonly gmsUser: string | undefined;
}

/** `POST {B}/refresh`, with a message to post first when the client sent one. */
export interface RefreshCommand extends CustomerCall {
  readonly message: string | undefined;
}

function view(call: CustomerCall, { chat, page }: ChatPage): InteractionView {
  return interactionView(chat, page, call.view);
}

/** Opens the session's one chat and queues it on the session's chat endpoint, or answers with the chat that already exists. */
export function createChat(deps: ChatDeps, command: CreateChatCommand): Promise<InteractionView> {
  return onSession(deps, command.sessionId, async (chatId) => {
    const since = command.position ?? 0;
    // One read serves both cases: a new session's records hold only the session.
    const existing = await liveTranscript(deps, chatId, since);
    if (existing.chat !== undefined) return interactionView(existing.chat, existing.page, command.view);

    const { chat, attached } = newChat(existing.session, command, deps.now());
    if (await deps.sessions.createChat(chat)) {
      // Position 1 is the new chat's own: nobody else can have written it.
      const joined = timed(chat, notice("Notice.Joined", chat.customerNickname, "CLIENT"), deps.now());
      // Queued before anyone hears of it: an agent told of the new chat finds it in the queue.
      await Promise.all([
        deps.sessions.attach(chatId, attached, epochSeconds(deps.now())),
        deps.sessions.write(chat, 1, joined),
        deps.router.waiting(chat),
      ]);
      await tellListeners(deps, chat, { ...joined, position: 1 });
    }
    return view(command, await pageSince(deps, chatId, since));
  });
}

function newChat(session: Session, command: CreateChatCommand, now: Date): { chat: ChatState; attached: TextMap } {
  // The customer fields keep to their own caps (they show in the queue); the attached data (the
  // session's context data plus the create's other keys) to the limits of context data.
  const customer = requireCustomerFields(command.customer);
  const attached = requireContextData(command.extra);
  requireContextData({ ...session.data, ...attached });
  // Blank names (only spaces) count as absent.
  const fullName = [customer.firstName?.trim(), customer.lastName?.trim()].filter(Boolean).join(" ");
  const nickname = customer.userDisplayName?.trim() || fullName || "Customer";
  const chat: ChatState = {
    chatId: session.chatId,
    sessionId: session.id,
    chatSessionId: randomBytes(8).toString("hex").toUpperCase(),
    phase: "WAITING",
    startedAt: now.toISOString(),
    endpoint: session.chatEndpoint,
    customerNickname: firstCodePoints(nickname, 64),
    customer,
    userId: randomBytes(8).toString("hex").toUpperCase(),
    secureKey: randomUUID().replaceAll("-", ""),
    queuedAt: now.toISOString(),
    expiresAt: session.expiresAt,
    transcriptKey: randomBytes(32),
    ...(command.gmsUser !== undefined && wantsComet(customer.notify_by) ? { cometUser: cometUserDigest(command.gmsUser) } : {}),
  };
  return { chat, attached };
}

/** The events after `transcriptPosition`; a message sent along is posted first. */
export function refresh(deps: ChatDeps, command: RefreshCommand): Promise<InteractionView> {
  return onSession(deps, command.sessionId, async (chatId) => {
    if (command.message !== undefined) await postEvent(deps, chatId, { party: "CLIENT" }, "Message.Text", command.message);
    return view(command, await pageSince(deps, chatId, command.position ?? 0));
  });
}

/** A message or typing notice. */
export function customerEvent(deps: ChatDeps, command: CustomerPost): Promise<InteractionView> {
  return onSession(deps, command.sessionId, async (chatId) =>
    view(
      command,
      await pageOfPost(deps, chatId, command.position, await postEvent(deps, chatId, { party: "CLIENT" }, command.type, command.text)),
    ),
  );
}

/** The customer leaves, with `Notice.Left`; afterwards refresh still answers with the final state. */
export function customerDisconnect(deps: ChatDeps, call: CustomerCall): Promise<InteractionView> {
  return onSession(deps, call.sessionId, async (chatId) => {
    const ended = await claimAndWrite(
      deps,
      chatId,
      { kind: "change", from: ["WAITING", "ACCEPTED"], change: { phase: "ENDED" } },
      (chat) => notice("Notice.Left", chat.customerNickname, "CLIENT"),
      (chat) => deps.router.ended(chat),
    );
    if (ended !== undefined) {
      return view(call, await pageSince(deps, chatId, call.position ?? ended.position - 1));
    }
    // Not running (or not there): the answer says so, from the end of the transcript.
    const head = await liveHead(deps, chatId);
    requireChat(head.chat);
    return view(call, await pageSince(deps, chatId, call.position ?? head.lastPosition));
  });
}

/** `GET /genesys/1/service/{id}`: the stored business data of a live session. */
export function sessionData(deps: ChatDeps, sessionId: string): Promise<TextMap> {
  return onSession(deps, sessionId, async (chatId) => (await liveHead(deps, chatId)).session.data);
}

/**
 * `DELETE /genesys/1/service/{id}`: ends the session and its chat and erases what they hold about
 * the customer: the context data, the customer fields, the attached data and (by its key) the
 * transcript. An agent in the chat finds it gone (404), as for an expired session.
 */
export function cancelSession(deps: ChatDeps, sessionId: string): Promise<void> {
  return onSession(deps, sessionId, async (chatId) => {
    const { session, chat, lastPosition } = await liveHead(deps, chatId);
    const endedAt = epochSeconds(deps.now());
    await Promise.all([
      deps.sessions.endSession(chatId, endedAt),
      deps.sessions.eraseChat(chatId, endedAt),
      // The key's record keeps no fingerprint of what the customer sent: a retry is refused as ended.
      ...(session.idempotencyKey === undefined ? [] : [deps.sessions.endIdempotency(session.idempotencyKey, endedAt)]),
    ]);
    if (chat === undefined) return;
    // Those who listen learn it from no event: tell them (a listener's failure is never the caller's).
    await Promise.all([deps.router.ended(chat), deps.listeners?.erased?.(chat, lastPosition).catch(() => undefined)]);
  });
}
