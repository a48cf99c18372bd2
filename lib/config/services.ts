import { InvalidInputError, UnknownServiceError } from "../errors.ts";
import type { ConfigDeps, ServiceConfig } from "../storage.ts";

export type ServiceOptions = Pick<ServiceConfig, "ttlSeconds" | "chatEndpoint">;

export const DEFAULT_SERVICE_NAME = "request-chat";
export const DEFAULT_OPTIONS: ServiceOptions = { ttlSeconds: 3600, chatEndpoint: "gms_builtin" };

const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** Chat Server endpoints look like `gms_builtin` or `Environment:default`. */
const CHAT_ENDPOINT = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;

export function isServiceName(name: string): boolean {
  return SERVICE_NAME.test(name);
}

export function requireServiceName(name: string): string {
  if (!isServiceName(name)) {
    throw new InvalidInputError("Service name must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");
  }
  return name;
}

/** A name no service can have (too long, odd characters) is unknown, without asking storage. */
export function serviceNameOrUnknown(name: string): string {
  if (!isServiceName(name)) throw new UnknownServiceError();
  return name;
}

/** Whether `endpoint` can name a Chat Server endpoint. */
export function isChatEndpoint(endpoint: string): boolean {
  return CHAT_ENDPOINT.test(endpoint);
}

/** `what` names the field in the message: `_chat_endpoint`, `endpoint`, "The chat endpoint". */
export function requireChatEndpoint(endpoint: string, what = "_chat_endpoint"): string {
  if (!isChatEndpoint(endpoint)) {
    throw new InvalidInputError(`${what} must be 1-128 letters, digits, '.', '_', ':', '@' or '-', starting with a letter or digit`);
  }
  return endpoint;
}

/** What the admin API shows of a service: its options under their GMS names. */
export interface ServiceView {
  readonly name: string;
  readonly _ttl: number;
  readonly _chat_endpoint: string;
  readonly updatedAt: string;
}

function serviceView(config: ServiceConfig): ServiceView {
  return { name: config.name, _ttl: config.ttlSeconds, _chat_endpoint: config.chatEndpoint, updatedAt: config.updatedAt };
}

export async function listServices(deps: ConfigDeps): Promise<ServiceView[]> {
  return (await deps.config.listServices()).map(serviceView);
}

export async function getService(deps: ConfigDeps, name: string): Promise<ServiceView> {
  const service = await deps.config.getService(name);
  if (service === undefined) throw new UnknownServiceError();
  return serviceView(service);
}

/** Replaces a service's whole configuration (options apply to the very next request); `created` when it is new. */
export async function putService(
  deps: ConfigDeps,
  name: string,
  options: ServiceOptions,
): Promise<{ readonly created: boolean; readonly service: ServiceView }> {
  const config = { name, ...options, updatedAt: deps.now().toISOString() };
  const created = await deps.config.putService(config);
  return { created, service: serviceView(config) };
}

export async function deleteService(deps: ConfigDeps, name: string): Promise<void> {
  if (!(await deps.config.deleteService(name))) throw new UnknownServiceError();
}
