import { createHash } from "node:crypto";
import { v4 as uuidv4, v5 as uuidv5 } from "uuid";
import { IdempotencyConflictError } from "../errors.ts";
import type { Session } from "../storage.ts";
import type { TextMap } from "../text.ts";
import { epochSeconds } from "../time.ts";

/**
 * Retries without duplicates. A client that sends `Idempotency-Key` gets a session id derived from
 * the key (and the service and `gms_user`), so every retry targets the same record and the
 * insert-only write lets exactly one of them create it. The request's fingerprint, stored with the
 * session, tells a retry (same fields: same answer) from a reuse of the key (different fields: 409).
 * Keys must be unique per client request, as with any idempotency key: use a UUID.
 */
const NAMESPACE = "d09c3e27-f2f6-45c2-9e41-7652b312f049";

/** What makes a request-chat retriable: the client's key, its `gms_user`, and what it sent. */
export interface Idempotency {
  readonly key: string;
  readonly user: string | undefined;
  /** requestFingerprint of the request. */
  readonly fingerprint: string;
}

/** A fresh random id, or the id every retry with this key computes. */
export function sessionIdFor(serviceName: string, idempotency: Pick<Idempotency, "key" | "user"> | undefined): string {
  if (idempotency === undefined) return uuidv4();
  return uuidv5(JSON.stringify([serviceName, idempotency.user ?? null, idempotency.key]), NAMESPACE);
}

/** Order-independent digest of everything the client sent: form and JSON encodings of the same data match. */
export function requestFingerprint(serviceName: string, fields: TextMap): string {
  const entries = Object.entries(fields).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash("sha256")
    .update(JSON.stringify([serviceName, entries]))
    .digest("base64url");
}

/** The session an earlier request with the same key created, if this request is its retry. */
export function replayed(previous: Session | undefined, fingerprint: string | undefined, now: Date): Session {
  if (previous === undefined || previous.expiresAt <= epochSeconds(now)) {
    throw new IdempotencyConflictError("This Idempotency-Key was used for a session that has ended; send a new key");
  }
  if (previous.requestHash !== fingerprint) {
    throw new IdempotencyConflictError("This Idempotency-Key was used with a different request; send a new key");
  }
  return previous;
}
