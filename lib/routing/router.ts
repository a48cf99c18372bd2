import { type PresenceRouter, presenceView } from "../agents/presence.ts";
import { type AgentState, expiredChats, expiredOffers, freeSlots, isPresent } from "../agents/state.ts";
import type { AgentChanged, AgentStore } from "../agents/store.ts";
import type { ChatRouter, ChatState, SessionStore } from "../storage.ts";
import { epochSeconds, isoTime } from "../time.ts";
import { freeChanges, isStale } from "./free.ts";
import type { AgentListeners, OfferView, WithdrawnReason } from "./listeners.ts";
import { waitingEntry } from "./queue.ts";
import { settingsOf } from "./settings.ts";
import type { EndpointSettings, OfferEntry, RoutingStore } from "./store.ts";
import type { RoutingTask, RoutingWork } from "./work.ts";

/**
 * Routing: each waiting chat offered to one agent at a time, and each agent with a free slot offered
 * the oldest waiting chats it can take.
 *
 * The order. Of an endpoint's ready agents with a free slot, the one with the fewest chats, and of
 * those the one that has waited longest for work (since it went ready, or its last chat ended): the
 * one idle longest, where agents take one chat at a time, and the least loaded first where they take
 * several, so that a chat goes to an idle agent before a busy one.
 *
 * Work-conserving. A chat is queued (its endpoint's waiting entry) before any agent is looked for,
 * and an agent is published (its free entries) before any chat is looked for; both read strongly
 * consistent, so of a chat arriving and an agent freeing at once, at least one finds the other. No
 * chat waits while an agent of its endpoint has a free slot, but for the time a pass takes.
 *
 * Exactly once. An offer claims the agent's slot (a conditional write on its own record: ready,
 * present, `load < maxChats`), then the chat (a conditional write on its record: waiting, offered to
 * nobody, not refused by that agent lately); a chat refused gives the slot back. Two passes racing
 * never offer one chat twice nor fill an agent past `maxChats`, and an index entry that is behind
 * (read before a change) only costs a claim refused.
 *
 * Passes run in the router function (handlers/router.ts), fed by a queue (lib/routing/work.ts): no
 * customer or agent request waits for one, and each costs a bounded number of reads and writes,
 * however many agents and chats: a few entries of the endpoint's index, a claim or two.
 */
export interface RoutingDeps {
  readonly sessions: SessionStore;
  readonly agents: AgentStore;
  readonly routing: RoutingStore;
  readonly work: RoutingWork;
  readonly tell: AgentListeners;
  readonly now: () => Date;
}

/** Free agents read per pass on an endpoint: the first that can take the chat gets it. */
const CANDIDATES = 5;
/** Expired offers settled per endpoint and pass, beside their timers (a timer lost delays a chat, never strands it). */
const SWEEP = 3;
/** Waiting chats read per endpoint for an agent, beyond its free slots (some may be refused or taken meanwhile). */
const SPARE = 2;

/** Runs one task of the router function. */
export async function runTask(deps: RoutingDeps, task: RoutingTask): Promise<void> {
  switch (task.kind) {
    case "route":
      return routeChat(deps, task.chatId);
    case "free":
      return freeAgent(deps, task.agentId);
    case "expire":
      return expire(deps, task.offer);
    case "profile":
      return followProfile(deps, task.agentId);
  }
}

/** A ready agent follows its changed profile: its endpoints and maxChats, or not ready (reason `profile`) without one. */
async function followProfile(deps: RoutingDeps, agentId: string): Promise<void> {
  const now = epochSeconds(deps.now());
  const router = presenceRouter(deps);
  const changed = await deps.agents.presence(agentId, { kind: "restrict", at: deps.now().toISOString() }, now, router.index);
  if (changed === undefined) return;
  await Promise.all([router.changed(changed), deps.tell.presence(agentId, presenceView(agentId, changed.after, now))]);
}

/**
 * A chat that needs an agent: a transfer's named agent first (it alone, until it cannot take it);
 * then the first free agent of its endpoint that can take it; or it stays queued.
 */
async function routeChat(deps: RoutingDeps, chatId: string): Promise<void> {
  const now = epochSeconds(deps.now());
  let { chat } = await deps.sessions.head(chatId);
  // Gone, taken, offered already (its timer settles that).
  if (chat === undefined || chat.phase !== "WAITING" || chat.expiresAt <= now || chat.offer !== undefined) return;
  const settings = await settingsOf(deps, chat.endpoint);
  if (chat.target !== undefined) {
    const outcome = await offer(deps, { chatId, endpoint: chat.endpoint }, chat.target, settings, true);
    if (outcome !== "agent") return;
    // The named agent cannot take it (any more): its endpoint's routing does.
    const untargeted = await deps.sessions.route(chatId, { kind: "untarget", agentId: chat.target }, now);
    if (!("chat" in untargeted)) return;
    chat = untargeted.chat;
  }
  // Left to its agents to pick.
  if (settings.routing !== "offer") return;
  const [entries] = await Promise.all([deps.routing.free(chat.endpoint, CANDIDATES), sweep(deps, chat.endpoint)]);
  for (const entry of entries) {
    if (refusedLately(chat, entry.agentId, now, settings)) continue;
    const outcome = await offer(deps, { chatId, endpoint: chat.endpoint }, entry.agentId, settings, false);
    if (outcome !== "agent") return;
    // The agent could not take it: an entry behind its record goes.
    if (isStale(entry, await deps.agents.getState(entry.agentId), epochSeconds(deps.now())))
      await deps.routing.changeFree({ put: [], drop: [entry] });
  }
}

/** Whether the agent refused the chat within the endpoint's offer timeout: not offered it again meanwhile. */
function refusedLately(chat: ChatState, agentId: string, now: number, settings: EndpointSettings): boolean {
  const refused = chat.rejectedBy?.[agentId];
  return refused !== undefined && refused > now - settings.offerTimeout;
}

type Outcome = "placed" | "agent" | "chat";

/**
 * Offers the chat to the agent: the agent's slot first, then the chat; "agent" when the agent cannot
 * take it, "chat" when the chat is not to be offered to it (offered or taken meanwhile, ended, refused
 * by it lately, a transfer to another).
 */
async function offer(
  deps: RoutingDeps,
  target: { readonly chatId: string; readonly endpoint: string },
  agentId: string,
  settings: EndpointSettings,
  targeted: boolean,
): Promise<Outcome> {
  const now = epochSeconds(deps.now());
  const offeredAt = deps.now().toISOString();
  const expiresAt = now + settings.offerTimeout;
  const claimed = await deps.agents.change(
    agentId,
    { kind: "offer", chatId: target.chatId, offer: { endpoint: target.endpoint, offeredAt, expiresAt }, targeted },
    now,
  );
  if (claimed === undefined) return "agent";
  const routed = await deps.sessions.route(
    target.chatId,
    { kind: "offer", offer: { agentId, nickname: claimed.after.nickname, offeredAt, expiresAt }, cooloffSeconds: settings.offerTimeout },
    now,
  );
  if ("refused" in routed) {
    const released = await deps.agents.change(agentId, { kind: "release", chatId: target.chatId, held: "offer", at: offeredAt }, now);
    const found = routed.refused;
    // The slot was taken for a moment: a pass that found the agent full meanwhile left its chat
    // waiting. When another pass took this chat (a race), the agent is sent a pass of its own for
    // the oldest waiting chats; a chat refused for good (cooling off, another's transfer) sends none,
    // so no pass repeats itself on it.
    const raced = found !== undefined && (found.phase !== "WAITING" || found.offer !== undefined);
    const free = released !== undefined && freeSlots(released.after, now) > 0;
    await Promise.all([
      deps.routing.changeFree(freeChanges(claimed.before, released?.after ?? claimed.after, now)),
      raced && free ? deps.work.send({ kind: "free", agentId }) : undefined,
      // A queue entry that can never stand for a waiting chat again goes.
      found !== undefined && (found.phase === "ENDED" || found.expiresAt <= now)
        ? deps.routing.dropWaiting(waitingEntry(found))
        : undefined,
    ]);
    return "chat";
  }
  const { chat } = routed;
  const entry: OfferEntry = { endpoint: chat.endpoint, chatId: chat.chatId, agentId, expiresAt, chatExpiresAt: chat.expiresAt };
  await Promise.all([
    deps.routing.putOffer(entry),
    deps.routing.dropWaiting(waitingEntry(chat)),
    deps.routing.changeFree(freeChanges(claimed.before, claimed.after, now)),
    // Its timer: if this send fails, the offer is still settled by the next pass on its endpoint.
    deps.work.send({ kind: "expire", offer: entry }, settings.offerTimeout).catch(() => undefined),
    deps.tell.offered(agentId, offerView(chat, entry, offeredAt)),
  ]);
  return "placed";
}

export function offerView(chat: ChatState, entry: Pick<OfferEntry, "expiresAt">, offeredAt: string): OfferView {
  return {
    chatId: chat.chatId,
    endpoint: chat.endpoint,
    nickname: chat.customerNickname,
    customer: chat.customer,
    offeredAt,
    expiresAt: isoTime(entry.expiresAt),
  };
}

/** An agent that may take more work: offered the oldest chats waiting on its endpoints that it can take. */
async function freeAgent(deps: RoutingDeps, agentId: string): Promise<void> {
  const now = epochSeconds(deps.now());
  let state = await deps.agents.getState(agentId);
  if (state === undefined) return;
  state = await tidy(deps, state);
  let slots = freeSlots(state, now);
  if (slots === 0) return;
  const settings = new Map(
    await Promise.all(state.endpoints.map(async (endpoint) => [endpoint, await settingsOf(deps, endpoint)] as const)),
  );
  const offering = state.endpoints.filter((endpoint) => settings.get(endpoint)?.routing === "offer");
  const [heads] = await Promise.all([
    Promise.all(offering.map((endpoint) => deps.routing.waiting(endpoint, { limit: slots + SPARE }))),
    Promise.all(offering.map((endpoint) => sweep(deps, endpoint))),
  ]);
  const oldestFirst = heads
    .flatMap((page) => page.entries)
    .sort((a, b) => (a.queuedAt === b.queuedAt ? (a.chatId < b.chatId ? -1 : 1) : a.queuedAt < b.queuedAt ? -1 : 1));
  for (const entry of oldestFirst) {
    if (slots === 0) return;
    if (entry.expiresAt <= now) {
      await deps.routing.dropWaiting(entry);
      continue;
    }
    const outcome = await offer(deps, entry, agentId, settings.get(entry.endpoint) ?? (await settingsOf(deps, entry.endpoint)), false);
    if (outcome === "agent") return;
    if (outcome === "placed") slots -= 1;
  }
}

/**
 * What an agent holds past its time goes: chats whose sessions expired are let go, offers past due
 * settled; and an agent not ready (or whose presence lapsed) holds no offer: they go to others.
 */
async function tidy(deps: RoutingDeps, state: AgentState): Promise<AgentState> {
  const now = epochSeconds(deps.now());
  let current = state;
  if (!isPresent(current, now) && Object.keys(current.offers).length > 0) await withdrawAll(deps, current, "not_ready");
  for (const chatId of expiredChats(current, now)) {
    const released = await deps.agents.change(
      current.agentId,
      { kind: "release", chatId, held: "chat", at: deps.now().toISOString() },
      now,
    );
    if (released === undefined) continue;
    await deps.routing.changeFree(freeChanges(released.before, released.after, now));
    current = released.after;
  }
  await Promise.all(
    expiredOffers(current, now).map((chatId) => {
      const held = current.offers[chatId];
      return held === undefined
        ? undefined
        : expire(deps, {
            endpoint: held.endpoint,
            chatId,
            agentId: current.agentId,
            expiresAt: held.expiresAt,
            chatExpiresAt: held.expiresAt,
          });
    }),
  );
  return (await deps.agents.getState(current.agentId)) ?? current;
}

/** The endpoint's offers whose timers should have fired by now: settled here too. */
async function sweep(deps: RoutingDeps, endpoint: string): Promise<void> {
  const due = await deps.routing.expiredOffers(endpoint, epochSeconds(deps.now()), SWEEP);
  await Promise.all(due.map((entry) => expire(deps, entry)));
}

/**
 * An offer's timer: if the offer still stands unanswered past its expiry, it is withdrawn, its agent
 * made not ready (`missed`: a console left alone stops receiving chats) with its other offers given to
 * others, and the chat offered to the next agent. A timer that fires early is sent again for the rest.
 */
async function expire(deps: RoutingDeps, entry: OfferEntry): Promise<void> {
  const now = epochSeconds(deps.now());
  if (entry.expiresAt > now) return deps.work.send({ kind: "expire", offer: entry }, entry.expiresAt - now);
  const withdrawn = await deps.sessions.route(
    entry.chatId,
    { kind: "withdraw", agentId: entry.agentId, refused: false, expired: true },
    now,
  );
  if ("chat" in withdrawn) {
    await missed(deps, entry, withdrawn.chat);
  } else {
    // Answered in time, or its chat gone: an offer the agent still holds of a chat gone goes too.
    const found = withdrawn.refused;
    const gone = found === undefined || found.expiresAt <= now || found.phase === "ENDED";
    if (gone) await letGo(deps, entry.agentId, entry.chatId, "offer", "ended");
  }
  await deps.routing.dropOffer(entry);
}

async function missed(deps: RoutingDeps, entry: OfferEntry, chat: ChatState): Promise<void> {
  const now = epochSeconds(deps.now());
  const at = deps.now().toISOString();
  const released = await deps.agents.change(entry.agentId, { kind: "release", chatId: entry.chatId, held: "offer", at }, now);
  const unready = await deps.agents.presence(entry.agentId, { kind: "notReady", reason: "missed", at }, now);
  const before = released?.before ?? unready?.before;
  const after = unready?.after ?? released?.after;
  await Promise.all([
    deps.routing.changeFree(freeChanges(before, after, now)),
    deps.tell.withdrawn(entry.agentId, entry.chatId, "timeout"),
    unready === undefined ? undefined : deps.tell.presence(entry.agentId, presenceView(entry.agentId, unready.after, now)),
    requeue(deps, chat),
  ]);
  // A console left alone would miss the others too: they go to other agents now.
  if (after !== undefined) await withdrawAll(deps, after, "not_ready");
}

/** Withdraws every offer the agent holds (it went not ready): each chat to the next agent. */
async function withdrawAll(deps: RoutingDeps, state: AgentState, reason: WithdrawnReason): Promise<void> {
  const now = epochSeconds(deps.now());
  await Promise.all(
    Object.entries(state.offers).map(async ([chatId, held]) => {
      const withdrawn = await deps.sessions.route(
        chatId,
        { kind: "withdraw", agentId: state.agentId, refused: false, expired: false },
        now,
      );
      await letGo(deps, state.agentId, chatId, "offer", reason);
      await deps.routing.dropOffer({
        endpoint: held.endpoint,
        chatId,
        agentId: state.agentId,
        expiresAt: held.expiresAt,
        chatExpiresAt: 0,
      });
      if ("chat" in withdrawn) await requeue(deps, withdrawn.chat);
    }),
  );
}

/**
 * The agent lets go of an offer or a chat it holds: its slot frees, its index entries follow, and
 * (an offer) its consoles are told; then it may take more work. Nothing when it held none.
 */
async function letGo(
  deps: RoutingDeps,
  agentId: string,
  chatId: string,
  held: "offer" | "chat",
  reason: WithdrawnReason,
): Promise<AgentChanged | undefined> {
  const now = epochSeconds(deps.now());
  const released = await deps.agents.change(agentId, { kind: "release", chatId, held, at: deps.now().toISOString() }, now);
  if (released === undefined) return undefined;
  await Promise.all([
    deps.routing.changeFree(freeChanges(released.before, released.after, now)),
    held === "offer" ? deps.tell.withdrawn(agentId, chatId, reason) : undefined,
    freeSlots(released.after, now) > 0 ? deps.work.send({ kind: "free", agentId }) : undefined,
  ]);
  return released;
}

/**
 * A chat that needs an agent (new, refused, missed, withdrawn, transferred): back in its endpoint's
 * queue, in its place, before a pass is sent for it, so that a pass lost delays it and never strands
 * it (the next agent to free takes the oldest waiting chat).
 */
async function requeue(deps: RoutingDeps, chat: ChatState): Promise<void> {
  await deps.routing.putWaiting(waitingEntry(chat));
  await deps.work.send({ kind: "route", chatId: chat.chatId });
}

/**
 * What the chat's operations tell routing (ChatRouter): a new chat is queued and a pass sent for it;
 * a chat that ended lets go of its queue entry, of its offer and of its agent's slot.
 */
export function chatRouter(deps: RoutingDeps): ChatRouter {
  return {
    waiting: (chat) => requeue(deps, chat),
    async ended(chat) {
      await Promise.all([
        deps.routing.dropWaiting(waitingEntry(chat)),
        chat.offer === undefined
          ? undefined
          : letGo(deps, chat.offer.agentId, chat.chatId, "offer", "ended").then(() =>
              deps.routing.dropOffer({
                endpoint: chat.endpoint,
                chatId: chat.chatId,
                agentId: chat.offer?.agentId ?? "",
                expiresAt: chat.offer?.expiresAt ?? 0,
                chatExpiresAt: chat.expiresAt,
              }),
            ),
        chat.agentId === undefined ? undefined : letGo(deps, chat.agentId, chat.chatId, "chat", "ended"),
      ]);
    },
  };
}

/**
 * What a change of an agent's presence sets in motion (lib/agents/presence.ts): its index entries
 * follow its state, beside its endpoints' availability; newly ready with a free slot, it is sent a
 * pass that offers it the oldest waiting chats; not ready, a pass that gives its pending offers to
 * others. The console that made the change has its answer; what the service changes itself (a miss,
 * a profile) its consoles are told of where it is changed.
 */
export function presenceRouter(deps: RoutingDeps): PresenceRouter {
  return {
    index: async ({ before, after }) => deps.routing.changeFree(freeChanges(before, after, epochSeconds(deps.now()))),
    async changed({ before, after }) {
      const now = epochSeconds(deps.now());
      const wasPresent = before !== undefined && isPresent(before, now);
      const present = isPresent(after, now);
      const renewal =
        wasPresent &&
        present &&
        before.endpoints.join() === after.endpoints.join() &&
        before.nickname === after.nickname &&
        before.maxChats === after.maxChats;
      // A renewal settles what the agent holds past its time (a lost timer, a chat whose session expired).
      const pass = !present
        ? Object.keys(after.offers).length > 0
        : renewal
          ? expiredOffers(after, now).length + expiredChats(after, now).length > 0
          : freeSlots(after, now) > 0;
      if (pass) await deps.work.send({ kind: "free", agentId: after.agentId });
    },
  };
}

export { letGo, requeue };
