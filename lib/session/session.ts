import { UnknownSessionError } from "../errors.ts";
import type { Session } from "../storage.ts";
import { epochSeconds, isoTime } from "../time.ts";

/**
 * A session's life: request-chat opens it (lib/session/open.ts) for its time to live; its
 * chat runs on it (lib/chat/); it ends when it expires or is cancelled (DELETE), after which its id
 * answers as unknown, whatever storage has not yet removed.
 */

/** Session ids are lower-case hyphenated UUIDs (lib/session/idempotency.ts makes them). */
const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A session id from a path. Anything that is not one is unknown without asking storage, which would
 * refuse a key over 2 KB with an error that is not the client's to see.
 */
export function sessionIdOrUnknown(raw: string): string {
  if (!SESSION_ID.test(raw)) throw new UnknownSessionError();
  return raw;
}

/** The session, if it is live: unknown, cancelled and expired ones are all unknown. */
export function requireLive(session: Session | undefined, now: Date): Session {
  if (session === undefined || session.expiresAt <= epochSeconds(now)) throw new UnknownSessionError();
  return session;
}

/**
 * The create-URL: server-relative, behind the public path prefix clients see (`/prod` on API
 * Gateway's default endpoint; see lib/http/base-path.ts).
 */
export function createUrl(id: string, basePath = ""): string {
  return `${basePath}/genesys/1/service/${id}/ixn/chat`;
}

/** What request-chat answers: `{"_chatIxnAPI-CREATE-URL", "_id"}`, and with `_verbose` the session's attributes too. */
export type OpenSessionView = Readonly<Record<string, string>>;

export function openSessionView(session: Session, verbose: boolean, basePath: string): OpenSessionView {
  const created = { "_chatIxnAPI-CREATE-URL": createUrl(session.id, basePath), _id: session.id };
  if (!verbose) return created;
  // GMS documents "all detailed attributes" for _verbose; business keys never start with "_", so
  // they cannot collide with the reserved keys.
  return {
    ...session.data,
    ...created,
    _service_name: session.serviceName,
    _chat_endpoint: session.chatEndpoint,
    _created_at: session.createdAt,
    _ttl: String(session.ttlSeconds),
    _expires_at: isoTime(session.expiresAt),
  };
}
