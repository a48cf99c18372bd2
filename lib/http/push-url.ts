/**
 * PUSH_URL: where the pages open their WebSocket to the push channel (docs/push.md), e.g.
 * `wss://<api-id>.execute-api.<region>.amazonaws.com/<stage>` deployed (the stack output PushUrl),
 * `ws://localhost:3001` under `npm start`. The `web` function serves it to the pages
 * (`/chat/config.json`, `/agent/config.json`) and names its origin, and no other push origin, in
 * their Content-Security-Policy, so it must be written as browsers write it: scheme, lower-case host,
 * a port only when it is not the default, then an optional plain path. Plain `ws:` only to this
 * machine: an agent's access token travels in the subscription. A malformed value fails at init.
 */

/** A host name, an IPv4 or a bracketed IPv6 address, then a path of plain segments: nothing that could end a CSP source. */
const PUSH_URL = /^(wss?:\/\/(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?)(?:\/[\w.~-]+)*$/;
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** The setting, checked; undefined when unset (the functions that do not serve pages have none). */
export function pushUrl(value: string | undefined): string | undefined {
  if (value === undefined || value === "") return undefined;
  const problem = `PUSH_URL must be a WebSocket address like wss://push.example.com/prod or ws://localhost:3001, not ${JSON.stringify(value)}`;
  const origin = PUSH_URL.exec(value)?.[1];
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(problem);
  }
  if (origin === undefined || url.origin !== origin) throw new Error(problem);
  if (url.protocol === "ws:" && !LOOPBACK.has(url.hostname))
    throw new Error(`PUSH_URL must use wss:// unless it is on this machine (localhost, 127.0.0.1), not ${JSON.stringify(value)}`);
  return value;
}

/** The web function's PUSH_URL: required, since the pages push through it. */
export function requiredPushUrl(value: string | undefined): string {
  const url = pushUrl(value);
  if (url === undefined) throw new Error("PUSH_URL must be set: the pages open their WebSocket there");
  return url;
}

/** What the pages' CSP names: the push address's scheme, host and port. */
export function pushOrigin(url: string): string {
  return new URL(url).origin;
}
