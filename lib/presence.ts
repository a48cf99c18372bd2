import { BadRequestError } from "./http/errors.ts";
import type { Fields } from "./http/decode.ts";
import { epochSeconds } from "./options.ts";
import { requireChatEndpoint } from "./services.ts";

/**
 * An agent who is ready on a chat endpoint counts as an availability notification for it. Presence
 * lapses PRESENCE_SECONDS after the agent's last `PUT .../presence`, so agents who close their
 * console or lose their network stop counting; consoles renew it well within that interval.
 */
export const PRESENCE_SECONDS = 60;

export interface AgentPresence {
  readonly agentId: string;
  readonly endpoint: string;
  readonly nickname: string;
  /** Epoch seconds. */
  readonly expiresAt: number;
}

const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;
const NICKNAME = /^[^\u0000-\u001F\u007F]{1,64}$/u;

export function requireAgentId(raw: string): string {
  if (!AGENT_ID.test(raw)) throw new BadRequestError("Agent ids are 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit");
  return raw;
}

export function isPresent(presence: AgentPresence, now: Date): boolean {
  return presence.expiresAt > epochSeconds(now);
}

const PRESENCE_KEYS = new Set(["endpoint", "state", "nickname"]);

/** `PUT .../presence`: `ready` yields the presence to store, `not_ready` the endpoint to leave. */
export function parsePresence(agentId: string, fields: Fields, now: Date): { ready: true; presence: AgentPresence } | { ready: false; endpoint: string } {
  for (const key of Object.keys(fields)) {
    if (!PRESENCE_KEYS.has(key)) throw new BadRequestError("Unknown field; expected endpoint, state and nickname");
  }
  const endpoint = requireChatEndpoint((fields.endpoint ?? "").trim(), "endpoint");
  const state = fields.state?.trim().toLowerCase();
  if (state === "not_ready") return { ready: false, endpoint };
  if (state !== "ready") throw new BadRequestError("state must be ready or not_ready");
  const nickname = (fields.nickname ?? agentId).trim();
  if (!NICKNAME.test(nickname) || !nickname.isWellFormed()) throw new BadRequestError("nickname must be 1-64 characters without control characters");
  return { ready: true, presence: { agentId, endpoint, nickname, expiresAt: epochSeconds(now) + PRESENCE_SECONDS } };
}
