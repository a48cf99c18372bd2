import type { ChatState, Claim } from "../storage.ts";

/**
 * The rule of a transcript position's claim (SessionStore.claim): whether a chat allows it, and
 * what it leaves. Decided here, as pure functions; a store only translates them (DynamoDB as one
 * conditional update, lib/dynamo/session-store.ts; the memory store by calling them,
 * lib/memory/session-store.ts), and the store contract suite (tests/contract/) holds both to them.
 */

/** What a chat's record keeps beside the chat: where its transcript has got to. */
export interface ChatCounters {
  /** The last position claimed; absent on chats opened before positions were counted. */
  readonly lastPosition?: number;
  /** The bytes its posts have claimed so far. */
  readonly transcriptBytes?: number;
}

/** A chat's record as a store keeps it: the chat and its counters. */
export type StoredChat = ChatState & ChatCounters;

/** Whether `chat` (absent: none) allows `claim` at `now` (epoch seconds). */
export function claimAllowed(chat: StoredChat | undefined, claim: Claim, now: number): chat is StoredChat {
  if (chat === undefined || !(chat.expiresAt > now)) return false;
  switch (claim.kind) {
    case "again":
      return true;
    case "change":
      return claim.from.includes(chat.phase);
    case "post": {
      if (chat.lastPosition !== undefined && !(chat.lastPosition < claim.maxEvents)) return false;
      if (chat.transcriptBytes !== undefined && !(chat.transcriptBytes <= claim.maxBytes - claim.bytes)) return false;
      if (claim.by.party === "AGENT") return chat.phase === "ACCEPTED" && chat.agentId === claim.by.agentId;
      return chat.phase === "WAITING" || chat.phase === "ACCEPTED";
    }
  }
}

/** The chat as an allowed claim leaves it: the next position taken, and the change or the post's bytes counted. */
export function applyClaim(chat: StoredChat, claim: Claim): StoredChat {
  const next: StoredChat = { ...chat, lastPosition: (chat.lastPosition ?? 0) + 1 };
  if (claim.kind === "post") return { ...next, transcriptBytes: (chat.transcriptBytes ?? 0) + claim.bytes };
  if (claim.kind === "again") return next;
  const { change } = claim;
  if (change.phase === "ENDED") return { ...next, phase: "ENDED" };
  return { ...next, phase: "ACCEPTED", agentId: change.agentId, agentNickname: change.agentNickname };
}
