import type { ChatRouting, ChatState, Claim, PostBy } from "../storage.ts";

/**
 * The rules of a chat's record, decided here as pure functions: whether a transcript position's
 * claim is allowed (SessionStore.claim) and what it leaves, and the same for a change of who a
 * waiting chat is offered to (SessionStore.route). A store only translates them (DynamoDB as one
 * conditional update, lib/dynamo/session-store.ts; the memory store by calling them,
 * lib/memory/session-store.ts), and the store contract suite (tests/contract/) holds both to them.
 */

/** What a chat's record keeps beside the chat: where its transcript has got to. */
export interface ChatCounters {
  /** The last position claimed; absent on chats opened before positions were counted. */
  readonly lastPosition?: number;
  /** The bytes its messages have claimed so far. */
  readonly transcriptBytes?: number;
  /** Messages posted so far; absent on chats opened before it was counted (their messages count from there). */
  readonly postedEvents?: number;
  /** Typing notices posted so far. */
  readonly typingEvents?: number;
}

/** A chat's record as a store keeps it: the chat and its counters. */
export type StoredChat = ChatState & ChatCounters;

/** Whether `chat` (absent: none) allows `claim` at `now` (epoch seconds). */
export function claimAllowed(chat: StoredChat | undefined, claim: Claim, now: number): chat is StoredChat {
  if (chat === undefined || !(chat.expiresAt > now)) return false;
  switch (claim.kind) {
    case "again":
      return true;
    case "change": {
      if (!claim.from.includes(chat.phase)) return false;
      const { change } = claim;
      if (change.phase === "ACCEPTED") {
        // Offered: only to the agent it is offered to, before the offer expires. Taken from the queue: only if offered to nobody.
        // A transfer to a named agent is that agent's to take.
        return change.offered
          ? chat.offer?.agentId === change.agentId && chat.offer.expiresAt > now
          : chat.offer === undefined && (chat.target === undefined || chat.target === change.agentId);
      }
      // A transfer: by the agent holding it.
      if (change.phase === "WAITING") return chat.agentId === change.from;
      return true;
    }
    case "post":
      if (chat.postedEvents !== undefined && !(chat.postedEvents < claim.maxEvents)) return false;
      if (chat.transcriptBytes !== undefined && !(chat.transcriptBytes <= claim.maxBytes - claim.bytes)) return false;
      return mayPost(chat, claim.by);
    case "typing":
      if (chat.typingEvents !== undefined && !(chat.typingEvents < claim.maxTyping)) return false;
      return mayPost(chat, claim.by);
  }
}

/** Whether the party may post in the chat as it is: the customer while it waits or runs, the agent holding it. */
function mayPost(chat: StoredChat, by: PostBy): boolean {
  if (by.party === "AGENT") return chat.phase === "ACCEPTED" && chat.agentId === by.agentId;
  return chat.phase === "WAITING" || chat.phase === "ACCEPTED";
}

/** The chat as an allowed claim leaves it at `now` (epoch seconds): the next position taken, and the change or the post's bytes counted. */
export function applyClaim(chat: StoredChat, claim: Claim, now: number): StoredChat {
  const next: StoredChat = { ...chat, lastPosition: (chat.lastPosition ?? 0) + 1 };
  if (claim.kind === "post") {
    return { ...next, transcriptBytes: (chat.transcriptBytes ?? 0) + claim.bytes, postedEvents: (chat.postedEvents ?? 0) + 1 };
  }
  if (claim.kind === "typing") return { ...next, typingEvents: (chat.typingEvents ?? 0) + 1 };
  if (claim.kind === "again") return next;
  const { change } = claim;
  // An ended chat keeps who held it or was offered it: its agent's slot is let go after.
  if (change.phase === "ENDED") return { ...next, phase: "ENDED" };
  const { offer: _offer, target: _target, agentId: _agent, agentNickname: _nickname, ...rest } = next;
  if (change.phase === "ACCEPTED") return { ...rest, phase: "ACCEPTED", agentId: change.agentId, agentNickname: change.agentNickname };
  return {
    ...rest,
    phase: "WAITING",
    endpoint: change.endpoint,
    // The agent who handed it on is not offered it back at once, as if it had refused it.
    rejectedBy: { ...chat.rejectedBy, [change.from]: now },
    ...(change.target === undefined ? {} : { target: change.target }),
  };
}

/** Whether a waiting `chat` allows `change` at `now` (epoch seconds). */
export function routeAllowed(chat: ChatState | undefined, change: ChatRouting, now: number): chat is ChatState {
  if (chat === undefined || !(chat.expiresAt > now)) return false;
  if (change.kind === "withdraw") return chat.offer?.agentId === change.agentId && (!change.expired || chat.offer.expiresAt <= now);
  if (change.kind === "untarget") return chat.phase === "WAITING" && chat.offer === undefined && chat.target === change.agentId;
  const { agentId } = change.offer;
  const refusedAt = chat.rejectedBy?.[agentId];
  return (
    chat.phase === "WAITING" &&
    chat.offer === undefined &&
    (chat.target === undefined || chat.target === agentId) &&
    (refusedAt === undefined || refusedAt <= now - change.cooloffSeconds)
  );
}

/** The chat as an allowed routing change leaves it at `now`. */
export function applyRoute(chat: ChatState, change: ChatRouting, now: number): ChatState {
  if (change.kind === "offer") return { ...chat, offer: change.offer };
  const { offer: _withdrawn, target: _target, ...rest } = chat;
  if (change.kind === "untarget") return rest;
  return change.refused ? { ...rest, rejectedBy: { ...chat.rejectedBy, [change.agentId]: now } } : rest;
}
