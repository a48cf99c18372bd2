import { InvalidInputError, NotAssignedError } from "../errors.ts";
import { isDisplayName } from "../text.ts";
import { epochSeconds, isoTime } from "../time.ts";
import { type AgentState, isPresent, type NotReadyReason, type PresenceChange, requireServes } from "./state.ts";
import type { AgentChanged, AgentStore } from "./store.ts";

/**
 * An agent's presence: ready on its endpoints (those of its profile, or some of them), or not.
 * Ready, it lapses PRESENCE_SECONDS after the console's last renewal, so an agent who closes its
 * console or loses its network stops counting, and stops being offered chats.
 */
export const PRESENCE_SECONDS = 60;

export const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

/** Whether `raw` is an agent id: 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit. */
export function isAgentId(raw: string): boolean {
  return AGENT_ID.test(raw);
}
const MAX_NICKNAME_LENGTH = 64;

export function requireAgentId(raw: string): string {
  if (!isAgentId(raw))
    throw new InvalidInputError("Agent ids are 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit");
  return raw;
}

export function requireNickname(raw: string): string {
  const nickname = raw.trim();
  // Counted in code points, as a person counts characters.
  const length = [...nickname].length;
  if (length === 0 || length > MAX_NICKNAME_LENGTH || !isDisplayName(nickname)) {
    throw new InvalidInputError(`nickname must be 1-${MAX_NICKNAME_LENGTH} visible characters without control characters`);
  }
  return nickname;
}

/**
 * `PUT .../presence`. Ready on `endpoints` (absent: every endpoint of the agent's profile) as
 * `nickname` (absent: the agent id); `renew`: a console keeping its agent ready, which never makes a
 * not-ready agent ready again (one the service made not ready, say, stays so until its person
 * chooses). Not ready: no more offers; the chats it holds are its to finish.
 */
export type PresenceCommand =
  | {
      readonly agentId: string;
      readonly ready: true;
      readonly endpoints: readonly string[] | undefined;
      readonly nickname: string | undefined;
      readonly renew: boolean;
      readonly actor?: string;
    }
  | { readonly agentId: string; readonly ready: false; readonly actor?: string };

/** What an agent and its console see of its presence (`GET`/`PUT .../presence`, and the `/gms/presence` frame). */
export interface PresenceView {
  readonly agentId: string;
  readonly state: "ready" | "not_ready";
  /** Why the service made it not ready (`missed`: an offer went unanswered; `profile`: its profile changed); null when it chose. */
  readonly reason: NotReadyReason | null;
  readonly endpoints: readonly string[];
  readonly nickname: string | null;
  readonly maxChats: number | null;
  /** In this state since (ISO time); null when it was never ready. */
  readonly since: string | null;
  /** While ready: when its presence lapses unless renewed. */
  readonly expiresAt: string | null;
  readonly chats: readonly { readonly chatId: string; readonly endpoint: string; readonly since: string }[];
  readonly offers: readonly {
    readonly chatId: string;
    readonly endpoint: string;
    readonly offeredAt: string;
    readonly expiresAt: string;
  }[];
}

export function presenceView(agentId: string, state: AgentState | undefined, now: number): PresenceView {
  const ready = state !== undefined && isPresent(state, now);
  return {
    agentId,
    state: ready ? "ready" : "not_ready",
    reason: state?.reason ?? null,
    endpoints: [...(state?.endpoints ?? [])],
    nickname: state?.nickname ?? null,
    maxChats: state?.maxChats ?? null,
    // A presence that lapsed ended when it lapsed.
    since: !state?.since ? null : ready || !state.ready ? state.since : isoTime(state.readyUntil),
    expiresAt: ready ? isoTime(state.readyUntil) : null,
    chats: Object.entries(state?.chats ?? {})
      .filter(([, chat]) => chat.expiresAt > now)
      .map(([chatId, chat]) => ({ chatId, endpoint: chat.endpoint, since: chat.since })),
    offers: Object.entries(state?.offers ?? {}).map(([chatId, offer]) => ({
      chatId,
      endpoint: offer.endpoint,
      offeredAt: offer.offeredAt,
      expiresAt: isoTime(offer.expiresAt),
    })),
  };
}

/** What a change of presence sets in motion beyond the agent's record (lib/routing/ gives it). */
export interface PresenceRouter {
  /** Routing's index of the agent follows its state: run beside the endpoints' availability. */
  index(changed: AgentChanged): Promise<void>;
  /** Ready: it is offered the oldest waiting chats it can take; not ready: its pending offers go to others. Its consoles hear of it. */
  changed(changed: AgentChanged): Promise<void>;
}

export interface PresenceDeps {
  readonly agents: AgentStore;
  readonly now: () => Date;
  readonly presenceRouter: PresenceRouter;
}

/**
 * Changes the agent's presence, if its state allows: its record, then its endpoints' availability
 * beside routing's index of it, then what the change sets in motion (sent to the router function,
 * so that no request waits for a routing pass).
 */
export async function changePresence(
  deps: PresenceDeps,
  agentId: string,
  change: PresenceChange,
  now: number,
): Promise<AgentChanged | undefined> {
  const changed = await deps.agents.presence(agentId, change, now, (done) => deps.presenceRouter.index(done));
  if (changed !== undefined) await deps.presenceRouter.changed(changed);
  return changed;
}

export async function setPresence(deps: PresenceDeps, command: PresenceCommand): Promise<PresenceView> {
  const { agentId } = command;
  const now = epochSeconds(deps.now());
  const at = deps.now().toISOString();
  const actor = command.actor === undefined ? {} : { actor: command.actor };
  let change: PresenceChange;
  if (!command.ready) {
    change = { kind: "notReady", at, ...actor };
  } else if (command.renew) {
    // Not ready (by its own choice, or the service's): a renewal keeps it so, and says so.
    change = { kind: "renew", readyUntil: now + PRESENCE_SECONDS, at };
  } else {
    change = {
      kind: "ready",
      endpoints: command.endpoints,
      nickname: command.nickname ?? agentId,
      readyUntil: now + PRESENCE_SECONDS,
      at,
      ...actor,
    };
  }
  const changed = await changePresence(deps, agentId, change, now);
  if (changed === undefined && change.kind === "ready") throw await refusal(deps, agentId, change.endpoints);
  return presenceView(agentId, changed === undefined ? await deps.agents.getState(agentId) : changed.after, now);
}

/** Why going ready was refused: the agent has no profile, or named endpoints its profile does not (thrown by requireServes). */
async function refusal(deps: PresenceDeps, agentId: string, endpoints: readonly string[] | undefined): Promise<Error> {
  requireServes(await deps.agents.getProfile(agentId), agentId, endpoints ?? []);
  return new NotAssignedError("Your profile changed meanwhile: try again");
}

/** `GET .../presence`. */
export async function presenceOf(deps: Pick<PresenceDeps, "agents" | "now">, agentId: string): Promise<PresenceView> {
  return presenceView(agentId, await deps.agents.getState(agentId), epochSeconds(deps.now()));
}
