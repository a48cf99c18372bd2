import { createHash } from "node:crypto";
import { v4 as uuidv4, v5 as uuidv5 } from "uuid";
import type { Fields } from "./http/decode.ts";
import { BadRequestError, HttpError } from "./http/errors.ts";

/**
 * Retries without duplicates. A client that sends `Idempotency-Key` gets a session id derived from
 * the key (and the service and `gms_user`), so every retry targets the same DynamoDB item and the
 * insert-only write lets exactly one of them create it. The request's fingerprint, stored with the
 * session, tells a retry (same fields: same answer) from a reuse of the key (different fields: 409).
 * Keys must be unique per client request, as with any idempotency key: use a UUID.
 */
const NAMESPACE = "d09c3e27-f2f6-45c2-9e41-7652b312f049";
const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/;

export interface IdempotencyScope {
  readonly key: string;
  readonly user: string | undefined;
}

export function parseIdempotencyKey(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const key = raw.trim();
  if (!KEY_FORMAT.test(key)) throw new BadRequestError("Idempotency-Key must be 1-255 visible ASCII characters");
  return key;
}

/** A fresh random id, or the id every retry with this key computes. */
export function sessionIdFor(serviceName: string, scope: IdempotencyScope | undefined): string {
  if (scope === undefined) return uuidv4();
  return uuidv5(JSON.stringify([serviceName, scope.user ?? null, scope.key]), NAMESPACE);
}

/** Order-independent digest of the decoded request: form and JSON encodings of the same data match. */
export function requestFingerprint(serviceName: string, fields: Fields): string {
  const entries = Object.entries(fields).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash("sha256").update(JSON.stringify([serviceName, entries])).digest("base64url");
}

export class IdempotencyConflictError extends HttpError {
  constructor(message: string) {
    super(409, "IdempotencyKeyConflictException", message);
  }
}
