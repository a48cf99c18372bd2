import type { PresenceView } from "../agents/presence.ts";
import type { TextMap } from "../text.ts";

/** An offer as its agent sees it (`GET .../offers`, the `/gms/offer` frame): the chat by its chat id. */
export interface OfferView {
  readonly chatId: string;
  readonly endpoint: string;
  /** The customer's nickname, and the fields it gave (name, email, subject). */
  readonly nickname: string;
  readonly customer: TextMap;
  readonly offeredAt: string;
  readonly expiresAt: string;
}

/** Why an offer went: not answered in time, refused, its chat ended, its agent went not ready. */
export type WithdrawnReason = "timeout" | "refused" | "ended" | "not_ready";

/**
 * Who hears of routing's doings as they happen: the consoles of the agent concerned (lib/push/).
 * Best-effort, as every push: an implementation never throws and returns within a small budget; a
 * console that missed a frame reads its offers and presence over REST.
 */
export interface AgentListeners {
  offered(agentId: string, offer: OfferView): Promise<void>;
  withdrawn(agentId: string, chatId: string, reason: WithdrawnReason): Promise<void>;
  presence(agentId: string, presence: PresenceView): Promise<void>;
}

/** Nobody listening: where there is no push channel. */
export const NO_AGENT_LISTENERS: AgentListeners = {
  offered: async () => undefined,
  withdrawn: async () => undefined,
  presence: async () => undefined,
};
