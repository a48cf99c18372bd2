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
