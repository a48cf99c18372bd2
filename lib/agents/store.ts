import type { AgentState, PresenceChange, SlotChange } from "./state.ts";

/** Who an agent is to routing: the endpoints it serves and how many chats it takes at once. */
export interface AgentProfile {
  readonly agentId: string;
  readonly endpoints: readonly string[];
  readonly maxChats: number;
  readonly updatedAt: string;
}

/** A page of profiles, by agent id, and where the next page starts. */
export interface ProfilePage {
  readonly profiles: readonly AgentProfile[];
  /** Opaque: hand it back to read the next page; absent on the last page. */
  readonly next?: string;
}

/** A change applied: the agent's state before (absent when it had none) and after. */
export interface AgentChanged {
  readonly before: AgentState | undefined;
  readonly after: AgentState;
}

/**
 * Agents' profiles and states (lib/agents/). Reads are strongly consistent unless said. Each agent's state is
 * one record, changed atomically by the rules of lib/agents/state.ts.
 */
export interface AgentStore {
  /**
   * Remembers that one sign-in (a token family, lib/agents/sign-out.ts) ended: its tokens are
   * refused until `until` (epoch seconds), after which none of them can be alive.
   */
  signOut(family: string, until: number): Promise<void>;
  /** Until when the sign-in `family` is remembered as ended (epoch seconds); undefined if it is not. */
  signedOutUntil(family: string): Promise<number | undefined>;
  /** `recent`: may miss a change of the last second, for half the cost (a check on a page read often). */
  getProfile(agentId: string, recent?: boolean): Promise<AgentProfile | undefined>;
  /** Replaces the profile; resolves true when the agent had none. */
  putProfile(profile: AgentProfile): Promise<boolean>;
  /** Resolves true when a profile was deleted. */
  deleteProfile(agentId: string): Promise<boolean>;
  /** A page of profiles, by agent id, from where `after` (a page's `next`) left off. */
  profiles(page: { readonly limit: number; readonly after?: string }): Promise<ProfilePage>;
  getState(agentId: string): Promise<AgentState | undefined>;
  /**
   * Applies a change of presence if the agent's state allows it at `now` (epoch seconds), then keeps
   * the availability of the endpoints the agent joins, stays on or leaves (lib/config/availability.ts),
   * with `alongside` (what the caller keeps of the change elsewhere) run side by side with that.
   * Resolves the states before and after, or undefined when refused (a renewal of an agent that is
   * not ready, a restriction that changes nothing).
   */
  presence(
    agentId: string,
    change: PresenceChange,
    now: number,
    alongside?: (changed: AgentChanged) => Promise<void>,
  ): Promise<AgentChanged | undefined>;
  /**
   * Applies a change of what the agent holds if its state allows it at `now`: atomically, so that
   * racing changes never fill an agent past its `maxChats`. Resolves the states before and after, or
   * undefined when refused.
   */
  change(agentId: string, change: SlotChange, now: number): Promise<AgentChanged | undefined>;
  /** How many agents are ready on the endpoint at `now` (bounded: the adapter says how). */
  readyAgents(endpoint: string, now: number): Promise<number>;
}
