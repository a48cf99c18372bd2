import { createUrl } from "../session/session.ts";
import type { ChatPhase, ChatState, Party, TranscriptEvent } from "../storage.ts";
import type { TextMap } from "../text.ts";

/**
 * What Chat API v1 and the agent API answer about a chat: the shapes clients read (the pages import
 * these types) and the functions that make them.
 */

export type { Party };

/** The chat's phase as clients see it: waiting in the queue, with an agent, ended. */
export type ChatIxnState = "CONNECTED" | "TRANSCRIPT" | "DISCONNECTED";

const CHAT_IXN_STATE: Record<ChatPhase, ChatIxnState> = {
  WAITING: "CONNECTED",
  ACCEPTED: "TRANSCRIPT",
  ENDED: "DISCONNECTED",
};

const SERVICE_MESSAGE: Record<ChatPhase, string> = {
  WAITING: "Chat service is available",
  ACCEPTED: "Chat service is available",
  ENDED: "Chat session has ended",
};

/** How the client asked for the answer: `_verbose`, and the path prefix it sees in front of the API's URLs. */
export interface ViewOptions {
  readonly verbose: boolean;
  readonly basePath: string;
}

/** An event as clients read it: `[type, nickname, text, offset seconds, party]`. */
export type EventTuple = readonly [type: string, nickname: string, text: string, offset: string, party: string];

/** The chat interaction object every Chat API v1 operation answers. */
export interface InteractionView {
  readonly chatIxnState: ChatIxnState;
  readonly chatSessionId: string;
  /** The position of the last event shown, or the client's own position when nothing is new. */
  readonly transcriptPosition: string;
  readonly chatServiceMessage: string;
  readonly transcriptToShow: readonly EventTuple[];
  readonly startedAt: string;
}

/** With `_verbose`: the chat's ids and its follow-up URLs. */
export interface VerboseInteractionView extends InteractionView {
  readonly userId: string;
  readonly secureKey: string;
  readonly _chatIxnAPI_SEND_URL: string;
  readonly _chatIxnAPI_REFRESH_URL: string;
  readonly _chatIxnAPI_START_TYPING_URL: string;
  readonly _chatIxnAPI_STOP_TYPING_URL: string;
  readonly _chatIxnAPI_DISCONNECT_URL: string;
  readonly _chatIxnAPI_REFRESH_FROM_START_URL: string;
}

/** The push of a chat's new events, in the envelope GMS uses for its CometD pushes (WebSocket frames and Bayeux answers alike). */
export type GenesysPush = {
  readonly channel: "/_genesys";
  readonly data: { readonly id: string; readonly tag: string; readonly message: InteractionView };
};

/** `id` tells one push from another; the message is exactly what refresh answers from the client's position. */
export function genesysPush(sessionId: string, id: string, message: InteractionView): GenesysPush {
  return { channel: "/_genesys", data: { id, tag: `service.chat.refresh.${sessionId}`, message } };
}

/** `YYYY-MM-DDTHH:MM:SSZ`, as GMS writes `startedAt`. */
function gmsTime(iso: string): string {
  return `${iso.slice(0, 19)}Z`;
}

function eventTuple(event: TranscriptEvent): EventTuple {
  return [event.type, event.nickname, event.text, String(event.offset), event.party];
}

/** The chat with a page of the events after the client's position: `reached` is where the page ends. */
export function interactionView(
  chat: ChatState,
  page: { readonly events: readonly TranscriptEvent[]; readonly reached: number },
  options: ViewOptions,
): InteractionView | VerboseInteractionView {
  const { events, reached } = page;
  const view: InteractionView = {
    chatIxnState: CHAT_IXN_STATE[chat.phase],
    chatSessionId: chat.chatSessionId,
    transcriptPosition: String(reached),
    chatServiceMessage: SERVICE_MESSAGE[chat.phase],
    transcriptToShow: events.map(eventTuple),
    startedAt: gmsTime(chat.startedAt),
  };
  if (!options.verbose) return view;
  const base = createUrl(chat.sessionId, options.basePath);
  return {
    ...view,
    userId: chat.userId,
    secureKey: chat.secureKey,
    _chatIxnAPI_SEND_URL: `${base}/send`,
    _chatIxnAPI_REFRESH_URL: `${base}/refresh`,
    _chatIxnAPI_START_TYPING_URL: `${base}/startTyping`,
    _chatIxnAPI_STOP_TYPING_URL: `${base}/stopTyping`,
    _chatIxnAPI_DISCONNECT_URL: `${base}/disconnect`,
    _chatIxnAPI_REFRESH_FROM_START_URL: `${base}/refresh?transcriptPosition=0`,
  };
}

/**
 * A chat as the agent API and an agent's frames show it: the chat interaction object, without the
 * follow-up URLs `_verbose` adds for customers (they carry the customer's session id, which no
 * agent-facing answer shows), and the chat's id.
 */
export interface AgentChatView extends InteractionView {
  readonly chatId: string;
}

export function agentChatView(
  chat: ChatState,
  page: { readonly events: readonly TranscriptEvent[]; readonly reached: number },
): AgentChatView {
  return { ...interactionView(chat, page, { verbose: false, basePath: "" }), chatId: chat.chatId };
}

/**
 * A chat waiting in an endpoint's queue, as an agent sees it: a few hundred bytes to about 5 KB (the
 * customer fields are capped, lib/chat/customer-fields.ts), plus the attached data (up to 32 KB) only when
 * the agent asks for it.
 */
export interface QueueItem {
  /** The chat id (lib/session/ids.ts): what the agent API's chat URLs take. */
  readonly id: string;
  readonly chatSessionId: string;
  readonly nickname: string;
  readonly customer: TextMap;
  readonly attachedData?: TextMap;
  readonly queuedAt: string | undefined;
  readonly startedAt: string;
}

/** A page of an endpoint's queue, oldest first; `next` asks for the page after it. */
export interface QueueView {
  readonly endpoint: string;
  /** How its chats reach agents: `offer` (one agent at a time; the list is for looking) or `pick` (agents accept from it). */
  readonly routing: "offer" | "pick";
  readonly chats: readonly QueueItem[];
  readonly next?: string;
}

/** A waiting chat, with its attached data when the agent asked for it. */
export function queueItem(chat: ChatState, attachedData: TextMap | undefined): QueueItem {
  return {
    id: chat.chatId,
    chatSessionId: chat.chatSessionId,
    nickname: chat.customerNickname,
    customer: chat.customer,
    ...(attachedData === undefined ? {} : { attachedData }),
    queuedAt: chat.queuedAt,
    startedAt: gmsTime(chat.startedAt),
  };
}
