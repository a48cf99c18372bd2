import type { Fields } from "../http/decode.ts";
import { createUrl } from "../session.ts";

/**
 * A chat interaction (Chat API v1) on a session. One per session id. Its phase maps to the
 * `chatIxnState` clients see: waiting in the queue is `CONNECTED`, an agent in the chat is
 * `TRANSCRIPT`, the end is `DISCONNECTED`.
 */
export type ChatPhase = "WAITING" | "ACCEPTED" | "ENDED";

const CHAT_IXN_STATE: Record<ChatPhase, string> = {
  WAITING: "CONNECTED",
  ACCEPTED: "TRANSCRIPT",
  ENDED: "DISCONNECTED",
};

export type Party = "CLIENT" | "AGENT";
export type EventType = "Message.Text" | "Notice.Joined" | "Notice.Left" | "Notice.TypingStarted" | "Notice.TypingStopped";

export interface ChatState {
  readonly sessionId: string;
  readonly chatSessionId: string;
  readonly phase: ChatPhase;
  readonly startedAt: string;
  readonly endpoint: string;
  readonly customerNickname: string;
  readonly customer: Fields;
  readonly attachedData: Fields;
  readonly userId: string;
  readonly secureKey: string;
  readonly agentId?: string;
  readonly agentNickname?: string;
  /** Present while waiting: the queue index's sort key. */
  readonly queuedAt?: string;
  readonly expiresAt: number;
}

export interface TranscriptEvent {
  readonly position: number;
  readonly type: EventType;
  readonly nickname: string;
  readonly text: string;
  readonly party: Party;
  /** Whole seconds since the chat started. */
  readonly offset: number;
}

export type NewEvent = Omit<TranscriptEvent, "position" | "offset">;

/** The 5-element string array field clients read: `[type, nickname, text, offset, party]`. */
function eventTuple(event: TranscriptEvent): [string, string, string, string, string] {
  return [event.type, event.nickname, event.text, String(event.offset), event.party];
}

/** `YYYY-MM-DDTHH:MM:SSZ`, as GMS writes `startedAt`. */
export function gmsTime(iso: string): string {
  return `${iso.slice(0, 19)}Z`;
}

const SERVICE_MESSAGE: Record<ChatPhase, string> = {
  WAITING: "Chat service is available",
  ACCEPTED: "Chat service is available",
  ENDED: "Chat session has ended",
};

/**
 * The chat interaction object every Chat API v1 operation answers. `transcriptPosition` is the
 * position of the last event shown, or the client's own position when nothing is new.
 */
export function interactionView(
  chat: ChatState,
  events: readonly TranscriptEvent[],
  sinceForClient: number,
  { verbose, basePath }: { readonly verbose: boolean; readonly basePath: string },
) {
  const view = {
    chatIxnState: CHAT_IXN_STATE[chat.phase],
    chatSessionId: chat.chatSessionId,
    transcriptPosition: String(events.at(-1)?.position ?? sinceForClient),
    chatServiceMessage: SERVICE_MESSAGE[chat.phase],
    transcriptToShow: events.map(eventTuple),
    startedAt: gmsTime(chat.startedAt),
  };
  if (!verbose) return view;
  const base = createUrl(chat.sessionId, basePath);
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
