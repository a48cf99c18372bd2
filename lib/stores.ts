import type { AvailabilityNotification } from "./availability.ts";
import type { AgentPresence } from "./presence.ts";
import type { ServiceConfig } from "./services.ts";
import type { Session } from "./session.ts";

/** A service with the availability notification and agent presence of its chat endpoint, read together in one round. */
export interface ServiceRoute {
  readonly service: ServiceConfig | undefined;
  readonly notification: AvailabilityNotification | undefined;
  readonly presence: readonly AgentPresence[];
}

/** Service configuration and availability notifications. Reads are strongly consistent: a change
 * applies to the very next request. */
export interface ConfigStore {
  loadServiceRoute(serviceName: string): Promise<ServiceRoute>;
  getService(name: string): Promise<ServiceConfig | undefined>;
  listServices(): Promise<ServiceConfig[]>;
  /** Replaces the configuration; resolves true when the service did not exist before. */
  putService(config: ServiceConfig): Promise<boolean>;
  /** Creates the service only if it does not exist; resolves true when it was created. */
  createServiceIfAbsent(config: ServiceConfig): Promise<boolean>;
  /** Resolves true when a service was deleted. */
  deleteService(name: string): Promise<boolean>;
  getNotification(endpoint: string): Promise<AvailabilityNotification | undefined>;
  putNotification(notification: AvailabilityNotification): Promise<void>;
  /** Writes the notification only if the endpoint has none; resolves true when it was written. */
  createNotificationIfAbsent(notification: AvailabilityNotification): Promise<boolean>;
  putPresence(presence: AgentPresence): Promise<void>;
  deletePresence(endpoint: string, agentId: string): Promise<void>;
  getPresence(endpoint: string, agentId: string): Promise<AgentPresence | undefined>;
  /** Presence records of an endpoint, lapsed ones included. */
  listPresence(endpoint: string): Promise<AgentPresence[]>;
}

export interface SessionStore {
  /**
   * Insert-only: never overwrites. Resolves `stored` when this call stored the session (including
   * when an earlier attempt of the same call did, and the SDK's retry found it there); otherwise
   * with what another request had already stored under this id (undefined if it is gone again).
   */
  create(session: Session): Promise<{ readonly stored: true } | { readonly stored: false; readonly existing: Session | undefined }>;
  /** Strongly consistent read of a session, expired or not. */
  get(id: string): Promise<Session | undefined>;
}
