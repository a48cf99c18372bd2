import { freeSlots, isPresent } from "../agents/state.ts";
import { type AgentCall, onChat, view, withActor } from "../chat/agent.ts";
import { claimAndWrite, liveHead, notice, pageSince, requireChat, requireOwner } from "../chat/transcript.ts";
import type { AgentChatView } from "../chat/view.ts";
import { requireChatEndpoint } from "../config/services.ts";
import {
  AgentFullError,
  ChatStateError,
  ChatTakenError,
  InvalidInputError,
  NoOfferError,
  NotSupervisedError,
  UnknownChatError,
} from "../errors.ts";
import type { ChatDeps, ChatState } from "../storage.ts";
import { epochSeconds } from "../time.ts";
import { freeChanges } from "./free.ts";
import type { OfferView } from "./listeners.ts";
import { waitingEntry } from "./queue.ts";
import { letGo, offerView, type RoutingDeps, requeue } from "./router.ts";
import { settingsOf } from "./settings.ts";
import type { OfferEntry } from "./store.ts";

/**
 * What an agent does with chats (`/genesys/1/agent/{agentId}/...`): accept one offered to it (or, on
 * an endpoint that lets agents pick, take one from the queue), refuse one offered to it, list its
 * offers, and hand a chat it holds on to another endpoint or agent.
 */
export type OffersDeps = RoutingDeps & ChatDeps;

/** Accepts the chat offered to the agent; on a `pick` endpoint, takes it from the queue (exactly one of agents racing for it wins). */
export function accept(deps: OffersDeps, call: AgentCall): Promise<AgentChatView> {
  return onChat(async () => {
    const { agentId, chatId } = call;
    const since = call.position ?? 0;
    const chat = requireChat((await liveHead(deps, chatId)).chat);
    if (chat.agentId === agentId && chat.phase === "ACCEPTED") return view(await pageSince(deps, chatId, since));
    if (chat.offer?.agentId === agentId) return acceptOffer(deps, call, chat);
    if (chat.phase === "ENDED") throw new ChatStateError("This chat has ended");
    if (chat.phase === "ACCEPTED") throw new ChatTakenError();
    return take(deps, call, chat);
  });
}

async function acceptOffer(deps: OffersDeps, call: AgentCall, chat: ChatState): Promise<AgentChatView> {
  const { agentId, chatId } = call;
  const nickname = chat.offer?.nickname ?? agentId;
  const change = { phase: "ACCEPTED", agentId, agentNickname: nickname, offered: true } as const;
  const offer = chat.offer;
  // Once the chat is its own, the slot its offer took holds the chat, beside the notice.
  const holdChat = async (accepted: ChatState) => {
    const now = epochSeconds(deps.now());
    const held = { endpoint: accepted.endpoint, since: deps.now().toISOString(), expiresAt: accepted.expiresAt };
    const changed = await deps.agents.change(agentId, { kind: "accepted", chatId, chat: held }, now);
    await Promise.all([
      offer === undefined ? undefined : deps.routing.dropOffer(offerEntry(chat, offer.agentId, offer.expiresAt)),
      changed === undefined ? undefined : deps.routing.changeFree(freeChanges(changed.before, changed.after, now)),
    ]);
  };
  const joined = await claimAndWrite(
    deps,
    chatId,
    { kind: "change", from: ["WAITING"], change },
    () => withActor(notice("Notice.Joined", nickname, "AGENT"), call.actor),
    holdChat,
  );
  if (joined === undefined) {
    const now = requireChat((await liveHead(deps, chatId)).chat);
    if (now.phase === "ACCEPTED" && now.agentId === agentId) return view(await pageSince(deps, chatId, call.position ?? 0));
    if (now.phase === "ENDED") throw new ChatStateError("This chat has ended");
    throw new NoOfferError("This offer has expired: the chat goes to another agent");
  }
  return view(await pageSince(deps, chatId, call.position ?? 0));
}

/**
 * A `pick` endpoint's chat taken by hand: the agent's slot (beside the endpoint's settings, which
 * must let agents pick: the slot is given back if not), then the chat.
 */
async function take(deps: OffersDeps, call: AgentCall, chat: ChatState): Promise<AgentChatView> {
  const { agentId, chatId } = call;
  const now = epochSeconds(deps.now());
  const at = deps.now().toISOString();
  const [settings, taken] = await Promise.all([
    settingsOf(deps, chat.endpoint),
    deps.agents.change(agentId, { kind: "take", chatId, chat: { endpoint: chat.endpoint, since: at, expiresAt: chat.expiresAt } }, now),
  ]);
  if (settings.routing === "offer") {
    if (taken !== undefined) await deps.agents.change(agentId, { kind: "release", chatId, held: "chat", at: taken.after.idleSince }, now);
    throw new NoOfferError("This endpoint offers each chat to one agent at a time: accept a chat when it is offered to you");
  }
  if (taken === undefined) {
    const state = await deps.agents.getState(agentId);
    if (state === undefined || !state.ready || state.readyUntil <= now || !state.endpoints.includes(chat.endpoint)) {
      throw new ChatStateError("Go ready on the chat's endpoint before accepting its chats");
    }
    throw new AgentFullError(state.maxChats);
  }
  const change = { phase: "ACCEPTED", agentId, agentNickname: taken.after.nickname, offered: false } as const;
  const joined = await claimAndWrite(
    deps,
    chatId,
    { kind: "change", from: ["WAITING"], change },
    () => withActor(notice("Notice.Joined", taken.after.nickname, "AGENT"), call.actor),
    (accepted) =>
      Promise.all([deps.routing.changeFree(freeChanges(taken.before, taken.after, now)), deps.routing.dropWaiting(waitingEntry(accepted))]),
  );
  if (joined === undefined) {
    await letGo(deps, agentId, chatId, "chat", "ended");
    // Refused: say why, from what the chat is now (it may have ended since it was read).
    const current = requireChat((await liveHead(deps, chatId)).chat);
    if (current.phase === "ACCEPTED" && current.agentId === agentId) return view(await pageSince(deps, chatId, call.position ?? 0));
    // A queue entry left behind by a write that failed after the chat left the queue goes now.
    await deps.routing.dropWaiting(waitingEntry(current));
    throw current.phase === "ENDED" ? new ChatStateError("This chat has ended") : new ChatTakenError();
  }
  return view(await pageSince(deps, chatId, call.position ?? 0));
}

/** Refuses the chat offered to the agent: it goes to the next agent, and is not offered to this one again for a while. */
export function reject(deps: OffersDeps, call: AgentCall): Promise<void> {
  return onChat(async () => {
    const { agentId, chatId } = call;
    const now = epochSeconds(deps.now());
    const routed = await deps.sessions.route(chatId, { kind: "withdraw", agentId, refused: true, expired: false }, now);
    if ("refused" in routed) {
      const chat = routed.refused;
      if (chat === undefined || chat.expiresAt <= now) throw new UnknownChatError();
      if (chat.phase === "ACCEPTED" && chat.agentId === agentId) throw new NoOfferError("You accepted this chat: hand it on with transfer");
      throw new NoOfferError("This chat is not offered to you (any more)");
    }
    const released = await letGo(deps, agentId, chatId, "offer", "refused");
    const held = released?.before?.offers[chatId];
    await Promise.all([
      held === undefined ? undefined : deps.routing.dropOffer(offerEntry(routed.chat, agentId, held.expiresAt)),
      requeue(deps, routed.chat),
    ]);
  });
}

/** The chats offered to the agent now, oldest first. */
export async function offersOf(deps: OffersDeps, agentId: string): Promise<{ readonly offers: readonly OfferView[] }> {
  const now = epochSeconds(deps.now());
  const state = await deps.agents.getState(agentId);
  const held = Object.entries(state?.offers ?? {}).filter(([, offer]) => offer.expiresAt > now);
  const chats = held.length === 0 ? new Map<string, ChatState>() : await deps.sessions.chats(held.map(([chatId]) => chatId));
  const offers: OfferView[] = [];
  for (const [chatId, offer] of held) {
    const chat = chats.get(chatId);
    if (chat !== undefined && chat.offer?.agentId === agentId) offers.push(offerView(chat, offer, offer.offeredAt));
  }
  return { offers: offers.sort((a, b) => (a.offeredAt < b.offeredAt ? -1 : 1)) };
}

/** Where a transfer sends a chat: back into an endpoint's routing, or to a named agent. */
export type TransferTarget = { readonly endpoint: string } | { readonly agentId: string };

/**
 * Hands the chat the agent holds on. To an endpoint: back into its routing, ahead of the chats that
 * came after it first did (it keeps its place). To an agent: offered to that agent only, which must
 * be ready with a free slot now (else **409**, and the chat stays); refused or missed, or no longer
 * able to take it when the router gets to it, it goes to its endpoint's routing. The customer keeps
 * the session and the transcript, and reads a notice; the agent's slot frees at once. Either way it
 * is queued before the router is told, so that a lost task delays the chat and never strands it.
 */
export function transfer(deps: OffersDeps, call: AgentCall, to: TransferTarget): Promise<AgentChatView> {
  return onChat(async () => {
    const { agentId, chatId } = call;
    const targetId = "agentId" in to ? to.agentId : undefined;
    if (targetId === agentId) throw new InvalidInputError("agent must be another agent than the one holding the chat");
    const [head, target] = await Promise.all([liveHead(deps, chatId), targetId === undefined ? undefined : deps.agents.getState(targetId)]);
    const chat = requireChat(head.chat);
    // First, so that what lies outside a supervisor's endpoints answers the same whoever holds it.
    if (call.supervises !== undefined && !call.supervises.has(chat.endpoint)) throw new NotSupervisedError();
    if (chat.phase === "ENDED") throw new ChatStateError("This chat has ended");
    const nickname = requireOwner(chat, agentId);
    const endpoint = "endpoint" in to ? requireChatEndpoint(to.endpoint, "endpoint") : chat.endpoint;
    if (targetId !== undefined) {
      const now = epochSeconds(deps.now());
      if (target === undefined || !isPresent(target, now)) throw new NoOfferError(`${targetId} is not ready to take a chat`);
      if (freeSlots(target, now) === 0) throw new AgentFullError(target.maxChats);
    }
    const change = { phase: "WAITING", from: agentId, endpoint, ...(targetId === undefined ? {} : { target: targetId }) } as const;
    // Once handed on, the agent's slot frees and the chat is queued (in its place), beside the notice.
    const moved = await claimAndWrite(
      deps,
      chatId,
      { kind: "change", from: ["ACCEPTED"], change },
      () => withActor({ type: "Notice.Custom", nickname, text: "transferred the chat", party: "AGENT" }, call.actor),
      (waiting) => Promise.all([letGo(deps, agentId, chatId, "chat", "ended"), requeue(deps, waiting)]),
    );
    if (moved === undefined) throw await refusal(deps, chatId, agentId);
    return view(await pageSince(deps, chatId, call.position ?? moved.position - 1));
  });
}

/** Why a transfer's claim was refused, from what the chat is now. */
async function refusal(deps: OffersDeps, chatId: string, agentId: string): Promise<Error> {
  const now = requireChat((await liveHead(deps, chatId)).chat);
  if (now.phase === "ENDED") return new ChatStateError("This chat has ended");
  try {
    requireOwner(now, agentId);
  } catch (error) {
    return error as Error;
  }
  return new ChatStateError("This chat is not held by you any more");
}

function offerEntry(chat: ChatState, agentId: string, expiresAt: number): OfferEntry {
  return { endpoint: chat.endpoint, chatId: chat.chatId, agentId, expiresAt, chatExpiresAt: chat.expiresAt };
}
