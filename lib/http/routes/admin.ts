import type { APIGatewayProxyEvent } from "aws-lambda";
import { requireAgentId } from "../../agents/presence.ts";
import {
  DEFAULT_MAX_CHATS,
  deleteProfile,
  getAgent,
  listAgents,
  PROFILE_PAGE,
  type ProfileDeps,
  type ProfileOptions,
  putProfile,
  requireEndpoints,
  requireMaxChats,
} from "../../agents/profile.ts";
import { type AvailabilityDeps, availabilityOf, type NotifyCommand, notifyAvailability } from "../../config/availability.ts";
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
import {
  DEFAULT_SETTINGS,
  type EndpointDeps,
  endpointView,
  putEndpoint,
  requireOfferTimeout,
  requireRouting,
  type SettingsCommand,
} from "../../routing/settings.ts";
import type { StorageSequence } from "../../sequence.ts";
import type { ConfigDeps } from "../../storage.ts";
import { epochSeconds } from "../../time.ts";
import { callerOf, requireAdmin } from "../caller.ts";
import { decodeFields, type Fields } from "../decode.ts";
import { onlyKeys, parseTtlSeconds, pathParameter } from "../fields.ts";
import { dispatch, type HttpHandler, type HttpOptions, httpHandler } from "../respond.ts";

/**
 * The longest sequence of storage calls one request makes: a service written, with its endpoint's
 * availability. (A profile is one write: a ready agent follows it in the router function.)
 */
export const LONGEST_STORAGE_SEQUENCE: StorageSequence = ["config.putService"];

/** What the admin function's routes run on. */
export type AdminDeps = ConfigDeps & ProfileDeps & Omit<EndpointDeps, "readyAgents"> & HttpOptions;

/**
 * The admin function's routes under `/genesys/1/admin/` (its Lambda entry is handlers/admin.ts).
 * The admin authorizer (lib/http/authorizer.ts) checks the credentials before the function runs:
 * a person's access token (the admin group), or the stage's API key for machine callers; the
 * function refuses anyone else (lib/http/caller.ts). The operations are lib/config/ (services,
 * availability), lib/agents/profile.ts (agents) and lib/routing/settings.ts (endpoints).
 */
export function adminHandler(deps: AdminDeps) {
  const availability: AvailabilityDeps = { ...deps, readyAgents: (endpoint, now) => deps.agents.readyAgents(endpoint, now) };
  const endpoints: EndpointDeps = { ...deps, ...availability };
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
      GET: async (event) => ({ status: 200, body: await availabilityOf(availability, endpointOf(event)) }),
      PUT: async (event) => {
        const endpoint = endpointOf(event);
        return { status: 200, body: await notifyAvailability(availability, parseNotification(endpoint, await decodeFields(event))) };
      },
    },
    "/genesys/1/admin/endpoints/{endpoint}": {
      GET: async (event) => ({ status: 200, body: await endpointView(endpoints, endpointOf(event)) }),
      PUT: async (event) => {
        const endpoint = endpointOf(event);
        return { status: 200, body: await putEndpoint(endpoints, endpoint, parseEndpointSettings(await decodeFields(event))) };
      },
    },
    "/genesys/1/admin/agents": {
      GET: async (event) => ({ status: 200, body: await listAgents(deps, parseAgentPage(await decodeFields(event))) }),
    },
    "/genesys/1/admin/agents/{agentId}": {
      GET: async (event) => ({ status: 200, body: await getAgent(deps, requireAgentId(pathParameter(event, "agentId"))) }),
      PUT: async (event) => {
        const agentId = requireAgentId(pathParameter(event, "agentId"));
        const { created, agent } = await putProfile(deps, agentId, parseProfile(await decodeFields(event)));
        return { status: created ? 201 : 200, body: agent };
      },
      DELETE: async (event) => {
        await deleteProfile(deps, requireAgentId(pathParameter(event, "agentId")));
        return { status: 204 };
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

/** `endpoints` (required: names separated by commas) and `maxChats` (default 1). PUT replaces the whole profile. */
export function parseProfile(fields: Fields): ProfileOptions {
  onlyKeys(fields, ["endpoints", "maxChats"], "Unknown field; expected endpoints and maxChats");
  if (fields.endpoints === undefined) throw new InvalidInputError("endpoints is required: the chat endpoints the agent serves");
  return {
    endpoints: requireEndpoints(fields.endpoints),
    maxChats: fields.maxChats === undefined ? DEFAULT_MAX_CHATS : requireMaxChats(fields.maxChats),
  };
}

/** `routing` (`offer` or `pick`) and `offerTimeout` (seconds); each absent one takes its default. */
export function parseEndpointSettings(fields: Fields): SettingsCommand {
  onlyKeys(fields, ["routing", "offerTimeout"], "Unknown field; expected routing and offerTimeout");
  return {
    routing: fields.routing === undefined ? DEFAULT_SETTINGS.routing : requireRouting(fields.routing),
    offerTimeout: fields.offerTimeout === undefined ? DEFAULT_SETTINGS.offerTimeout : requireOfferTimeout(fields.offerTimeout),
  };
}

const CURSOR = /^[A-Za-z0-9_-]{1,128}$/;

function parseAgentPage(fields: Fields): { limit: number; after: string | undefined } {
  onlyKeys(fields, ["limit", "after"], "Unknown field; expected limit and after");
  const limitText = (fields.limit ?? "").trim();
  const limit = limitText === "" ? PROFILE_PAGE.default : Number(limitText);
  if (!/^\d{1,3}$/.test(limitText || "0") || !Number.isInteger(limit) || limit < 1 || limit > PROFILE_PAGE.max) {
    throw new InvalidInputError(`limit must be a whole number from 1 to ${PROFILE_PAGE.max}`);
  }
  const after = fields.after?.trim() || undefined;
  if (after !== undefined && !CURSOR.test(after)) throw new InvalidInputError("after must be the next value of a page of agents");
  return { limit, after };
}
