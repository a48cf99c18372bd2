import { isChatEndpoint, requireChatEndpoint } from "../config/services.ts";
import { cursorOf, positionOfCursor } from "../cursor.ts";
import { InvalidInputError, UnknownAgentError } from "../errors.ts";
import { epochSeconds } from "../time.ts";
import { AGENT_ID } from "./presence.ts";
import { type AgentState, isPresent } from "./state.ts";
import type { AgentProfile, AgentStore } from "./store.ts";

/**
 * Agents' profiles (the admin API's `/genesys/1/admin/agents/{agentId}`): the chat endpoints an agent
 * serves, the only ones it may go ready on, and how many chats it takes at once. An agent without
 * one cannot go ready.
 */

export const PROFILE_LIMITS = { endpoints: 20, maxChats: 10 } as const;
/** An agent takes one chat at a time unless its profile says more. */
export const DEFAULT_MAX_CHATS = 1;

/** What a profile is given: its endpoints (1-20, distinct) and `maxChats` (1-10). */
export interface ProfileOptions {
  readonly endpoints: readonly string[];
  readonly maxChats: number;
}

/** `endpoints` as a list, or one string of names separated by commas. */
export function requireEndpoints(raw: readonly string[] | string, what = "endpoints"): string[] {
  const names = (typeof raw === "string" ? raw.split(",") : raw).map((name) => name.trim()).filter((name) => name !== "");
  const distinct = [...new Set(names)];
  if (distinct.length === 0 || distinct.length > PROFILE_LIMITS.endpoints) {
    throw new InvalidInputError(`${what} must name 1-${PROFILE_LIMITS.endpoints} chat endpoints, separated by commas`);
  }
  return distinct.map((name) => requireChatEndpoint(name, what));
}

export function requireMaxChats(raw: string): number {
  const value = /^\d{1,2}$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isInteger(value) || value < 1 || value > PROFILE_LIMITS.maxChats) {
    throw new InvalidInputError(`maxChats must be a whole number from 1 to ${PROFILE_LIMITS.maxChats}`);
  }
  return value;
}

/** Whether every name is a chat endpoint's (a profile read back from storage is trusted only as far as this). */
export function isProfile(profile: Pick<AgentProfile, "endpoints" | "maxChats">): boolean {
  return (
    profile.endpoints.length > 0 &&
    profile.endpoints.length <= PROFILE_LIMITS.endpoints &&
    profile.endpoints.every(isChatEndpoint) &&
    Number.isInteger(profile.maxChats) &&
    profile.maxChats >= 1 &&
    profile.maxChats <= PROFILE_LIMITS.maxChats
  );
}

/** What the admin API shows of an agent: its profile, and what it is doing now. */
export interface ProfileView {
  readonly agentId: string;
  readonly endpoints: readonly string[];
  readonly maxChats: number;
  readonly updatedAt: string;
}

export function profileView(profile: AgentProfile): ProfileView {
  return { agentId: profile.agentId, endpoints: [...profile.endpoints], maxChats: profile.maxChats, updatedAt: profile.updatedAt };
}

export interface AgentDetailView extends ProfileView {
  /** Ready (and present), or not; with how many chats and offers it holds. */
  readonly state: "ready" | "not_ready";
  readonly load: number;
}

export function agentDetail(profile: AgentProfile, state: AgentState | undefined, now: number): AgentDetailView {
  return { ...profileView(profile), state: state !== undefined && isPresent(state, now) ? "ready" : "not_ready", load: state?.load ?? 0 };
}

export async function requireProfile(agents: Pick<AgentStore, "getProfile">, agentId: string): Promise<AgentProfile> {
  const profile = await agents.getProfile(agentId);
  if (profile === undefined) throw new UnknownAgentError();
  return profile;
}

/** A page of profiles' `next`: opaque to clients, the last agent id of the page. */
export function profileCursor(agentId: string): string {
  return cursorOf(agentId);
}

/** The agent id a cursor this service handed out names; anything else is the client's mistake. */
export function profileOfCursor(cursor: string): string {
  return positionOfCursor(cursor, AGENT_ID, "after must be the next value of a page of agents");
}

/** What the admin API's agent operations run on. */
export interface ProfileDeps {
  readonly agents: AgentStore;
  readonly now: () => Date;
  /** Where the change of a ready agent's presence is sent: routing's queue (lib/routing/work.ts), whose router applies it. */
  readonly work: { send(task: { readonly kind: "profile"; readonly agentId: string }): Promise<void> };
}

/** Profiles a page at a time: 50 unless asked otherwise, at most 100. */
export const PROFILE_PAGE = { default: 50, max: 100 } as const;

export async function listAgents(
  deps: Pick<ProfileDeps, "agents">,
  page: { readonly limit: number; readonly after?: string | undefined },
): Promise<{ readonly agents: readonly ProfileView[]; readonly next?: string }> {
  const found = await deps.agents.profiles({ limit: page.limit, ...(page.after === undefined ? {} : { after: page.after }) });
  return { agents: found.profiles.map(profileView), ...(found.next === undefined ? {} : { next: found.next }) };
}

export async function getAgent(deps: Pick<ProfileDeps, "agents" | "now">, agentId: string): Promise<AgentDetailView> {
  const [profile, state] = await Promise.all([requireProfile(deps.agents, agentId), deps.agents.getState(agentId)]);
  return agentDetail(profile, state, epochSeconds(deps.now()));
}

/**
 * Replaces the agent's profile; `created` when it had none. Its next `ready` follows it, and a ready
 * agent follows it within moments (the router function's task): it stays ready only on the endpoints
 * the profile still names (not ready, reason `profile`, when none), and takes its new `maxChats`;
 * what it holds stays its own to finish.
 */
export async function putProfile(
  deps: ProfileDeps,
  agentId: string,
  options: ProfileOptions,
): Promise<{ readonly created: boolean; readonly agent: ProfileView }> {
  const profile = { agentId, endpoints: [...options.endpoints], maxChats: options.maxChats, updatedAt: deps.now().toISOString() };
  const created = await deps.agents.putProfile(profile);
  await restrict(deps, agentId);
  return { created, agent: profileView(profile) };
}

/** Deletes the agent's profile: a ready agent goes not ready (reason `profile`), and cannot go ready again. */
export async function deleteProfile(deps: ProfileDeps, agentId: string): Promise<void> {
  if (!(await deps.agents.deleteProfile(agentId))) throw new UnknownAgentError();
  await restrict(deps, agentId);
}

/** A ready agent follows its profile: the router function applies it (lib/routing/router.ts), within moments. */
async function restrict(deps: ProfileDeps, agentId: string): Promise<void> {
  await deps.work.send({ kind: "profile", agentId });
}
