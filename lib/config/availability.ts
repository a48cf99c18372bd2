import type { AvailabilityNotification, ConfigDeps, EndpointAvailability } from "../storage.ts";
import { epochSeconds, isoTime } from "../time.ts";

/** request-chat opens sessions on an endpoint only while a notification with `available: true` is in force. */
export function isInForce(notification: AvailabilityNotification | undefined, now: Date): boolean {
  if (notification === undefined || !notification.available) return false;
  return notification.expiresAt === undefined || notification.expiresAt > epochSeconds(now);
}

/** An endpoint is available while a notification is in force or an agent is ready on it. */
export function isAvailable(availability: EndpointAvailability, now: Date): boolean {
  return isInForce(availability.notification, now) || availability.readyUntil > epochSeconds(now);
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
  availability: EndpointAvailability & { readonly readyAgents: number },
  now: Date,
): AvailabilityView {
  const { notification, readyAgents } = availability;
  return {
    endpoint,
    available: isAvailable(availability, now),
    readyAgents,
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
  const now = deps.now();
  return availabilityView(endpoint, await deps.config.endpointAvailability(endpoint, epochSeconds(now)), now);
}

/** Replaces the endpoint's notification; the answer shows the state it leaves. */
export async function notifyAvailability(deps: ConfigDeps, command: NotifyCommand): Promise<AvailabilityView> {
  const now = deps.now();
  await deps.config.putNotification(notificationFor(command, now));
  return availabilityView(command.endpoint, await deps.config.endpointAvailability(command.endpoint, epochSeconds(now)), now);
}
