import type { AgentPresence, AvailabilityNotification, ConfigDeps } from "../storage.ts";
import { epochSeconds, isoTime } from "../time.ts";
import { isPresent } from "./presence.ts";

/** request-chat opens sessions on an endpoint only while a notification with `available: true` is in force. */
export function isInForce(notification: AvailabilityNotification | undefined, now: Date): boolean {
  if (notification === undefined || !notification.available) return false;
  return notification.expiresAt === undefined || notification.expiresAt > epochSeconds(now);
}

/** An endpoint is available while a notification is in force or an agent is ready on it. */
export function isAvailable(notification: AvailabilityNotification | undefined, presence: readonly AgentPresence[], now: Date): boolean {
  return isInForce(notification, now) || presence.some((agent) => isPresent(agent, now));
}

/** `PUT /genesys/1/admin/availability/{endpoint}`: open or close the endpoint, until further notice or for `ttlSeconds`. */
export interface NotifyCommand {
  readonly endpoint: string;
  readonly available: boolean;
  readonly ttlSeconds?: number | undefined;
}

export function notificationFor(command: NotifyCommand, now: Date): AvailabilityNotification {
  const notification = { endpoint: command.endpoint, available: command.available, updatedAt: now.toISOString() };
  return command.ttlSeconds === undefined ? notification : { ...notification, expiresAt: epochSeconds(now) + command.ttlSeconds };
}

/** What the admin API shows of an endpoint: the effective state and why. */
export interface AvailabilityView {
  readonly endpoint: string;
  readonly available: boolean;
  readonly readyAgents: number;
  readonly notification: {
    readonly available: boolean;
    readonly updatedAt: string;
    readonly expiresAt: string | null;
    readonly lapsed: boolean;
  } | null;
}

export function availabilityView(
  endpoint: string,
  notification: AvailabilityNotification | undefined,
  presence: readonly AgentPresence[],
  now: Date,
): AvailabilityView {
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
            expiresAt: notification.expiresAt === undefined ? null : isoTime(notification.expiresAt),
            lapsed: notification.expiresAt !== undefined && notification.expiresAt <= epochSeconds(now),
          },
  };
}

export async function availabilityOf(deps: ConfigDeps, endpoint: string): Promise<AvailabilityView> {
  const [notification, presence] = await Promise.all([deps.config.getNotification(endpoint), deps.config.listPresence(endpoint)]);
  return availabilityView(endpoint, notification, presence, deps.now());
}

/** Replaces the endpoint's notification; the answer shows the state it leaves. */
export async function notifyAvailability(deps: ConfigDeps, command: NotifyCommand): Promise<AvailabilityView> {
  const now = deps.now();
  const notification = notificationFor(command, now);
  const [, presence] = await Promise.all([deps.config.putNotification(notification), deps.config.listPresence(command.endpoint)]);
  return availabilityView(command.endpoint, notification, presence, now);
}
