import { createHash } from "node:crypto";
import { IdempotencyConflictError } from "../errors.ts";
import type { IdempotencyRecord, Session } from "../storage.ts";
import type { TextMap } from "../text.ts";
import { epochSeconds } from "../time.ts";

/**
 * Retries without duplicates. A client that sends `Idempotency-Key` has its key recorded (under a
 * digest of the service, its `gms_user` and the key) with the random id of the session its request
 * opened, so every retry finds that session, and the insert-only writes let exactly one request
 * open it. The session id itself is random: knowing a client's key and user computes nothing. The
 * request's fingerprint, kept with the key, tells a retry (same fields: same answer) from a reuse
 * of the key (different fields: 409). Keys must be unique per client request and hard to guess, as
 * with any idempotency key: use a UUID.
 */

/** What makes a request-chat retriable: the client's key, its `gms_user`, and what it sent. */
export interface Idempotency {
  readonly key: string;
  readonly user: string | undefined;
  /** requestFingerprint of the request. */
  readonly fingerprint: string;
}

/** The digest a key is recorded under: the same for every retry, and scoped to the service and the client's user. */
export function idempotencyDigest(serviceName: string, idempotency: Pick<Idempotency, "key" | "user">): string {
  return createHash("sha256")
    .update(JSON.stringify([serviceName, idempotency.user ?? null, idempotency.key]))
    .digest("base64url");
}

/** Order-independent digest of everything the client sent: form and JSON encodings of the same data match. */
export function requestFingerprint(serviceName: string, fields: TextMap): string {
  const entries = Object.entries(fields).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash("sha256")
    .update(JSON.stringify([serviceName, entries]))
    .digest("base64url");
}

/**
 * The session of the key's record, if this request may be its retry: the same request, and a
 * session still live. Where it is kept: its chat id, or, for a record made before chat ids, its id.
 */
export function requireRetry(
  record: IdempotencyRecord,
  idempotency: Idempotency | undefined,
  now: Date,
): { readonly sessionId: string; readonly chatId: string } {
  if (record.expiresAt <= epochSeconds(now)) {
    throw new IdempotencyConflictError("This Idempotency-Key was used for a session that has ended; send a new key");
  }
  if (record.requestHash !== idempotency?.fingerprint) {
    throw new IdempotencyConflictError("This Idempotency-Key was used with a different request; send a new key");
  }
  return { sessionId: record.sessionId, chatId: record.chatId ?? record.sessionId };
}

/** The session an earlier request with the same key opened. */
export function replayed(previous: Session | undefined, now: Date): Session {
  if (previous === undefined || previous.expiresAt <= epochSeconds(now)) {
    throw new IdempotencyConflictError("This Idempotency-Key was used for a session that has ended; send a new key");
  }
  return previous;
}
