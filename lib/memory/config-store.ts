import type { AvailabilityNotification, ConfigStore, EndpointAvailability, ServiceConfig, ServiceRoute } from "../storage.ts";
import type { MemoryAgentStore } from "./agent-store.ts";

/**
 * Services and availability notifications in memory, with the DynamoDB adapter's observable
 * semantics (the store contract suite, tests/contract/, runs against both). Availability is exact
 * here: an endpoint is ready until the latest presence of the agents ready on it lapses (the memory
 * agent store's), where the DynamoDB adapter keeps a copy of that time with each service.
 */
export class MemoryConfigStore implements ConfigStore {
  private readonly services = new Map<string, ServiceConfig>();
  private readonly notifications = new Map<string, AvailabilityNotification>();

  constructor(private readonly agents: MemoryAgentStore) {}

  async loadServiceRoute(serviceName: string): Promise<ServiceRoute> {
    const service = this.services.get(serviceName);
    if (service === undefined) return { service: undefined, availability: { notification: undefined, readyUntil: 0 } };
    return { service: { ...service }, availability: this.availability(service.chatEndpoint) };
  }

  async getService(name: string): Promise<ServiceConfig | undefined> {
    const service = this.services.get(name);
    return service && { ...service };
  }

  async listServices(): Promise<ServiceConfig[]> {
    return [...this.services.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((service) => ({ ...service }));
  }

  async putService(config: ServiceConfig): Promise<boolean> {
    const created = !this.services.has(config.name);
    this.services.set(config.name, { ...config });
    return created;
  }

  async createServiceIfAbsent(config: ServiceConfig): Promise<boolean> {
    if (this.services.has(config.name)) return false;
    this.services.set(config.name, { ...config });
    return true;
  }

  async deleteService(name: string): Promise<boolean> {
    return this.services.delete(name);
  }

  async getNotification(endpoint: string): Promise<AvailabilityNotification | undefined> {
    const notification = this.notifications.get(endpoint);
    return notification && { ...notification };
  }

  async putNotification(notification: AvailabilityNotification): Promise<void> {
    this.notifications.set(notification.endpoint, { ...notification });
  }

  async createNotificationIfAbsent(notification: AvailabilityNotification): Promise<boolean> {
    if (this.notifications.has(notification.endpoint)) return false;
    this.notifications.set(notification.endpoint, { ...notification });
    return true;
  }

  async endpointAvailability(endpoint: string): Promise<EndpointAvailability> {
    return this.availability(endpoint);
  }

  private availability(endpoint: string): EndpointAvailability {
    const notification = this.notifications.get(endpoint);
    return { notification: notification && { ...notification }, readyUntil: this.agents.readyUntil(endpoint) };
  }
}
