/**
 * The rule of a holder with a limited number of places (an agent's consoles, lib/push/push.ts; a
 * CometD user's clients, lib/comet/bayeux.ts), race-safe without a lock: whoever takes a place
 * stores it first, then reads the holder's places (strongly consistent) and lets go of all but the
 * newest `max`. Of places taken at once, the last to read sees them all, so no more than `max`
 * stay. The lapsed ones read go too, so that what TTL has not removed yet never crowds a read.
 */
export interface Place {
  readonly id: string;
  /** When it was taken (epoch milliseconds). */
  readonly since: number;
  /** When it lapses (epoch seconds). */
  readonly expiresAt: number;
}

/** Of the places read: those to let go (live, past the newest `max`), the lapsed ones, and whether `own` is kept. */
export function keepNewest(places: readonly Place[], max: number, now: number, own: string) {
  const live = places.filter((place) => place.expiresAt > now);
  // Newest first; the same instant by id, so that every reader orders them alike.
  const newestFirst = [...live].sort((a, b) => b.since - a.since || (a.id < b.id ? 1 : -1));
  return {
    letGo: newestFirst.slice(max).map((place) => place.id),
    lapsed: places.filter((place) => !(place.expiresAt > now)).map((place) => place.id),
    keeps: newestFirst.slice(0, max).some((place) => place.id === own),
  };
}
