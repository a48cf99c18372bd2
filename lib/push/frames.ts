import type { PresenceView } from "../agents/presence.ts";
import { type AgentChatView, genesysPush, type InteractionView } from "../chat/view.ts";
import type { OfferView, WithdrawnReason } from "../routing/listeners.ts";
import type { ChatState } from "../storage.ts";

/**
 * The frames the push channel sends (docs/push.md, asyncapi.yaml). A chat's events travel in the
 * envelope GMS uses for its CometD pushes, with the chat interaction object exactly as `refresh`
 * answers it; the channel's own notices have channels of their own under `/gms/`.
 */

/** API Gateway's limit for one WebSocket frame: a larger delta is sent as a "refresh now" notice. */
export const MAX_FRAME_BYTES = 32 * 1024;

/** A chat's new events, to its customer (lib/chat/view.ts genesysPush); `id` names the session and the position the frame reaches. */
export function chatFrame(chat: ChatState, message: InteractionView): string {
  return JSON.stringify(genesysPush(chat.sessionId, `${chat.sessionId}:${message.transcriptPosition}`, message));
}

/**
 * A chat's new events, to the consoles of the agent holding it: the same envelope, naming the chat by
 * its chat id (in `id` and `tag`), with the agent's view of the chat, which shows nothing of the
 * customer's session. A console knows its chats by their chat ids, so it matches the tag as a
 * customer does.
 */
export function agentChatFrame(message: AgentChatView): string {
  return JSON.stringify(genesysPush(message.chatId, `${message.chatId}:${message.transcriptPosition}`, message));
}

/**
 * The chat has more than one frame can carry after `transcriptPosition`: refresh from there (or
 * subscribe again with it). `id`: the session id to its customer, the chat id to agents.
 */
export function refreshFrame(id: string, transcriptPosition: number): string {
  return JSON.stringify({ channel: "/gms/refresh", data: { id, transcriptPosition: String(transcriptPosition) } });
}

/** An endpoint's queue changed: a chat came, was accepted or left. Read the queue again. */
export function queueFrame(chat: ChatState): string {
  return JSON.stringify({ channel: "/gms/queue", data: { endpoint: chat.endpoint, id: chat.chatId, phase: chat.phase } });
}

/** A chat offered to the agent (lib/routing/listeners.ts OfferView): accept or reject it before `expiresAt`. */
export function offerFrame(offer: OfferView): string {
  return JSON.stringify({ channel: "/gms/offer", data: offer });
}

/** An offer the agent held went: not answered in time, refused, its chat ended, or the agent went not ready. */
export function withdrawnFrame(chatId: string, reason: WithdrawnReason): string {
  return JSON.stringify({ channel: "/gms/withdrawn", data: { chatId, reason } });
}

/** The agent's presence changed (lib/agents/presence.ts PresenceView): ready or not, and why. */
export function presenceFrame(presence: PresenceView): string {
  return JSON.stringify({ channel: "/gms/presence", data: presence });
}

/** A subscription in force: what it listens to, and until when (epoch seconds). */
export function subscribedFrame(topics: Readonly<Record<string, unknown>>, expiresAt: number): string {
  return JSON.stringify({ channel: "/gms/subscribed", data: { ...topics, expiresAt } });
}

export function pongFrame(): string {
  return JSON.stringify({ channel: "/gms/pong", data: {} });
}

/** A request refused, in the API's error shape. */
export function errorFrame(status: number, message: string, exception: string): string {
  return JSON.stringify({ channel: "/gms/error", data: { status, message, exception } });
}

/** The frame, or the "refresh now" notice (for `id`) when the frame would pass API Gateway's limit. */
export function fitting(frame: string, id: string, since: number): string {
  return Buffer.byteLength(frame) <= MAX_FRAME_BYTES ? frame : refreshFrame(id, since);
}
