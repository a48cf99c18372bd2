import { isAvailable } from "./availability.ts";
import { splitContextData } from "./context-data.ts";
import type { Fields } from "./http/decode.ts";
import { NoAgentAvailableError } from "./http/errors.ts";
import { IdempotencyConflictError, requestFingerprint, sessionIdFor, type IdempotencyScope } from "./idempotency.ts";
import { epochSeconds, isVerbose, parseTtlSeconds } from "./options.ts";
import { isServiceName, serviceNotFound } from "./services.ts";
import { createUrl, type Session } from "./session.ts";
import type { ConfigStore, SessionStore } from "./stores.ts";

export interface RequestChatDeps {
  readonly config: ConfigStore;
  readonly sessions: SessionStore;
  readonly now: () => Date;
}

export interface RequestChatInput {
  readonly serviceName: string;
  readonly fields: Fields;
  /** Present when the client sent an Idempotency-Key. */
  readonly idempotency?: IdempotencyScope | undefined;
  /** Prefix of the URLs clients see (the stage on API Gateway's default endpoint); "" by default. */
  readonly basePath?: string;
}

/**
 * `POST /genesys/1/service/{service-name}`: opens a basic chat session. Input is validated before any
 * storage call, so bad input costs nothing and stores nothing. Then one read round (the service and
 * its endpoint's availability; with an Idempotency-Key also the session a retry would find) and one
 * insert-only write; only a write that loses a race (or was applied by an attempt that timed out)
 * reads once more, so a request makes at most three storage calls in sequence.
 */
export async function requestChat(deps: RequestChatDeps, input: RequestChatInput) {
  const { serviceName, fields, idempotency, basePath = "" } = input;
  const { control, data } = splitContextData(fields);
  const requestedTtl = control._ttl === undefined ? undefined : parseTtlSeconds(control._ttl);
  const verbose = isVerbose(control._verbose);
  if (!isServiceName(serviceName)) throw serviceNotFound();

  const id = sessionIdFor(serviceName, idempotency);
  const requestHash = idempotency && requestFingerprint(serviceName, fields);
  const [{ service, notification, presence }, previous] = await Promise.all([
    deps.config.loadServiceRoute(serviceName),
    idempotency ? deps.sessions.get(id) : undefined,
  ]);
  const now = deps.now();
  if (previous !== undefined) return answer(replayed(previous, requestHash, now), verbose, basePath);
  if (service === undefined) throw serviceNotFound();
  if (!isAvailable(notification, presence, now)) throw new NoAgentAvailableError();

  const ttlSeconds = requestedTtl ?? service.ttlSeconds;
  const session: Session = {
    id,
    serviceName: service.name,
    chatEndpoint: service.chatEndpoint,
    data,
    createdAt: now.toISOString(),
    ttlSeconds,
    expiresAt: epochSeconds(now) + ttlSeconds,
    ...(requestHash === undefined ? {} : { requestHash }),
  };
  const outcome = await deps.sessions.create(session);
  if (outcome.stored) return answer(session, verbose, basePath);
  // A concurrent retry with the same Idempotency-Key stored it first.
  return answer(replayed(outcome.existing, requestHash, now), verbose, basePath);
}

/** The session an earlier request with the same Idempotency-Key created, if this is its retry. */
function replayed(previous: Session | undefined, requestHash: string | undefined, now: Date): Session {
  if (previous === undefined || previous.expiresAt <= epochSeconds(now)) {
    throw new IdempotencyConflictError("This Idempotency-Key was used for a session that has ended; send a new key");
  }
  if (previous.requestHash !== requestHash) {
    throw new IdempotencyConflictError("This Idempotency-Key was used with a different request; send a new key");
  }
  return previous;
}

function answer(session: Session, verbose: boolean, basePath: string) {
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
    _expires_at: new Date(session.expiresAt * 1000).toISOString(),
  };
}
