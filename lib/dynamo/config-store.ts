import { randomUUID } from "node:crypto";
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { AvailabilityNotification, ConfigStore, EndpointAvailability, ServiceConfig, ServiceRoute } from "../storage.ts";
import { ConfigTable, copyOf, type Item, key, memberKey, serviceKey, toNotification } from "./availability.ts";
import { conditionalWrite } from "./client.ts";
import { CONFIG_SORT_KEY as SK } from "./tables.ts";

/**
 * Services and availability notifications, in the config table (its layout: lib/dynamo/availability.ts).
 * request-chat reads one item, the service's, which carries a copy of its endpoint's availability.
 */
const REGISTRY = "services";
const registryKey = (name: string) => key(REGISTRY, name);

export class DynamoConfigStore implements ConfigStore {
  private readonly config: ConfigTable;

  constructor(client: DynamoDBDocumentClient, table: string) {
    this.config = new ConfigTable(client, table);
  }

  private get client() {
    return this.config.client;
  }

  private get table() {
    return this.config.table;
  }

  async loadServiceRoute(serviceName: string): Promise<ServiceRoute> {
    const item = await this.config.get(serviceKey(serviceName));
    if (item === undefined) return { service: undefined, availability: { notification: undefined, readyUntil: 0 } };
    const copy = item.availability as Item | undefined;
    return {
      service: toService(item),
      availability: {
        notification: toNotification(String(item.chatEndpoint), copy?.notification),
        readyUntil: Number(copy?.readyUntil ?? 0),
      },
    };
  }

  async getService(name: string): Promise<ServiceConfig | undefined> {
    const item = await this.config.get(serviceKey(name));
    return item && toService(item);
  }

  async listServices(): Promise<ServiceConfig[]> {
    return (await this.config.query(REGISTRY)).map(toService);
  }

  putService(config: ServiceConfig): Promise<boolean> {
    return this.writeService(config, false);
  }

  createServiceIfAbsent(config: ServiceConfig): Promise<boolean> {
    return this.writeService(config, true);
  }

  async deleteService(name: string): Promise<boolean> {
    const old = await this.config.delete(serviceKey(name));
    if (old === undefined) return false;
    await Promise.all([this.config.delete(registryKey(name)), this.leave(old)]);
    return true;
  }

  async getNotification(endpoint: string): Promise<AvailabilityNotification | undefined> {
    return (await this.config.state(endpoint)).notification;
  }

  async putNotification(notification: AvailabilityNotification): Promise<void> {
    await this.config.changeNotification(notification, false);
  }

  async createNotificationIfAbsent(notification: AvailabilityNotification): Promise<boolean> {
    return (await this.config.changeNotification(notification, true)) !== undefined;
  }

  async endpointAvailability(endpoint: string): Promise<EndpointAvailability> {
    const { notification, readyUntil } = await this.config.state(endpoint);
    return { notification, readyUntil };
  }

  /**
   * A service with its endpoint's availability. Its membership is written before the state is read,
   * and the state is read again after the service is written: a change made in between either
   * finds the membership (and copies itself) or is seen by the second read (and copied here).
   *
   * Each write of the service carries a random `writeId`, on its item and on its membership. A
   * membership is removed (on a move, a delete) only if it still holds the writeId of the item that
   * was replaced: a write racing this one to that endpoint has put its own, which stays. A
   * membership left behind by a race is harmless: copies check the service's endpoint.
   */
  private async writeService(config: ServiceConfig, onlyIfAbsent: boolean): Promise<boolean> {
    const endpoint = config.chatEndpoint;
    const writeId = randomUUID();
    const [old] = await Promise.all([
      this.config.get(serviceKey(config.name)),
      this.config.put({ ...memberKey(endpoint, config.name), writeId }),
    ]);
    if (onlyIfAbsent && old !== undefined) return false;
    const state = await this.config.state(endpoint);
    // Created only if absent: the service's item, and its entry in the list (a racing PUT's stays).
    const absent = onlyIfAbsent ? { ConditionExpression: "attribute_not_exists(#sk)", ExpressionAttributeNames: { "#sk": SK } } : {};
    const [written] = await Promise.all([
      conditionalWrite(() =>
        this.client.send(
          new PutCommand({
            TableName: this.table,
            Item: { ...serviceKey(config.name), ...config, availability: copyOf(state), version: state.version, writeId },
            ...absent,
          }),
        ),
      ),
      conditionalWrite(() =>
        this.client.send(new PutCommand({ TableName: this.table, Item: { ...registryKey(config.name), ...config }, ...absent })),
      ),
      old !== undefined && old.chatEndpoint !== endpoint && this.leave(old),
    ]);
    if (!written) return false;
    const now = await this.config.state(endpoint);
    if (now.version !== state.version) await this.config.copyTo(config.name, endpoint, now);
    return old === undefined;
  }

  /** Removes the membership that the service item `replaced` was written with, unless a later write replaced it. */
  private leave(replaced: Item): Promise<boolean> {
    return conditionalWrite(() =>
      this.client.send(
        new DeleteCommand({
          TableName: this.table,
          Key: memberKey(String(replaced.chatEndpoint), String(replaced.name)),
          ConditionExpression: "writeId = :writeId",
          ExpressionAttributeValues: { ":writeId": replaced.writeId ?? "" },
        }),
      ),
    );
  }
}

function toService(item: Item): ServiceConfig {
  return {
    name: String(item.name),
    ttlSeconds: Number(item.ttlSeconds),
    chatEndpoint: String(item.chatEndpoint),
    updatedAt: String(item.updatedAt),
  };
}
