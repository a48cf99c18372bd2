import { type AvailabilityDeps, type AvailabilityView, availabilityOf } from "../config/availability.ts";
import { InvalidInputError } from "../errors.ts";
import type { EndpointSettings, RoutingStore } from "./store.ts";
import type { RoutingWork } from "./work.ts";

/**
 * How an endpoint's chats reach its agents. `offer` (the default): each chat is offered to one agent
 * at a time, the one of the endpoint's ready agents with a free slot that has the fewest chats and has
 * waited longest for work; an offer not answered within `offerTimeout` seconds is withdrawn and its
 * agent made not ready. `pick`: agents take chats from the endpoint's queue by hand.
 */
export const DEFAULT_SETTINGS: EndpointSettings = { routing: "offer", offerTimeout: 20 };
export const OFFER_TIMEOUT_LIMITS = { min: 5, max: 120 } as const;

/** The endpoint's settings, its defaults when it has none. */
export async function settingsOf(deps: { readonly routing: Pick<RoutingStore, "settings"> }, endpoint: string): Promise<EndpointSettings> {
  return (await deps.routing.settings(endpoint)) ?? DEFAULT_SETTINGS;
}

export function requireRouting(raw: string): EndpointSettings["routing"] {
  const routing = raw.trim().toLowerCase();
  if (routing !== "offer" && routing !== "pick") throw new InvalidInputError("routing must be offer or pick");
  return routing;
}

export function requireOfferTimeout(raw: string): number {
  const value = /^\d{1,3}$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isInteger(value) || value < OFFER_TIMEOUT_LIMITS.min || value > OFFER_TIMEOUT_LIMITS.max) {
    throw new InvalidInputError(
      `offerTimeout must be a whole number of seconds from ${OFFER_TIMEOUT_LIMITS.min} to ${OFFER_TIMEOUT_LIMITS.max}`,
    );
  }
  return value;
}

/** Whether settings read back from storage are ones this service writes. */
export function isSettings(settings: Pick<EndpointSettings, "routing" | "offerTimeout">): boolean {
  return (
    (settings.routing === "offer" || settings.routing === "pick") &&
    Number.isInteger(settings.offerTimeout) &&
    settings.offerTimeout >= OFFER_TIMEOUT_LIMITS.min &&
    settings.offerTimeout <= OFFER_TIMEOUT_LIMITS.max
  );
}

/** What the admin API shows of an endpoint: how its chats are routed, and its live state. */
export interface EndpointView extends AvailabilityView {
  readonly routing: EndpointSettings["routing"];
  readonly offerTimeout: number;
  /** When its settings were last set; null while it has its defaults. */
  readonly updatedAt: string | null;
  /** Chats waiting in its queue (not offered): counted up to WAITING_COUNTED, `waitingMore` beyond. */
  readonly waiting: number;
  readonly waitingMore: boolean;
}

/** Queue entries counted for an endpoint's view: one read, however many wait. */
const WAITING_COUNTED = 100;

export interface EndpointDeps extends AvailabilityDeps {
  readonly routing: RoutingStore;
  readonly work: RoutingWork;
}

export async function endpointView(deps: EndpointDeps, endpoint: string): Promise<EndpointView> {
  const [stored, availability, waiting] = await Promise.all([
    deps.routing.settings(endpoint),
    availabilityOf(deps, endpoint),
    deps.routing.waiting(endpoint, { limit: WAITING_COUNTED }),
  ]);
  const settings = stored ?? DEFAULT_SETTINGS;
  return {
    ...availability,
    routing: settings.routing,
    offerTimeout: settings.offerTimeout,
    updatedAt: stored?.updatedAt ?? null,
    waiting: waiting.entries.length,
    waitingMore: waiting.next !== undefined,
  };
}

/** The routing settings a PUT sets: each absent one takes its default. */
export interface SettingsCommand {
  readonly routing: EndpointSettings["routing"];
  readonly offerTimeout: number;
}

/** How many waiting chats a switch to `offer` sends routing passes for at once (one page): the rest are offered as agents free. */
const ROUTED_ON_SWITCH = 100;

/**
 * Replaces the endpoint's routing settings (the next chat and the next pass follow them). An endpoint
 * that starts offering its chats has its waiting chats routed: the oldest ROUTED_ON_SWITCH at once.
 */
export async function putEndpoint(deps: EndpointDeps, endpoint: string, command: SettingsCommand): Promise<EndpointView> {
  const before = await settingsOf(deps, endpoint);
  await deps.routing.putSettings(endpoint, { ...command, updatedAt: deps.now().toISOString() });
  if (command.routing === "offer" && before.routing !== "offer") {
    const page = await deps.routing.waiting(endpoint, { limit: ROUTED_ON_SWITCH });
    await Promise.all(page.entries.map((entry) => deps.work.send({ kind: "route", chatId: entry.chatId })));
  }
  return endpointView(deps, endpoint);
}
