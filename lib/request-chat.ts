import { isInForce } from "./availability.ts";
import { splitContextData } from "./context-data.ts";
import type { Fields } from "./http/decode.ts";
import { NoAgentAvailableError, NotFoundError } from "./http/errors.ts";
import { epochSeconds, isVerbose, parseTtlSeconds } from "./options.ts";
import { isServiceName } from "./services.ts";
import { createUrl, type Session } from "./session.ts";
import type { ConfigStore, SessionStore } from "./stores.ts";

export interface RequestChatDeps {
  readonly config: ConfigStore;
  readonly sessions: SessionStore;
  readonly now: () => Date;
  readonly newId: () => string;
}

/**
 * `POST /genesys/1/service/{service-name}`: opens a basic chat session. Input is validated before any
 * storage call, so bad input costs nothing and stores nothing. Then one read round (the service and
 * its endpoint's availability) and one insert-only write.
 */
export async function requestChat(deps: RequestChatDeps, serviceName: string, fields: Fields) {
  const { control, data } = splitContextData(fields);
  const requestedTtl = control._ttl === undefined ? undefined : parseTtlSeconds(control._ttl);
  if (!isServiceName(serviceName)) throw unknownService();

  const { service, notification } = await deps.config.loadServiceRoute(serviceName);
  if (service === undefined) throw unknownService();
  const now = deps.now();
  if (!isInForce(notification, now)) throw new NoAgentAvailableError();

  const ttlSeconds = requestedTtl ?? service.ttlSeconds;
  const session: Session = {
    id: deps.newId(),
    serviceName: service.name,
    chatEndpoint: service.chatEndpoint,
    data,
    createdAt: now.toISOString(),
    ttlSeconds,
    expiresAt: epochSeconds(now) + ttlSeconds,
  };
  await deps.sessions.create(session);

  const answer = { "_chatIxnAPI-CREATE-URL": createUrl(session.id), _id: session.id };
  if (!isVerbose(control._verbose)) return answer;
  // GMS documents "all detailed attributes" for _verbose; business keys never start with "_", so
  // they cannot collide with the reserved keys.
  return {
    ...session.data,
    ...answer,
    _service_name: session.serviceName,
    _chat_endpoint: session.chatEndpoint,
    _created_at: session.createdAt,
    _ttl: String(session.ttlSeconds),
    _expires_at: new Date(session.expiresAt * 1000).toISOString(),
  };
}

function unknownService(): NotFoundError {
  return new NotFoundError("No basic chat service is configured with this name");
}
