import type { APIGatewayProxyEvent } from "aws-lambda";
import { serviceNameOrUnknown } from "../../config/services.ts";
import { InvalidInputError } from "../../errors.ts";
import type { StorageSequence } from "../../sequence.ts";
import { splitContextData } from "../../session/context-data.ts";
import { requestFingerprint } from "../../session/idempotency.ts";
import { type OpenSessionCommand, type OpenSessionDeps, openSession } from "../../session/open.ts";
import { publicBasePath } from "../base-path.ts";
import { decodeFields, header } from "../decode.ts";
import { isVerbose, parseTtlSeconds, pathParameter } from "../fields.ts";
import { type HttpOptions, httpHandler } from "../respond.ts";

/**
 * The longest sequence of storage calls one request makes: the service's route beside (with an
 * Idempotency-Key) the key's record, the key recorded, then the insert-only write of the session.
 */
export const LONGEST_STORAGE_SEQUENCE: StorageSequence = [
  ["config.loadServiceRoute", "sessions.getIdempotency"],
  "sessions.putIdempotency",
  "sessions.create",
];

/**
 * `POST /genesys/1/service/{service}`: the request-chat function's route (its Lambda entry is
 * handlers/request-chat.ts; the operation is lib/session/open.ts).
 */
export function requestChatHandler(deps: OpenSessionDeps & HttpOptions) {
  return httpHandler(async (event) => ({ status: 200, body: await openSession(deps, await parseRequestChat(event)) }), deps);
}

/** Everything is checked before storage is asked anything: bad input costs nothing and stores nothing. */
async function parseRequestChat(event: APIGatewayProxyEvent): Promise<OpenSessionCommand> {
  const key = parseIdempotencyKey(header(event, "idempotency-key"));
  const fields = await decodeFields(event);
  const { control, data } = splitContextData(fields);
  const ttlSeconds = control._ttl === undefined ? undefined : parseTtlSeconds(control._ttl);
  const verbose = isVerbose(control._verbose);
  const serviceName = serviceNameOrUnknown(pathParameter(event, "service"));
  return {
    serviceName,
    data,
    ttlSeconds,
    verbose,
    idempotency:
      key === undefined ? undefined : { key, user: header(event, "gms_user"), fingerprint: requestFingerprint(serviceName, fields) },
    basePath: publicBasePath(event),
  };
}

const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/;

/** `Idempotency-Key`: 1-255 visible ASCII characters; a client should send a UUID per request (lib/session/idempotency.ts). */
function parseIdempotencyKey(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const key = raw.trim();
  if (!KEY_FORMAT.test(key)) throw new InvalidInputError("Idempotency-Key must be 1-255 visible ASCII characters");
  return key;
}
