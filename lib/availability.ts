import { BadRequestError } from "./http/errors.ts";
import type { Fields } from "./http/decode.ts";
import { epochSeconds, parseTtlSeconds } from "./options.ts";
import { isPresent, type AgentPresence } from "./presence.ts";

/**
 * An agent-availability notification for one chat endpoint. request-chat opens sessions only while
 * one with `available: true` is in force. A notification sent with `_ttl` lapses at `expiresAt`
 * (epoch seconds), so a notifier that crashes cannot leave the service open; one sent without `_ttl`
 * stays in force until it is replaced.
 */
export interface AvailabilityNotification {
  readonly endpoint: string;
  readonly available: boolean;
  readonly expiresAt?: number;
  readonly updatedAt: string;
}

export function isInForce(notification: AvailabilityNotification | undefined, now: Date): boolean {
  if (notification === undefined || !notification.available) return false;
  return notification.expiresAt === undefined || notification.expiresAt > epochSeconds(now);
}

/** An endpoint is available while a notification is in force or an agent is ready on it. */
export function isAvailable(notification: AvailabilityNotification | undefined, presence: readonly AgentPresence[], now: Date): boolean {
  return isInForce(notification, now) || presence.some((agent) => isPresent(agent, now));
}

const NOTIFICATION_KEYS = new Set(["available", "_ttl"]);

export function parseNotification(endpoint: string, fields: Fields, now: Date): AvailabilityNotification {
  for (const key of Object.keys(fields)) {
    if (!NOTIFICATION_KEYS.has(key)) throw new BadRequestError("Unknown field; expected available and optionally _ttl");
  }
  const available = fields.available?.trim().toLowerCase();
  if (available !== "true" && available !== "false") {
    throw new BadRequestError("available must be true or false");
  }
  const notification = { endpoint, available: available === "true", updatedAt: now.toISOString() };
  if (fields._ttl === undefined) return notification;
  return { ...notification, expiresAt: epochSeconds(now) + parseTtlSeconds(fields._ttl) };
}

/** What `GET /genesys/1/admin/availability/{endpoint}` shows: the effective state and why. */
export function availabilityView(endpoint: string, notification: AvailabilityNotification | undefined, presence: readonly AgentPresence[], now: Date) {
  return {
    endpoint,
    available: isAvailable(notification, presence, now),
    readyAgents: presence.filter((agent) => isPresent(agent, now)).length,
    notification:
      notification === undefined
        ? null
        : {
            available: notification.available,
            updatedAt: notification.updatedAt,
            expiresAt: notification.expiresAt === undefined ? null : new Date(notification.expiresAt * 1000).toISOString(),
            lapsed: notification.expiresAt !== undefined && notification.expiresAt <= epochSeconds(now),
          },
  };
}
