import type { APIGatewayProxyEvent } from "aws-lambda";
import { availabilityOf, type NotifyCommand, notifyAvailability } from "../../config/availability.ts";
import {
  DEFAULT_OPTIONS,
  deleteService,
  getService,
  listServices,
  putService,
  requireChatEndpoint,
  requireServiceName,
  type ServiceOptions,
  serviceNameOrUnknown,
} from "../../config/services.ts";
import { InvalidInputError } from "../../errors.ts";
import type { StorageSequence } from "../../sequence.ts";
import type { ConfigDeps } from "../../storage.ts";
import { epochSeconds } from "../../time.ts";
import { callerOf, requireAdmin } from "../caller.ts";
import { decodeFields, type Fields } from "../decode.ts";
import { onlyKeys, parseTtlSeconds, pathParameter } from "../fields.ts";
import { dispatch, type HttpHandler, type HttpOptions, httpHandler } from "../respond.ts";

/** The longest sequence of storage calls one request makes: a service written, with its endpoint's availability. */
export const LONGEST_STORAGE_SEQUENCE: StorageSequence = ["config.putService"];

/**
 * The admin function's routes under `/genesys/1/admin/` (its Lambda entry is handlers/admin.ts).
 * The admin authorizer (lib/http/authorizer.ts) checks the credentials before the function runs:
 * a person's access token (the admin group), or the stage's API key for machine callers; the
 * function refuses anyone else (lib/http/caller.ts). The operations are lib/config/.
 */
export function adminHandler(deps: ConfigDeps & HttpOptions & { readonly now: () => Date }) {
  const routes = dispatch({
    "/genesys/1/admin/services": {
      GET: async () => ({ status: 200, body: { services: await listServices(deps) } }),
    },
    "/genesys/1/admin/services/{name}": {
      GET: async (event) => ({ status: 200, body: await getService(deps, serviceNameOrUnknown(pathParameter(event, "name"))) }),
      PUT: async (event) => {
        const name = requireServiceName(pathParameter(event, "name"));
        const { created, service } = await putService(deps, name, parseServiceOptions(await decodeFields(event)));
        return { status: created ? 201 : 200, body: service };
      },
      DELETE: async (event) => {
        await deleteService(deps, serviceNameOrUnknown(pathParameter(event, "name")));
        return { status: 204 };
      },
    },
    "/genesys/1/admin/availability/{endpoint}": {
      GET: async (event) => ({ status: 200, body: await availabilityOf(deps, endpointOf(event)) }),
      PUT: async (event) => {
        const endpoint = endpointOf(event);
        return { status: 200, body: await notifyAvailability(deps, parseNotification(endpoint, await decodeFields(event))) };
      },
    },
  });
  const guarded: HttpHandler = (event) => {
    requireAdmin(callerOf(event, epochSeconds(deps.now())));
    return routes(event);
  };
  return httpHandler(guarded, deps);
}

function endpointOf(event: APIGatewayProxyEvent): string {
  return requireChatEndpoint(pathParameter(event, "endpoint"), "The chat endpoint");
}

/**
 * The options of an admin PUT. PUT replaces the whole configuration, so an omitted option takes its
 * default; an unknown key is refused so that a typo (`_tll`) is not silently ignored.
 */
export function parseServiceOptions(fields: Fields): ServiceOptions {
  onlyKeys(fields, ["_ttl", "_chat_endpoint"], "Unknown service option; expected _ttl and/or _chat_endpoint");
  return {
    ttlSeconds: fields._ttl === undefined ? DEFAULT_OPTIONS.ttlSeconds : parseTtlSeconds(fields._ttl),
    chatEndpoint: fields._chat_endpoint === undefined ? DEFAULT_OPTIONS.chatEndpoint : requireChatEndpoint(fields._chat_endpoint.trim()),
  };
}

/** `available` (true or false), and optionally `_ttl`: how long the notification stays in force. */
export function parseNotification(endpoint: string, fields: Fields): NotifyCommand {
  onlyKeys(fields, ["available", "_ttl"], "Unknown field; expected available and optionally _ttl");
  const available = fields.available?.trim().toLowerCase();
  if (available !== "true" && available !== "false") throw new InvalidInputError("available must be true or false");
  return { endpoint, available: available === "true", ttlSeconds: fields._ttl === undefined ? undefined : parseTtlSeconds(fields._ttl) };
}
