import { BadRequestError } from "./http/errors.ts";

/** Longest time to live a session or an availability notification may ask for: 7 days. */
export const MAX_TTL_SECONDS = 7 * 24 * 3600;

/** A `_ttl` value: whole seconds, 1 to 7 days, written as plain digits. */
export function parseTtlSeconds(raw: string, name = "_ttl"): number {
  const value = /^[0-9]{1,7}$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isInteger(value) || value < 1 || value > MAX_TTL_SECONDS) {
    throw new BadRequestError(`${name} must be a whole number of seconds from 1 to ${MAX_TTL_SECONDS}`);
  }
  return value;
}

/** `_verbose`: field clients send `true`, `True`, `TRUE` or `1`. Anything else means not verbose. */
export function isVerbose(raw: string | undefined): boolean {
  return raw !== undefined && /^(true|1)$/i.test(raw.trim());
}

/** Epoch seconds: the unit of DynamoDB's TTL attribute (milliseconds would never expire). */
export function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
