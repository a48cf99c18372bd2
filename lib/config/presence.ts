import { InvalidInputError } from "../errors.ts";
import type { AgentPresence, ConfigDeps } from "../storage.ts";
import { isDisplayName } from "../text.ts";
import { epochSeconds, isoTime } from "../time.ts";

/**
 * An agent who is ready on a chat endpoint counts as an availability notification for it. Presence
 * lapses PRESENCE_SECONDS after the agent's last `PUT .../presence`, so agents who close their
 * console or lose their network stop counting; consoles renew it well within that interval.
 */
const PRESENCE_SECONDS = 60;

const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;
const MAX_NICKNAME_LENGTH = 64;

export function requireAgentId(raw: string): string {
  if (!AGENT_ID.test(raw))
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

export function isPresent(presence: AgentPresence, now: Date): boolean {
  return presence.expiresAt > epochSeconds(now);
}

/** `PUT .../presence`: ready (with the nickname customers see) or not ready, on one endpoint. */
export type PresenceCommand =
  | { readonly agentId: string; readonly endpoint: string; readonly ready: true; readonly nickname: string; readonly actor?: string }
  | { readonly agentId: string; readonly endpoint: string; readonly ready: false; readonly actor?: string };

export type PresenceView =
  | { readonly agentId: string; readonly endpoint: string; readonly state: "not_ready" }
  | { readonly agentId: string; readonly endpoint: string; readonly state: "ready"; readonly nickname: string; readonly expiresAt: string };

export async function setPresence(deps: ConfigDeps, command: PresenceCommand): Promise<PresenceView> {
  const { agentId, endpoint } = command;
  if (!command.ready) {
    await deps.config.deletePresence(endpoint, agentId, epochSeconds(deps.now()));
    return { agentId, endpoint, state: "not_ready" };
  }
  const now = epochSeconds(deps.now());
  const presence = {
    agentId,
    endpoint,
    nickname: command.nickname,
    expiresAt: now + PRESENCE_SECONDS,
    ...(command.actor === undefined ? {} : { actor: command.actor }),
  };
  await deps.config.putPresence(presence, now);
  return { agentId, endpoint, state: "ready", nickname: presence.nickname, expiresAt: isoTime(presence.expiresAt) };
}
