import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { AgentPresence, AvailabilityNotification, ConfigStore, ServiceConfig, ServiceRoute } from "../storage.ts";
import { conditionalWrite, queryAll, storageCall } from "./client.ts";
import { CONFIG_PARTITION, CONFIG_PARTITION_KEY, CONFIG_SORT_KEY } from "./tables.ts";

const SERVICE_PREFIX = "service#";
const AVAILABILITY_PREFIX = "availability#";
/** `presence#<endpoint>#<agent>`: endpoints and agent ids never contain `#`, so prefixes cannot collide. */
const presenceKey = (endpoint: string, agentId: string) => `presence#${endpoint}#${agentId}`;

type Item = Record<string, unknown>;

/**
 * Services, notifications and agent presence live in one partition. `loadServiceRoute` reads the
 * whole partition with one strongly consistent Query: a deployment holds a handful of services and
 * endpoints and its ready agents (about 40 items per 4 KB, i.e. per read unit), and the service's
 * endpoint is only known once the service is read, so this is the only way to get all three in a
 * single round. Presence items carry `expiresAt`, so DynamoDB's TTL also clears lapsed ones.
 */
export class DynamoConfigStore implements ConfigStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async loadServiceRoute(serviceName: string): Promise<ServiceRoute> {
    const items = await this.queryPartition();
    const service = items.find((item) => item[CONFIG_SORT_KEY] === SERVICE_PREFIX + serviceName);
    if (service === undefined) return { service: undefined, notification: undefined, presence: [] };
    const config = toService(service);
    const notification = items.find((item) => item[CONFIG_SORT_KEY] === AVAILABILITY_PREFIX + config.chatEndpoint);
    const presencePrefix = presenceKey(config.chatEndpoint, "");
    const presence = items.filter((item) => String(item[CONFIG_SORT_KEY]).startsWith(presencePrefix)).map(toPresence);
    return { service: config, notification: notification && toNotification(notification), presence };
  }

  async putPresence(presence: AgentPresence): Promise<void> {
    await this.put({ ...key(presenceKey(presence.endpoint, presence.agentId)), ...presence });
  }

  async deletePresence(endpoint: string, agentId: string): Promise<void> {
    await this.delete(presenceKey(endpoint, agentId));
  }

  async getPresence(endpoint: string, agentId: string): Promise<AgentPresence | undefined> {
    const item = await this.get(presenceKey(endpoint, agentId));
    return item && toPresence(item);
  }

  async listPresence(endpoint: string): Promise<AgentPresence[]> {
    return (await this.queryPartition(presenceKey(endpoint, ""))).map(toPresence);
  }

  async getService(name: string): Promise<ServiceConfig | undefined> {
    const item = await this.get(SERVICE_PREFIX + name);
    return item && toService(item);
  }

  async listServices(): Promise<ServiceConfig[]> {
    return (await this.queryPartition(SERVICE_PREFIX)).map(toService);
  }

  async putService(config: ServiceConfig): Promise<boolean> {
    return (await this.put(serviceItem(config))) === undefined;
  }

  createServiceIfAbsent(config: ServiceConfig): Promise<boolean> {
    return this.insert(serviceItem(config));
  }

  async deleteService(name: string): Promise<boolean> {
    return (await this.delete(SERVICE_PREFIX + name)) !== undefined;
  }

  async getNotification(endpoint: string): Promise<AvailabilityNotification | undefined> {
    const item = await this.get(AVAILABILITY_PREFIX + endpoint);
    return item && toNotification(item);
  }

  async putNotification(notification: AvailabilityNotification): Promise<void> {
    await this.put(notificationItem(notification));
  }

  createNotificationIfAbsent(notification: AvailabilityNotification): Promise<boolean> {
    return this.insert(notificationItem(notification));
  }

  private async get(sortKey: string): Promise<Item | undefined> {
    const { Item } = await storageCall(() =>
      this.client.send(new GetCommand({ TableName: this.table, Key: key(sortKey), ConsistentRead: true })),
    );
    return Item;
  }

  /** Writes the item; resolves the one it replaced, if any. */
  private async put(item: Item): Promise<Item | undefined> {
    const { Attributes } = await storageCall(() =>
      this.client.send(new PutCommand({ TableName: this.table, Item: item, ReturnValues: "ALL_OLD" })),
    );
    return Attributes;
  }

  /** Deletes the item; resolves the one it removed, if any. */
  private async delete(sortKey: string): Promise<Item | undefined> {
    const { Attributes } = await storageCall(() =>
      this.client.send(new DeleteCommand({ TableName: this.table, Key: key(sortKey), ReturnValues: "ALL_OLD" })),
    );
    return Attributes;
  }

  private insert(item: Item): Promise<boolean> {
    return conditionalWrite(() =>
      this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: "attribute_not_exists(#sk)",
          ExpressionAttributeNames: { "#sk": CONFIG_SORT_KEY },
        }),
      ),
    );
  }

  /** The config partition, or the part of it whose sort keys start with `prefix`. */
  private queryPartition(prefix?: string): Promise<Item[]> {
    const byPrefix = prefix !== undefined;
    return queryAll(this.client, {
      TableName: this.table,
      ConsistentRead: true,
      KeyConditionExpression: byPrefix ? "#pk = :pk AND begins_with(#sk, :prefix)" : "#pk = :pk",
      ExpressionAttributeNames: { "#pk": CONFIG_PARTITION_KEY, ...(byPrefix && { "#sk": CONFIG_SORT_KEY }) },
      ExpressionAttributeValues: { ":pk": CONFIG_PARTITION, ...(byPrefix && { ":prefix": prefix }) },
    });
  }
}

function key(sortKey: string): Item {
  return { [CONFIG_PARTITION_KEY]: CONFIG_PARTITION, [CONFIG_SORT_KEY]: sortKey };
}

function serviceItem(config: ServiceConfig): Item {
  return { ...key(SERVICE_PREFIX + config.name), ...config };
}

function notificationItem(notification: AvailabilityNotification): Item {
  return { ...key(AVAILABILITY_PREFIX + notification.endpoint), ...notification };
}

function toService(item: Item): ServiceConfig {
  return {
    name: String(item.name),
    ttlSeconds: Number(item.ttlSeconds),
    chatEndpoint: String(item.chatEndpoint),
    updatedAt: String(item.updatedAt),
  };
}

function toNotification(item: Item): AvailabilityNotification {
  const notification = { endpoint: String(item.endpoint), available: item.available === true, updatedAt: String(item.updatedAt) };
  return typeof item.expiresAt === "number" ? { ...notification, expiresAt: item.expiresAt } : notification;
}

function toPresence(item: Item): AgentPresence {
  return {
    agentId: String(item.agentId),
    endpoint: String(item.endpoint),
    nickname: String(item.nickname),
    expiresAt: Number(item.expiresAt),
  };
}
