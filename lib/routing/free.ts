import { type AgentState, isPresent } from "../agents/state.ts";
import type { FreeEntry } from "./store.ts";

/**
 * Routing's index of the agents that can take work: an entry per endpoint an agent is ready on,
 * while it has a free slot. Derived from the agent's state, after each change of it: the state is
 * the truth, and an entry behind it (a race between two changes, a failed write, an agent whose
 * console vanished) costs a claim refused and is dropped by whoever meets it (`isStale`).
 */
export function freeEntries(state: AgentState | undefined, now: number): FreeEntry[] {
  if (state === undefined || !isPresent(state, now) || state.load >= state.maxChats) return [];
  return state.endpoints.map((endpoint) => ({ endpoint, agentId: state.agentId, load: state.load, idleSince: state.idleSince }));
}

const keyOf = (entry: FreeEntry) => `${entry.endpoint}\u0000${entry.load}\u0000${entry.idleSince}`;

/** What a change of an agent's state writes to the index: the entries it gained, and those it lost. */
export function freeChanges(
  before: AgentState | undefined,
  after: AgentState | undefined,
  now: number,
): { readonly put: FreeEntry[]; readonly drop: FreeEntry[] } {
  const old = freeEntries(before, now);
  const current = freeEntries(after, now);
  const oldKeys = new Set(old.map(keyOf));
  const currentKeys = new Set(current.map(keyOf));
  return { put: current.filter((entry) => !oldKeys.has(keyOf(entry))), drop: old.filter((entry) => !currentKeys.has(keyOf(entry))) };
}

/** Whether `entry` no longer stands for the agent as it is (`state`, absent when it has none). */
export function isStale(entry: FreeEntry, state: AgentState | undefined, now: number): boolean {
  return !freeEntries(state, now).some((current) => keyOf(current) === keyOf(entry));
}
