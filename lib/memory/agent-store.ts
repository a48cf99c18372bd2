import { profileCursor, profileOfCursor } from "../agents/profile.ts";
import { type AgentChange, type AgentState, allows, apply, isReadyOn, type PresenceChange, type SlotChange } from "../agents/state.ts";
import type { AgentChanged, AgentProfile, AgentStore, ProfilePage } from "../agents/store.ts";

/**
 * Agents' profiles and states in memory, with the DynamoDB adapter's semantics (tests/contract/):
 * each change decided by the rules of lib/agents/state.ts, atomically. The memory config store reads
 * the states for the endpoints' availability.
 */
export class MemoryAgentStore implements AgentStore {
  private readonly profilesById = new Map<string, AgentProfile>();
  private readonly states = new Map<string, AgentState>();
  private readonly signOuts = new Map<string, number>();

  async signOut(family: string, until: number): Promise<void> {
    this.signOuts.set(family, Math.max(until, this.signOuts.get(family) ?? 0));
  }

  async signedOutUntil(family: string): Promise<number | undefined> {
    return this.signOuts.get(family);
  }

  async getProfile(agentId: string): Promise<AgentProfile | undefined> {
    const profile = this.profilesById.get(agentId);
    return profile && structuredClone(profile);
  }

  async putProfile(profile: AgentProfile): Promise<boolean> {
    const created = !this.profilesById.has(profile.agentId);
    this.profilesById.set(profile.agentId, structuredClone(profile));
    return created;
  }

  async deleteProfile(agentId: string): Promise<boolean> {
    return this.profilesById.delete(agentId);
  }

  async profiles(page: { readonly limit: number; readonly after?: string }): Promise<ProfilePage> {
    const after = page.after === undefined ? undefined : profileOfCursor(page.after);
    const sorted = [...this.profilesById.values()].sort((a, b) => (a.agentId < b.agentId ? -1 : 1));
    const rest = after === undefined ? sorted : sorted.filter((profile) => profile.agentId > after);
    const profiles = rest.slice(0, page.limit).map((profile) => structuredClone(profile));
    const last = profiles.at(-1);
    return rest.length > page.limit && last !== undefined ? { profiles, next: profileCursor(last.agentId) } : { profiles };
  }

  async getState(agentId: string): Promise<AgentState | undefined> {
    const state = this.states.get(agentId);
    return state && structuredClone(state);
  }

  async presence(
    agentId: string,
    change: PresenceChange,
    now: number,
    alongside?: (changed: AgentChanged) => Promise<void>,
  ): Promise<AgentChanged | undefined> {
    const changed = await this.apply(agentId, change, now);
    if (changed !== undefined && alongside !== undefined) await alongside(changed);
    return changed;
  }

  change(agentId: string, change: SlotChange, now: number): Promise<AgentChanged | undefined> {
    return this.apply(agentId, change, now);
  }

  private async apply(agentId: string, change: AgentChange, now: number): Promise<AgentChanged | undefined> {
    const before = this.states.get(agentId);
    const serves = this.profilesById.get(agentId);
    if (!allows(before, change, now, serves)) return undefined;
    const after = apply(before, agentId, change, now, serves);
    this.states.set(agentId, after);
    return { before: before && structuredClone(before), after: structuredClone(after) };
  }

  async readyAgents(endpoint: string, now: number): Promise<number> {
    return [...this.states.values()].filter((state) => isReadyOn(state, endpoint, now)).length;
  }

  /** Until when an agent is ready on the endpoint: the latest presence of those ready on it (lapsed or not). */
  readyUntil(endpoint: string): number {
    const ready = [...this.states.values()].filter((state) => state.ready && state.endpoints.includes(endpoint));
    return Math.max(0, ...ready.map((state) => state.readyUntil));
  }
}
