import { NotAssignedError } from "../errors.ts";

/**
 * An agent's state as routing sees it, and every change of it, as pure functions: whether a change is
 * allowed (`allows`) and what it leaves (`apply`). The agent store only translates them (DynamoDB as
 * one conditional update of the agent's own record, lib/dynamo/agent-store.ts; the memory store by
 * calling them), and the store contract suite (tests/contract/) holds both to them.
 *
 * An agent is ready or not. Ready, it is offered chats on the endpoints it is ready on, up to
 * `maxChats` at once, and counts for those endpoints' availability until its presence lapses
 * (`readyUntil`, renewed by its console). Not ready, it keeps the chats it holds (and finishes them)
 * but is offered none. `load` is what it holds: its chats and its pending offers.
 */

/** Why the service made an agent not ready (absent when the agent chose it). */
export type NotReadyReason = "missed" | "profile";

/** A chat an agent holds, by chat id: on which endpoint, since when, and until when its session lives. */
export interface HeldChat {
  readonly endpoint: string;
  /** ISO time. */
  readonly since: string;
  /** The chat's (its session's) expiry, epoch seconds: a chat held past it is let go. */
  readonly expiresAt: number;
}

/** A chat offered to an agent, by chat id, not yet answered. */
export interface HeldOffer {
  readonly endpoint: string;
  /** ISO time. */
  readonly offeredAt: string;
  /** When the offer is withdrawn if not answered, epoch seconds. */
  readonly expiresAt: number;
}

export interface AgentState {
  readonly agentId: string;
  readonly ready: boolean;
  readonly reason?: NotReadyReason;
  /** The endpoints it is (or was last) ready on. */
  readonly endpoints: readonly string[];
  /** The name customers see. */
  readonly nickname: string;
  readonly maxChats: number;
  /** Its presence lapses then (epoch seconds): a console that stops renewing stops counting. */
  readonly readyUntil: number;
  readonly chats: Readonly<Record<string, HeldChat>>;
  readonly offers: Readonly<Record<string, HeldOffer>>;
  /** How many chats and offers it holds. */
  readonly load: number;
  /** Since when it has been waiting for work: it went ready, or its last chat ended (ISO time). */
  readonly idleSince: string;
  /** Since when it has been ready, or not (ISO time). */
  readonly since: string;
  /** Who last set it (an opaque id of the person). */
  readonly actor?: string;
}

/** What of an agent's profile its presence follows: the endpoints it may go ready on, and how many chats it takes at once. */
export interface Serves {
  readonly endpoints: readonly string[];
  readonly maxChats: number;
}

/** A change of an agent's presence: going ready, renewing, going not ready. `at` is the moment, as an ISO time. */
export type PresenceChange =
  /**
   * Ready on `endpoints` (absent: every endpoint of its profile; only its profile's), as `nickname`,
   * until `readyUntil`, taking its profile's `maxChats`. Refused without a profile.
   */
  | {
      readonly kind: "ready";
      readonly endpoints: readonly string[] | undefined;
      readonly nickname: string;
      readonly readyUntil: number;
      readonly at: string;
      readonly actor?: string;
    }
  /** A console's renewal: a ready agent stays ready until `readyUntil`; it never makes one ready. */
  | { readonly kind: "renew"; readonly readyUntil: number; readonly at: string }
  | { readonly kind: "notReady"; readonly reason?: NotReadyReason; readonly at: string; readonly actor?: string }
  /**
   * Its profile changed (or went): a ready agent keeps only the endpoints the profile still names,
   * and takes its `maxChats`; with none left (no profile) it goes not ready (reason `profile`).
   * Nothing for an agent that is not ready or already fits.
   */
  | { readonly kind: "restrict"; readonly at: string };

/** A change of what an agent holds: an offer, a chat taken, accepted or let go. */
export type SlotChange =
  /** A chat offered: it takes a slot until it is answered or withdrawn. `targeted`: a transfer to this agent, whatever its endpoints. */
  | { readonly kind: "offer"; readonly chatId: string; readonly offer: HeldOffer; readonly targeted: boolean }
  /** A chat taken from the queue by hand (an endpoint that lets agents pick). */
  | { readonly kind: "take"; readonly chatId: string; readonly chat: HeldChat }
  /** An offer accepted: the slot it took holds the chat now. */
  | { readonly kind: "accepted"; readonly chatId: string; readonly chat: HeldChat }
  /** An offer withdrawn (refused, missed, the chat gone) or a chat let go (ended, transferred): its slot frees. */
  | { readonly kind: "release"; readonly chatId: string; readonly held: "offer" | "chat"; readonly at: string };

/** Any change of an agent's state. */
export type AgentChange = PresenceChange | SlotChange;

/**
 * Whether `state` (absent: the agent has none yet) allows `change` at `now` (epoch seconds), the
 * agent's profile being `serves` (absent: it has none). A store reads the profile with the state.
 */
export function allows(state: AgentState | undefined, change: AgentChange, now: number, serves?: Serves): boolean {
  switch (change.kind) {
    case "ready":
      return serves !== undefined && readyOn(change, serves).every((endpoint) => serves.endpoints.includes(endpoint));
    case "notReady":
      return true;
    case "renew":
      return state?.ready === true;
    case "restrict":
      return (
        state !== undefined &&
        isPresent(state, now) &&
        (serves === undefined ||
          state.endpoints.some((endpoint) => !serves.endpoints.includes(endpoint)) ||
          state.maxChats !== serves.maxChats)
      );
    case "offer":
      return (
        hasRoom(state, change.chatId, now) &&
        (change.targeted || state.endpoints.includes(change.offer.endpoint)) &&
        change.offer.expiresAt > now
      );
    case "take":
      return hasRoom(state, change.chatId, now) && state.endpoints.includes(change.chat.endpoint);
    case "accepted":
      return state?.offers[change.chatId] !== undefined;
    case "release":
      return (change.held === "offer" ? state?.offers : state?.chats)?.[change.chatId] !== undefined;
  }
}

/** Ready, present, with a free slot, and not holding the chat already. */
function hasRoom(state: AgentState | undefined, chatId: string, now: number): state is AgentState {
  return (
    state !== undefined &&
    isPresent(state, now) &&
    state.load < state.maxChats &&
    state.chats[chatId] === undefined &&
    state.offers[chatId] === undefined
  );
}

/** The endpoints a `ready` names: those it lists, or every one its agent serves. */
function readyOn(change: Extract<PresenceChange, { kind: "ready" }>, serves: Serves): readonly string[] {
  return change.endpoints ?? serves.endpoints;
}

/** What an allowed change leaves of `state` (absent: a new agent) at `now` (epoch seconds), its profile being `serves`. */
export function apply(state: AgentState | undefined, agentId: string, change: AgentChange, now: number, serves?: Serves): AgentState {
  const current = state ?? blank(agentId);
  switch (change.kind) {
    case "ready": {
      if (serves === undefined) return current;
      const { reason: _cleared, ...rest } = current;
      // Ready (and present) already: a change of endpoints or name, not a new start.
      const still = isPresent(current, now);
      return {
        ...rest,
        ready: true,
        endpoints: [...readyOn(change, serves)],
        nickname: change.nickname,
        maxChats: serves.maxChats,
        readyUntil: change.readyUntil,
        since: still ? current.since : change.at,
        // Waiting for work since it went ready, unless it was ready already.
        idleSince: still ? current.idleSince : change.at,
        ...(change.actor === undefined ? {} : { actor: change.actor }),
      };
    }
    case "renew":
      return { ...current, readyUntil: change.readyUntil };
    case "restrict": {
      const endpoints = current.endpoints.filter((endpoint) => serves?.endpoints.includes(endpoint));
      if (serves === undefined || endpoints.length === 0)
        return apply(current, agentId, { kind: "notReady", reason: "profile", at: change.at }, now);
      return { ...current, endpoints, maxChats: serves.maxChats };
    }
    case "notReady": {
      const { reason: _old, ...rest } = current;
      return {
        ...rest,
        ready: false,
        since: current.ready ? change.at : current.since,
        ...(change.reason === undefined ? {} : { reason: change.reason }),
        ...(change.actor === undefined ? {} : { actor: change.actor }),
      };
    }
    case "offer":
      return { ...current, offers: { ...current.offers, [change.chatId]: change.offer }, load: current.load + 1 };
    case "take":
      return { ...current, chats: { ...current.chats, [change.chatId]: change.chat }, load: current.load + 1 };
    case "accepted": {
      const { [change.chatId]: _accepted, ...offers } = current.offers;
      return { ...current, offers, chats: { ...current.chats, [change.chatId]: change.chat } };
    }
    case "release": {
      if (change.held === "offer") {
        const { [change.chatId]: _withdrawn, ...offers } = current.offers;
        return { ...current, offers, load: current.load - 1 };
      }
      // A chat that ended leaves its agent waiting for work from then; a withdrawn offer changes nothing of that.
      const { [change.chatId]: _ended, ...chats } = current.chats;
      return { ...current, chats, load: current.load - 1, idleSince: change.at };
    }
  }
}

function blank(agentId: string): AgentState {
  return {
    agentId,
    ready: false,
    endpoints: [],
    nickname: agentId,
    maxChats: 1,
    readyUntil: 0,
    chats: {},
    offers: {},
    load: 0,
    idleSince: "",
    since: "",
  };
}

/** Ready and its presence not lapsed at `now` (epoch seconds). */
export function isPresent(state: Pick<AgentState, "ready" | "readyUntil">, now: number): boolean {
  return state.ready && state.readyUntil > now;
}

/** Counts for the endpoint's availability at `now`: ready on it, and present. */
export function isReadyOn(state: AgentState | undefined, endpoint: string, now: number): boolean {
  return state !== undefined && isPresent(state, now) && state.endpoints.includes(endpoint);
}

/** Free slots at `now`: none unless ready and present. */
export function freeSlots(state: AgentState | undefined, now: number): number {
  return state !== undefined && isPresent(state, now) ? Math.max(0, state.maxChats - state.load) : 0;
}

/** The chats whose sessions have expired: held no longer, whatever their agent was told. */
export function expiredChats(state: AgentState, now: number): string[] {
  return Object.entries(state.chats)
    .filter(([, chat]) => chat.expiresAt <= now)
    .map(([chatId]) => chatId);
}

/** The offers not answered in time: to be withdrawn (lib/routing/). */
export function expiredOffers(state: AgentState, now: number): string[] {
  return Object.entries(state.offers)
    .filter(([, offer]) => offer.expiresAt <= now)
    .map(([chatId]) => chatId);
}

/**
 * The rule of whose work an agent sees: only its profile's endpoints (their queues, read or
 * pushed). Those who oversee an endpoint (its supervisors, admins) are not asked for a profile:
 * the edge decides that from their groups. Refused with what fixes it.
 */
export function requireServes(
  profile: { readonly endpoints: readonly string[] } | undefined,
  agentId: string,
  endpoints: readonly string[],
): void {
  if (profile === undefined) {
    throw new NotAssignedError(
      `You have no agent profile yet: an admin gives you one (your endpoints and how many chats you take at once) with PUT /genesys/1/admin/agents/${agentId}`,
    );
  }
  const foreign = endpoints.filter((endpoint) => !profile.endpoints.includes(endpoint));
  if (foreign.length > 0) {
    throw new NotAssignedError(`You do not serve ${foreign.join(", ")}: your profile's endpoints are ${profile.endpoints.join(", ")}`);
  }
}
