import { BadRequestError, NotFoundError } from "./http/errors.ts";
import type { Fields } from "./http/decode.ts";
import { parseTtlSeconds } from "./options.ts";

/** A configured basic chat service (GMS service options `_ttl` and `_chat_endpoint`). */
export interface ServiceConfig {
  readonly name: string;
  readonly ttlSeconds: number;
  readonly chatEndpoint: string;
  readonly updatedAt: string;
}

export type ServiceOptions = Pick<ServiceConfig, "ttlSeconds" | "chatEndpoint">;

export const DEFAULT_SERVICE_NAME = "request-chat";
export const DEFAULT_OPTIONS: ServiceOptions = { ttlSeconds: 3600, chatEndpoint: "gms_builtin" };

/** request-chat, and the admin API, on a name that has no service. */
export function serviceNotFound(): NotFoundError {
  return new NotFoundError("No basic chat service is configured with this name");
}

const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** Chat Server endpoints look like `gms_builtin` or `Environment:default`. */
const CHAT_ENDPOINT = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;

export function isServiceName(name: string): boolean {
  return SERVICE_NAME.test(name);
}

function isChatEndpoint(endpoint: string): boolean {
  return CHAT_ENDPOINT.test(endpoint);
}

export function requireServiceName(name: string): string {
  if (!isServiceName(name)) {
    throw new BadRequestError("Service name must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");
  }
  return name;
}

export function requireChatEndpoint(endpoint: string, what = "_chat_endpoint"): string {
  if (!isChatEndpoint(endpoint)) {
    throw new BadRequestError(`${what} must be 1-128 letters, digits, '.', '_', ':', '@' or '-', starting with a letter or digit`);
  }
  return endpoint;
}

const OPTION_KEYS = new Set(["_ttl", "_chat_endpoint"]);

/**
 * The options of an admin PUT. PUT replaces the whole configuration, so an omitted option takes its
 * default; an unknown key is refused so that a typo (`_tll`) is not silently ignored.
 */
export function parseServiceOptions(fields: Fields): ServiceOptions {
  for (const key of Object.keys(fields)) {
    if (!OPTION_KEYS.has(key)) throw new BadRequestError("Unknown service option; expected _ttl and/or _chat_endpoint");
  }
  return {
    ttlSeconds: fields._ttl === undefined ? DEFAULT_OPTIONS.ttlSeconds : parseTtlSeconds(fields._ttl),
    chatEndpoint: fields._chat_endpoint === undefined ? DEFAULT_OPTIONS.chatEndpoint : requireChatEndpoint(fields._chat_endpoint.trim()),
  };
}

export function serviceView(config: ServiceConfig) {
  return { name: config.name, _ttl: config.ttlSeconds, _chat_endpoint: config.chatEndpoint, updatedAt: config.updatedAt };
}
