import { randomUUID } from "node:crypto";
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type {
  AgentPresence,
  AvailabilityNotification,
  ConfigStore,
  EndpointAvailability,
  ServiceConfig,
  ServiceRoute,
} from "../storage.ts";
import { batchGetAll, conditionalWrite, queryAll, storageCall } from "./client.ts";
import { CONFIG_PARTITION_KEY as PK, CONFIG_SORT_KEY as SK } from "./tables.ts";

type Item = Record<string, unknown>;

/**
 * The config table, laid out so that no request costs more as the contact centre grows
 * (docs/architecture.md#configuration-at-scale). Every partition key names one service, one
 * endpoint or one agent, never the whole deployment:
 *
 * - `service#<name>` / `service`: the service's options, with a copy of its endpoint's availability
 *   (`availability`, `version`). request-chat reads this one item: 1 read unit, however many
 *   services, endpoints and agents there are.
 * - `services` / `<name>`: the list the admin API reads (written by the admin API only).
 * - `endpoint#<e>` / `state`: the endpoint's availability (`notification`, `readyUntil`) and its
 *   `version`, which every change raises; `endpoint#<e>` / `service#<name>`: the services to copy
 *   a change to; `endpoint#<e>` / `ready#<agent>`: the roster of agents who went ready, renewed
 *   every few minutes (ROSTER_SECONDS), read only when an agent goes not ready.
 * - `agent#<id>` / `presence#<e>`: the agent's own presence, written by each renewal.
 *
 * An endpoint's availability changes rarely: when a notification is sent, when its first agent
 * goes ready or its last one not ready, and when `readyUntil` would otherwise lapse (about every 15 s,
 * by whichever renewal finds it due). Each change is copied to the
 * endpoint's services, each copy only over an older one of the same endpoint. A copy that a failure
 * left behind is overwritten by the next change, which comes within about 15 s while
 * agents are ready, or lapses with its `readyUntil`.
 *
 * Presence items and roster entries carry `expiresAt`, so DynamoDB's TTL also clears lapsed ones.
 */
const SERVICE = "service";
const STATE = "state";
const REGISTRY = "services";
const serviceKey = (name: string) => key(`service#${name}`, SERVICE);
const registryKey = (name: string) => key(REGISTRY, name);
const stateKey = (endpoint: string) => key(`endpoint#${endpoint}`, STATE);
const memberKey = (endpoint: string, name: string) => key(`endpoint#${endpoint}`, `service#${name}`);
const rosterKey = (endpoint: string, agentId: string) => key(`endpoint#${endpoint}`, `ready#${agentId}`);
const presenceKey = (endpoint: string, agentId: string) => key(`agent#${agentId}`, `presence#${endpoint}`);

/**
 * A renewal extends the endpoint's `readyUntil` (to its own presence's expiry) once fewer than this
 * many seconds are left. A lone agent renewing every 20 s then extends it each time, so a missed
 * renewal never closes a staffed endpoint; with more agents, the endpoint's items are written about
 * once per 15 s (60 - 45) however many agents renew.
 */
const EXTEND_MARGIN_SECONDS = 45;
/** A roster entry holds this long, renewed by the agent's renewals once less than ROSTER_RENEW_SECONDS are left. */
const ROSTER_SECONDS = 300;
const ROSTER_RENEW_SECONDS = 120;
/** Roster entries read per page when an agent goes not ready (one BatchGet of their presence). */
const ROSTER_PAGE = 50;
/** Copies written side by side when an endpoint's availability changes. */
const COPY_CONCURRENCY = 50;
/** How many times a close is tried again when agents come and go while it is decided. */
const CLOSE_ATTEMPTS = 3;
/** At most this many roster entries' presence is checked to count ready agents; the rest count as the roster says. */
const COUNTED_EXACTLY = 100;

interface EndpointState extends EndpointAvailability {
  readonly version: number;
}

const NO_STATE: EndpointState = { notification: undefined, readyUntil: 0, version: 0 };

export class DynamoConfigStore implements ConfigStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async loadServiceRoute(serviceName: string): Promise<ServiceRoute> {
    const item = await this.get(serviceKey(serviceName));
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
    const item = await this.get(serviceKey(name));
    return item && toService(item);
  }

  async listServices(): Promise<ServiceConfig[]> {
    return (await this.query(`${REGISTRY}`)).map(toService);
  }

  putService(config: ServiceConfig): Promise<boolean> {
    return this.writeService(config, false);
  }

  createServiceIfAbsent(config: ServiceConfig): Promise<boolean> {
    return this.writeService(config, true);
  }

  async deleteService(name: string): Promise<boolean> {
    const old = await this.delete(serviceKey(name));
    if (old === undefined) return false;
    await Promise.all([this.delete(registryKey(name)), this.leave(old)]);
    return true;
  }

  async getNotification(endpoint: string): Promise<AvailabilityNotification | undefined> {
    return (await this.state(endpoint)).notification;
  }

  async putNotification(notification: AvailabilityNotification): Promise<void> {
    await this.changeNotification(notification, false);
  }

  async createNotificationIfAbsent(notification: AvailabilityNotification): Promise<boolean> {
    return (await this.changeNotification(notification, true)) !== undefined;
  }

  /**
   * A renewal writes the agent's own item. Only now and then does it write more: its roster entry
   * every few minutes, and the endpoint's state (with the copies) when the agent was not ready
   * before or when `readyUntil` would lapse within EXTEND_MARGIN_SECONDS.
   */
  async putPresence(presence: AgentPresence, now: number): Promise<void> {
    const { endpoint, agentId } = presence;
    const [old, state] = await Promise.all([
      storageCall(() =>
        this.client.send(
          new UpdateCommand({
            TableName: this.table,
            Key: presenceKey(endpoint, agentId),
            UpdateExpression: `SET agentId = :agent, endpoint = :endpoint, nickname = :nickname, expiresAt = :expires${presence.actor === undefined ? " REMOVE actor" : ", actor = :actor"}`,
            ExpressionAttributeValues: {
              ":agent": agentId,
              ":endpoint": endpoint,
              ":nickname": presence.nickname,
              ":expires": presence.expiresAt,
              ...(presence.actor === undefined ? {} : { ":actor": presence.actor }),
            },
            ReturnValues: "ALL_OLD",
          }),
        ),
      ).then(({ Attributes }) => Attributes),
      // Eventually consistent is enough: while this agent is ready no close can happen, and a stale
      // (lower) `readyUntil` only extends it early.
      this.state(endpoint, false),
    ]);
    const wasReady = old !== undefined && Number(old.expiresAt) > now;
    const rosterUntil = wasReady ? Number(old.rosterUntil ?? 0) : 0;
    const renewRoster = rosterUntil - now < ROSTER_RENEW_SECONDS;
    const until = now + ROSTER_SECONDS;
    // The roster entry first: an agent who goes not ready at the same time then finds this one, or
    // its close fails on the version this change raises.
    if (!wasReady) await this.putRoster(endpoint, agentId, until);
    const extend = !wasReady || state.readyUntil < now + EXTEND_MARGIN_SECONDS;
    await Promise.all([
      extend && this.extendReady(endpoint, presence.expiresAt, now, wasReady),
      // Noted on the agent's item only once the entry is written.
      renewRoster &&
        (wasReady ? this.putRoster(endpoint, agentId, until) : Promise.resolve()).then(() => this.markRoster(endpoint, agentId, until)),
    ]);
  }

  /**
   * The agent's own item and roster entry go; when no other agent is ready the endpoint closes at
   * once. Other agents are found in the roster, checked against their own items (a roster entry
   * outlives a vanished agent), and the entries of vanished agents are removed on the way.
   */
  async deletePresence(endpoint: string, agentId: string, now: number): Promise<void> {
    let [, , state] = await Promise.all([
      this.delete(presenceKey(endpoint, agentId)),
      this.delete(rosterKey(endpoint, agentId)),
      this.state(endpoint),
    ]);
    let members: Promise<string[]> | undefined;
    // Removing vanished agents' entries is housekeeping: it goes on beside the rest, and may fail.
    const cleanup: Promise<unknown>[] = [];
    try {
      for (let attempt = 0; attempt < CLOSE_ATTEMPTS && state.readyUntil > now; attempt += 1) {
        // Needed if it closes: read beside the roster.
        members ??= this.members(endpoint);
        if (await this.anyoneReady(endpoint, now, cleanup)) return;
        const closed = await this.updateState(endpoint, "SET readyUntil = :zero ADD version :one", {
          condition: "version = :version",
          values: { ":zero": 0, ":version": state.version },
        });
        if (closed !== undefined) return await this.copyToServices(endpoint, closed, await members);
        state = await this.state(endpoint);
      }
    } finally {
      // Nothing left running once the request answers (a failure here was already thrown above, or is housekeeping's).
      await Promise.all([...cleanup, members?.catch(() => [])]);
    }
  }

  async getPresence(endpoint: string, agentId: string): Promise<AgentPresence | undefined> {
    const item = await this.get(presenceKey(endpoint, agentId));
    return item && toPresence(item);
  }

  async endpointAvailability(endpoint: string, now: number): Promise<EndpointAvailability & { readonly readyAgents: number }> {
    const [state, roster] = await Promise.all([this.state(endpoint), this.query(`endpoint#${endpoint}`, "ready#", false)]);
    const current = roster.filter((entry) => Number(entry.until) > now);
    const checked = current.slice(0, COUNTED_EXACTLY);
    const ready = (await this.presenceOf(endpoint, checked)).filter((presence) => presence.expiresAt > now).length;
    return { ...state, readyAgents: ready + current.length - checked.length };
  }

  /** Whether an agent is ready on the endpoint; the removals of roster entries of agents who are not go into `cleanup`. */
  private async anyoneReady(endpoint: string, now: number, cleanup: Promise<unknown>[]): Promise<boolean> {
    let start: Item | undefined;
    do {
      const { Items = [], LastEvaluatedKey } = await storageCall(() =>
        this.client.send(
          new QueryCommand({
            TableName: this.table,
            ConsistentRead: true,
            KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
            ExpressionAttributeNames: { "#pk": PK, "#sk": SK },
            ExpressionAttributeValues: { ":pk": `endpoint#${endpoint}`, ":prefix": "ready#" },
            Limit: ROSTER_PAGE,
            ExclusiveStartKey: start,
          }),
        ),
      );
      start = LastEvaluatedKey;
      // The caller's own entry too: its items were deleted before, so an entry of its own found
      // here is a "ready" of another of its consoles, made since.
      const ready = new Set(
        (await this.presenceOf(endpoint, Items)).filter((presence) => presence.expiresAt > now).map((presence) => presence.agentId),
      );
      const gone = Items.filter((entry) => !ready.has(String(entry.agentId)));
      // Only the entry as read: an agent who came back since has written a new one.
      cleanup.push(
        ...gone.map((entry) =>
          conditionalWrite(() =>
            this.client.send(
              new DeleteCommand({
                TableName: this.table,
                Key: rosterKey(endpoint, String(entry.agentId)),
                ConditionExpression: "#until = :until",
                ExpressionAttributeNames: { "#until": "until" },
                ExpressionAttributeValues: { ":until": entry.until },
              }),
            ),
          ).catch(() => false),
        ),
      );
      if (ready.size > 0) return true;
    } while (start !== undefined);
    return false;
  }

  /** The presence items of the agents of `entries` (roster entries). */
  private async presenceOf(endpoint: string, entries: readonly Item[]): Promise<AgentPresence[]> {
    const keys = entries.map((entry) => presenceKey(endpoint, String(entry.agentId)));
    return (await batchGetAll(this.client, this.table, keys)).map(toPresence);
  }

  /**
   * Extends `readyUntil` to `until` (a presence's expiry, never before the current one: no presence
   * lapses later than the newest). A renewal (`renewal`) extends it only if it would lapse within
   * EXTEND_MARGIN_SECONDS; an agent who was not ready extends it in any case, raising the version
   * that a concurrent close is conditioned on. The copies are written only when the endpoint was due.
   */
  private async extendReady(endpoint: string, until: number, now: number, renewal: boolean): Promise<void> {
    const due = now + EXTEND_MARGIN_SECONDS;
    let old: Item | undefined;
    const [applied, members] = await Promise.all([
      conditionalWrite(async () => {
        ({ Attributes: old } = await this.client.send(
          new UpdateCommand({
            TableName: this.table,
            Key: stateKey(endpoint),
            UpdateExpression: "SET readyUntil = :until ADD version :one",
            ...(renewal ? { ConditionExpression: "attribute_not_exists(readyUntil) OR readyUntil < :due" } : {}),
            ExpressionAttributeValues: { ":until": until, ":one": 1, ...(renewal ? { ":due": due } : {}) },
            ReturnValues: "ALL_OLD",
          }),
        ));
      }),
      this.members(endpoint),
    ]);
    if (!applied) return;
    const before = old === undefined ? NO_STATE : toState(endpoint, old);
    if (before.readyUntil >= due) return;
    await this.copyToServices(endpoint, { ...before, readyUntil: until, version: before.version + 1 }, members);
  }

  private async changeNotification(notification: AvailabilityNotification, onlyIfAbsent: boolean): Promise<EndpointState | undefined> {
    const { endpoint, ...stored } = notification;
    const [state, members] = await Promise.all([
      this.updateState(endpoint, "SET notification = :notification ADD version :one", {
        values: { ":notification": stored },
        condition: onlyIfAbsent ? "attribute_not_exists(notification)" : undefined,
      }),
      this.members(endpoint),
    ]);
    if (state !== undefined) await this.copyToServices(endpoint, state, members);
    return state;
  }

  /**
   * Writes the endpoint's state to each of its services, over older copies of the same endpoint
   * only: a service that moved to another endpoint since keeps its new endpoint's copy.
   */
  private async copyToServices(endpoint: string, state: EndpointState, services: readonly string[]): Promise<void> {
    for (let i = 0; i < services.length; i += COPY_CONCURRENCY) {
      await Promise.all(services.slice(i, i + COPY_CONCURRENCY).map((name) => this.copyTo(name, endpoint, state)));
    }
  }

  private copyTo(name: string, endpoint: string, state: EndpointState): Promise<boolean> {
    return conditionalWrite(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: serviceKey(name),
          UpdateExpression: "SET availability = :availability, version = :version",
          ConditionExpression: "chatEndpoint = :endpoint AND (attribute_not_exists(version) OR version < :version)",
          ExpressionAttributeValues: { ":availability": copyOf(state), ":version": state.version, ":endpoint": endpoint },
        }),
      ),
    );
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
    const [old] = await Promise.all([this.get(serviceKey(config.name)), this.put({ ...memberKey(endpoint, config.name), writeId })]);
    if (onlyIfAbsent && old !== undefined) return false;
    const state = await this.state(endpoint);
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
    const now = await this.state(endpoint);
    if (now.version !== state.version) await this.copyTo(config.name, endpoint, now);
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

  private async putRoster(endpoint: string, agentId: string, until: number): Promise<void> {
    await this.put({ ...rosterKey(endpoint, agentId), agentId, until, expiresAt: until });
  }

  /** Notes on the agent's own item until when its roster entry holds (not if it went not ready meanwhile). */
  private markRoster(endpoint: string, agentId: string, until: number): Promise<boolean> {
    return conditionalWrite(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: presenceKey(endpoint, agentId),
          UpdateExpression: "SET rosterUntil = :until",
          ConditionExpression: "attribute_exists(#pk)",
          ExpressionAttributeNames: { "#pk": PK },
          ExpressionAttributeValues: { ":until": until },
        }),
      ),
    );
  }

  /** Names of the endpoint's services (strongly consistent: a service added before a change is copied to). */
  private async members(endpoint: string): Promise<string[]> {
    return (await this.query(`endpoint#${endpoint}`, "service#")).map((item) => String(item[SK]).slice("service#".length));
  }

  private async state(endpoint: string, consistent = true): Promise<EndpointState> {
    const item = await this.get(stateKey(endpoint), consistent);
    return item === undefined ? NO_STATE : toState(endpoint, item);
  }

  /** Updates the endpoint's state; resolves the new state, or undefined when the condition failed. */
  private async updateState(endpoint: string, update: string, options: { values: Item; condition?: string | undefined }) {
    let attributes: Item | undefined;
    const applied = await conditionalWrite(async () => {
      ({ Attributes: attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: stateKey(endpoint),
          UpdateExpression: update,
          ExpressionAttributeValues: { ":one": 1, ...options.values },
          ...(options.condition === undefined ? {} : { ConditionExpression: options.condition }),
          ReturnValues: "ALL_NEW",
        }),
      ));
    });
    return applied ? toState(endpoint, attributes ?? {}) : undefined;
  }

  private async get(itemKey: Item, consistent = true): Promise<Item | undefined> {
    const { Item } = await storageCall(() =>
      this.client.send(new GetCommand({ TableName: this.table, Key: itemKey, ConsistentRead: consistent })),
    );
    return Item;
  }

  private async put(item: Item): Promise<void> {
    await storageCall(() => this.client.send(new PutCommand({ TableName: this.table, Item: item })));
  }

  /** Deletes the item; resolves the one it removed, if any. */
  private async delete(itemKey: Item): Promise<Item | undefined> {
    const { Attributes } = await storageCall(() =>
      this.client.send(new DeleteCommand({ TableName: this.table, Key: itemKey, ReturnValues: "ALL_OLD" })),
    );
    return Attributes;
  }

  /** A partition's items, or those whose sort keys start with `prefix`. */
  private query(partition: string, prefix?: string, consistent = true): Promise<Item[]> {
    const byPrefix = prefix !== undefined;
    return queryAll(this.client, {
      TableName: this.table,
      ConsistentRead: consistent,
      KeyConditionExpression: byPrefix ? "#pk = :pk AND begins_with(#sk, :prefix)" : "#pk = :pk",
      ExpressionAttributeNames: { "#pk": PK, ...(byPrefix && { "#sk": SK }) },
      ExpressionAttributeValues: { ":pk": partition, ...(byPrefix && { ":prefix": prefix }) },
    });
  }
}

function key(partition: string, sort: string): Item {
  return { [PK]: partition, [SK]: sort };
}

/** What a service keeps of its endpoint's state. */
function copyOf(state: EndpointState): Item {
  return {
    readyUntil: state.readyUntil,
    ...(state.notification === undefined ? {} : { notification: notificationFields(state.notification) }),
  };
}

function notificationFields({ endpoint: _endpoint, ...fields }: AvailabilityNotification): Item {
  return fields;
}

function toState(endpoint: string, item: Item): EndpointState {
  return {
    notification: toNotification(endpoint, item.notification),
    readyUntil: Number(item.readyUntil ?? 0),
    version: Number(item.version ?? 0),
  };
}

function toService(item: Item): ServiceConfig {
  return {
    name: String(item.name),
    ttlSeconds: Number(item.ttlSeconds),
    chatEndpoint: String(item.chatEndpoint),
    updatedAt: String(item.updatedAt),
  };
}

function toNotification(endpoint: string, value: unknown): AvailabilityNotification | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const item = value as Item;
  const notification = { endpoint, available: item.available === true, updatedAt: String(item.updatedAt) };
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
