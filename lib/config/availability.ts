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

/**
 * How an endpoint's availability follows its ready agents without every renewal writing it. The
 * endpoint keeps `readyUntil`, no later than its newest agent presence lapses; a renewal extends it
 * (to its own presence's expiry) only once fewer than EXTEND_MARGIN_SECONDS are left. A lone agent
 * renewing every 20 s then extends it each time, so a missed renewal never closes a staffed
 * endpoint; with more agents, the endpoint is written about once per 15 s (60 - 45) however many
 * renew. An agent that vanishes stops counting when `readyUntil` lapses: at most 60 s after its last
 * renewal.
 */
export const EXTEND_MARGIN_SECONDS = 45;

/** Whether a renewal at `now` extends an endpoint that is ready until `readyUntil`. */
export function extendDue(readyUntil: number, now: number): boolean {
  return readyUntil < now + EXTEND_MARGIN_SECONDS;
}

/**
 * An agent ready on an endpoint has an entry in its roster, which a "not ready" reads to learn
 * whether anyone else is ready (the last one closes the endpoint at once). An entry holds
 * ROSTER_SECONDS and is renewed by the agent's renewals once fewer than ROSTER_RENEW_SECONDS are left.
 */
export const ROSTER_SECONDS = 300;
const ROSTER_RENEW_SECONDS = 120;

/** Whether a renewal at `now` renews roster entries that hold until `rosterUntil`. */
export function rosterDue(rosterUntil: number, now: number): boolean {
  return rosterUntil - now < ROSTER_RENEW_SECONDS;
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

/** What the admin API shows of an endpoint's availability: the effective state and why. */
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

/** What availability reads: the endpoints' states, and how many agents are ready on one. */
export interface AvailabilityDeps extends ConfigDeps {
  readonly readyAgents: (endpoint: string, now: number) => Promise<number>;
}

export async function availabilityOf(deps: AvailabilityDeps, endpoint: string): Promise<AvailabilityView> {
  const now = deps.now();
  const [availability, readyAgents] = await Promise.all([
    deps.config.endpointAvailability(endpoint),
    deps.readyAgents(endpoint, epochSeconds(now)),
  ]);
  return availabilityView(endpoint, { ...availability, readyAgents }, now);
}

/** Replaces the endpoint's notification; the answer shows the state it leaves. */
export async function notifyAvailability(deps: AvailabilityDeps, command: NotifyCommand): Promise<AvailabilityView> {
  await deps.config.putNotification(notificationFor(command, deps.now()));
  return availabilityOf(deps, command.endpoint);
}
