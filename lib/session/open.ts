import { isAvailable } from "../config/availability.ts";
import { NoAgentAvailableError, UnknownServiceError } from "../errors.ts";
import type { Deps, Session } from "../storage.ts";
import type { TextMap } from "../text.ts";
import { epochSeconds } from "../time.ts";
import { type Idempotency, replayed, sessionIdFor } from "./idempotency.ts";
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
  readonly sessions: Pick<Deps["sessions"], "create" | "get">;
  readonly now: Deps["now"];
};

/**
 * request-chat: opens a basic chat session: one read round (the service and its endpoint's availability; with an
 * Idempotency-Key also the session a retry would find) and one insert-only write; only a write that
 * loses a race (or was applied by an attempt that timed out) reads once more.
 */
export async function openSession(deps: OpenSessionDeps, command: OpenSessionCommand): Promise<OpenSessionView> {
  const { serviceName, idempotency, verbose, basePath } = command;
  const id = sessionIdFor(serviceName, idempotency);
  const [{ service, notification, presence }, previous] = await Promise.all([
    deps.config.loadServiceRoute(serviceName),
    idempotency ? deps.sessions.get(id) : undefined,
  ]);
  const now = deps.now();
  if (previous !== undefined) return openSessionView(replayed(previous, idempotency?.fingerprint, now), verbose, basePath);
  if (service === undefined) throw new UnknownServiceError();
  if (!isAvailable(notification, presence, now)) throw new NoAgentAvailableError();

  const ttlSeconds = command.ttlSeconds ?? service.ttlSeconds;
  const session: Session = {
    id,
    serviceName: service.name,
    chatEndpoint: service.chatEndpoint,
    data: command.data,
    createdAt: now.toISOString(),
    ttlSeconds,
    expiresAt: epochSeconds(now) + ttlSeconds,
    ...(idempotency === undefined ? {} : { requestHash: idempotency.fingerprint }),
  };
  const outcome = await deps.sessions.create(session);
  if (outcome.stored) return openSessionView(session, verbose, basePath);
  // A concurrent retry with the same Idempotency-Key stored it first.
  return openSessionView(replayed(outcome.existing, idempotency?.fingerprint, now), verbose, basePath);
}
