import type {
  AgentPresence,
  AvailabilityNotification,
  ConfigStore,
  IdempotencyRecord,
  ServiceConfig,
  ServiceRoute,
  Session,
  SessionStore,
} from "../../lib/storage.ts";

/**
 * In-memory stores with the adapters' semantics, for the property tests that push tens of thousands
 * of generated requests through the handler: there the subject is input handling, and the DynamoDB
 * adapters are proved separately against dynalite.
 */
export class MemoryConfigStore implements ConfigStore {
  readonly services = new Map<string, ServiceConfig>();
  readonly notifications = new Map<string, AvailabilityNotification>();

  readonly presence = new Map<string, AgentPresence>();

  async loadServiceRoute(serviceName: string): Promise<ServiceRoute> {
    const service = this.services.get(serviceName);
    return { service, availability: this.availability(service?.chatEndpoint) };
  }
  /** Exact: until the latest presence of the endpoint lapses. */
  private availability(endpoint: string | undefined) {
    const presence = [...this.presence.values()].filter((p) => p.endpoint === endpoint);
    return {
      notification: endpoint === undefined ? undefined : this.notifications.get(endpoint),
      readyUntil: Math.max(0, ...presence.map((p) => p.expiresAt)),
    };
  }
  async endpointAvailability(endpoint: string, now: number) {
    const readyAgents = [...this.presence.values()].filter((p) => p.endpoint === endpoint && p.expiresAt > now).length;
    return { ...this.availability(endpoint), readyAgents };
  }
  async putPresence(presence: AgentPresence) {
    this.presence.set(`${presence.endpoint}#${presence.agentId}`, presence);
  }
  async deletePresence(endpoint: string, agentId: string) {
    this.presence.delete(`${endpoint}#${agentId}`);
  }
  async getPresence(endpoint: string, agentId: string) {
    return this.presence.get(`${endpoint}#${agentId}`);
  }
  async getService(name: string) {
    return this.services.get(name);
  }
  async listServices() {
    return [...this.services.values()];
  }
  async putService(config: ServiceConfig) {
    const created = !this.services.has(config.name);
    this.services.set(config.name, config);
    return created;
  }
  async createServiceIfAbsent(config: ServiceConfig) {
    if (this.services.has(config.name)) return false;
    this.services.set(config.name, config);
    return true;
  }
  async deleteService(name: string) {
    return this.services.delete(name);
  }
  async getNotification(endpoint: string) {
    return this.notifications.get(endpoint);
  }
  async putNotification(notification: AvailabilityNotification) {
    this.notifications.set(notification.endpoint, notification);
  }
  async createNotificationIfAbsent(notification: AvailabilityNotification) {
    if (this.notifications.has(notification.endpoint)) return false;
    this.notifications.set(notification.endpoint, notification);
    return true;
  }
}

/** The part of the session store request-chat uses. */
export class MemorySessionStore implements Pick<SessionStore, "create" | "get" | "getIdempotency" | "putIdempotency"> {
  readonly sessions = new Map<string, Session>();
  readonly keys = new Map<string, IdempotencyRecord>();

  async create(session: Session) {
    const existing = this.sessions.get(session.id);
    if (existing !== undefined) return { stored: false as const, existing };
    this.sessions.set(session.id, structuredClone(session));
    return { stored: true as const };
  }
  async get(id: string) {
    return this.sessions.get(id);
  }
  async getIdempotency(key: string) {
    return this.keys.get(key);
  }
  async putIdempotency(record: IdempotencyRecord) {
    const inForce = this.keys.get(record.key) ?? record;
    this.keys.set(record.key, inForce);
    return inForce;
  }
}
