import { isAgentId } from "../agents/presence.ts";
import { isChatEndpoint } from "../config/services.ts";
import { isChatId } from "../session/ids.ts";
import type { OfferEntry } from "./store.ts";

/**
 * Routing's work, done by the router function (handlers/router.ts) from a queue (SQS deployed), so
 * that no customer or agent request waits for a routing pass, a pass that fails is tried again, and
 * a timer needs no server: an offer's expiry is a task delivered when it is due.
 */
export type RoutingTask =
  /** A chat that needs an agent (new, refused, missed, transferred): offered to one, or left queued. */
  | { readonly kind: "route"; readonly chatId: string }
  /** An agent that may take more work (went ready, a chat of its ended, an offer of its went): offered the oldest waiting chats it can take. */
  | { readonly kind: "free"; readonly agentId: string }
  /** An offer's timer: withdrawn, if still unanswered, its agent made not ready, the chat offered to the next. */
  | { readonly kind: "expire"; readonly offer: OfferEntry }
  /** An agent's profile changed: a ready agent keeps only what its profile still gives it (lib/agents/state.ts `restrict`). */
  | { readonly kind: "profile"; readonly agentId: string };

/** Where routing's tasks go: delivered once `delaySeconds` (0-900) have passed, at least once. */
export interface RoutingWork {
  send(task: RoutingTask, delaySeconds?: number): Promise<void>;
}

/**
 * A task as a queue's message carries it (JSON), or undefined when the body is not one this service
 * sends: every field checked, nothing else kept, so that a message someone else put on the queue
 * runs nothing it should not.
 */
export function parseTask(body: string): RoutingTask | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  const task = value as Record<string, unknown> | null;
  if (task === null || typeof task !== "object") return undefined;
  const text = (field: unknown, valid: (raw: string) => boolean): field is string => typeof field === "string" && valid(field);
  const seconds = (field: unknown): field is number => typeof field === "number" && Number.isInteger(field) && field >= 0;
  switch (task.kind) {
    case "route":
      return text(task.chatId, isChatId) ? { kind: "route", chatId: task.chatId } : undefined;
    case "free":
    case "profile":
      return text(task.agentId, isAgentId) ? { kind: task.kind, agentId: task.agentId } : undefined;
    case "expire": {
      const offer = task.offer as Record<string, unknown> | null;
      if (offer === null || typeof offer !== "object") return undefined;
      const { endpoint, chatId, agentId, expiresAt, chatExpiresAt } = offer;
      if (
        !text(endpoint, isChatEndpoint) ||
        !text(chatId, isChatId) ||
        !text(agentId, isAgentId) ||
        !seconds(expiresAt) ||
        !seconds(chatExpiresAt)
      ) {
        return undefined;
      }
      return { kind: "expire", offer: { endpoint, chatId, agentId, expiresAt, chatExpiresAt } };
    }
    default:
      return undefined;
  }
}
