import { v4 as uuidv4 } from "uuid";
import { isAvailable } from "../config/availability.ts";
import { NoAgentAvailableError, UnknownServiceError } from "../errors.ts";
import type { Deps, ServiceConfig, Session } from "../storage.ts";
import type { TextMap } from "../text.ts";
import { epochSeconds } from "../time.ts";
import { type Idempotency, idempotencyDigest, replayed, requireRetry } from "./idempotency.ts";
import { chatIdOf } from "./ids.ts";
import { type OpenSessionView, openSessionView } from "./session.ts";

/** request-chat (`POST /genesys/1/service/{service-name}`), checked: every field is valid, only storage can still say no. */
export interface OpenSessionCommand {
  readonly serviceName: string;
  /** Business context data, kept with the session. */
  readonly data: TextMap;
  /** `_ttl`, when the client asked for its own time to live. */
  readonly ttlSeconds: number | undefined;
  readonly verbose: boolean;
  readonly idempotency: Idempotency | undefined;
  /** The path prefix clients see in front of the API's paths; "" when there is none. */
  readonly basePath: string;
}

export type OpenSessionDeps = {
  readonly config: Pick<Deps["config"], "loadServiceRoute">;
  readonly sessions: Pick<Deps["sessions"], "create" | "get" | "getIdempotency" | "putIdempotency">;
  readonly now: Deps["now"];
};

/**
 * request-chat: opens a basic chat session under a random id: one read round (the service and its
 * endpoint's availability; with an Idempotency-Key also the key's record) and one insert-only write
 * (with a new key, the key's record first).
 */
export async function openSession(deps: OpenSessionDeps, command: OpenSessionCommand): Promise<OpenSessionView> {
  const { serviceName, idempotency, verbose, basePath } = command;
  const digest = idempotency && idempotencyDigest(serviceName, idempotency);
  const [{ service, availability }, record] = await Promise.all([
    deps.config.loadServiceRoute(serviceName),
    digest === undefined ? undefined : deps.sessions.getIdempotency(digest),
  ]);
  const now = deps.now();
  const view = (session: Session) => openSessionView(session, verbose, basePath);
  // A retry of a recorded request answers with its session, whatever the service's state now.
  const recorded = record && requireRetry(record, idempotency, now);
  if (service === undefined) {
    if (recorded === undefined) throw new UnknownServiceError();
    return view(replayed(await deps.sessions.get(recorded.chatId), now));
  }
  if (recorded === undefined && !isAvailable(availability, now)) throw new NoAgentAvailableError();

  let session = newSession(recorded ?? newIds(), service, command, now, digest);
  if (recorded === undefined && digest !== undefined && idempotency !== undefined) {
    // The key first: of requests racing with one key, only the one that records it opens a session
    // under its own id; the others open (or find) that one.
    const key = {
      key: digest,
      sessionId: session.id,
      chatId: session.chatId,
      requestHash: idempotency.fingerprint,
      expiresAt: session.expiresAt,
    };
    const inForce = await deps.sessions.putIdempotency(key);
    if (inForce.sessionId !== session.id) session = newSession(requireRetry(inForce, idempotency, now), service, command, now, digest);
  }
  // Under a recorded key the session may be there (the answer is a replay) or not yet (its request
  // is still writing it, or stopped between its two writes): the insert-only write settles which,
  // and every request answers the same id.
  const outcome = await deps.sessions.create(session);
  return view(outcome.stored ? session : replayed(outcome.existing, now));
}

/** A new session's random id, and its chat id (lib/session/ids.ts), where it is kept. */
function newIds(): { readonly sessionId: string; readonly chatId: string } {
  const sessionId = uuidv4();
  return { sessionId, chatId: chatIdOf(sessionId) };
}

function newSession(
  { sessionId: id, chatId }: { readonly sessionId: string; readonly chatId: string },
  service: ServiceConfig,
  command: OpenSessionCommand,
  now: Date,
  key: string | undefined,
): Session {
  // A client may ask for a shorter life than its service's `_ttl`, never a longer one: the service's
  // option is the longest a stranger's request can keep data (and a queue entry) stored.
  const ttlSeconds = Math.min(command.ttlSeconds ?? service.ttlSeconds, service.ttlSeconds);
  return {
    id,
    chatId,
    serviceName: service.name,
    chatEndpoint: service.chatEndpoint,
    data: command.data,
    createdAt: now.toISOString(),
    ttlSeconds,
    expiresAt: epochSeconds(now) + ttlSeconds,
    ...(command.idempotency === undefined || key === undefined
      ? {}
      : { requestHash: command.idempotency.fingerprint, idempotencyKey: key }),
  };
}
