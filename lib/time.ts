import { InvalidInputError } from "./errors.ts";

/** Epoch seconds: the unit of every expiry the service keeps (DynamoDB's TTL attribute ignores milliseconds). */
export function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** An expiry in epoch seconds, as the ISO time answers show. */
export function isoTime(epochSecondsValue: number): string {
  return new Date(epochSecondsValue * 1000).toISOString();
}

/** Longest time to live a session or an availability notification may have: 7 days. */
export const MAX_TTL_SECONDS = 7 * 24 * 3600;

/** A `_ttl` value: whole seconds, 1 to 7 days, written as plain digits. */
export function parseTtlSeconds(raw: string, name = "_ttl"): number {
  const value = /^[0-9]{1,7}$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isInteger(value) || value < 1 || value > MAX_TTL_SECONDS) {
    throw new InvalidInputError(`${name} must be a whole number of seconds from 1 to ${MAX_TTL_SECONDS}`);
  }
  return value;
}
