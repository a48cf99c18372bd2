import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { EXTEND_MARGIN_SECONDS, ROSTER_SECONDS } from "../config/availability.ts";
import type { AvailabilityNotification, EndpointAvailability } from "../storage.ts";
import { batchGetAll, conditionalWrite, queryAll, storageCall } from "./client.ts";
import { CONFIG_PARTITION_KEY as PK, CONFIG_SORT_KEY as SK } from "./tables.ts";

export type Item = Record<string, unknown>;

/**
 * The config table's layout, shared by the config store (services, notifications) and the agent
 * store (profiles, states, and what agents make of availability). Every partition key names one
 * service, one endpoint or one agent, never the whole deployment
 * (docs/architecture.md#configuration-at-scale):
 *
 * - `service#<name>` / `service`: the service's options, with a copy of its endpoint's availability
 *   (`availability`, `version`). request-chat reads this one item: 1 read unit, however many
 *   services, endpoints and agents there are.
 * - `services` / `<name>`: the list the admin API reads (written by the admin API only).
 * - `endpoint#<e>` / `state`: the endpoint's availability (`notification`, `readyUntil`) and its
 *   `version`, which every change raises; `endpoint#<e>` / `service#<name>`: the services to copy
 *   a change to; `endpoint#<e>` / `ready#<agent>`: the roster of agents who went ready, renewed
 *   every few minutes (ROSTER_SECONDS), read only when an agent goes not ready;
 *   `endpoint#<e>` / `routing`: how its chats reach its agents (lib/dynamo/routing-store.ts).
 * - `agent#<id>` / `profile` and `state`: the agent's profile and its state (lib/dynamo/agent-store.ts);
 *   `agents` / `<id>`: the list of profiles the admin API reads.
 * - `free#<e>` / `<load>#<idleSince>#<agent>`: the agents with a free slot on the endpoint
 *   (lib/dynamo/routing-store.ts).
 *
 * An endpoint's availability changes rarely: when a notification is sent, when its first agent
 * goes ready or its last one not ready, and when `readyUntil` would otherwise lapse (about every
 * 15 s, by whichever renewal finds it due: lib/config/availability.ts). Each change is copied to the
 * endpoint's services, each copy only over an older one of the same endpoint. A copy that a failure
 * left behind is overwritten by the next change, which comes within about 15 s while agents are
 * ready, or lapses with its `readyUntil`.
 */
export const key = (partition: string, sort: string): Item => ({ [PK]: partition, [SK]: sort });
export const serviceKey = (name: string) => key(`service#${name}`, "service");
export const stateKey = (endpoint: string) => key(`endpoint#${endpoint}`, "state");
export const memberKey = (endpoint: string, name: string) => key(`endpoint#${endpoint}`, `service#${name}`);
const rosterKey = (endpoint: string, agentId: string) => key(`endpoint#${endpoint}`, `ready#${agentId}`);

/** Copies written side by side when an endpoint's availability changes. */
const COPY_CONCURRENCY = 50;
/** Roster entries read per page when an agent goes not ready (one BatchGet of their agents' states). */
const ROSTER_PAGE = 50;
/** How many times a close is tried again when agents come and go while it is decided. */
const CLOSE_ATTEMPTS = 3;
/** At most this many roster entries' agents are checked to count ready agents; the rest count as the roster says. */
const COUNTED_EXACTLY = 100;

export interface EndpointState extends EndpointAvailability {
  readonly version: number;
}

export const NO_STATE: EndpointState = { notification: undefined, readyUntil: 0, version: 0 };

/** Which of `agentIds` count for `endpoint` at `now`: their own records, read strongly consistent. */
export type ReadyCheck = (endpoint: string, agentIds: readonly string[], now: number) => Promise<ReadonlySet<string>>;

/** The config table, and the endpoints' availability kept in it. */
export class ConfigTable {
  constructor(
    readonly client: DynamoDBDocumentClient,
    readonly table: string,
  ) {}

  async get(itemKey: Item, consistent = true): Promise<Item | undefined> {
    const { Item } = await storageCall(() =>
      this.client.send(new GetCommand({ TableName: this.table, Key: itemKey, ConsistentRead: consistent })),
    );
    return Item;
  }

  async put(item: Item): Promise<void> {
    await storageCall(() => this.client.send(new PutCommand({ TableName: this.table, Item: item })));
  }

  /** Deletes the item; resolves the one it removed, if any. */
  async delete(itemKey: Item): Promise<Item | undefined> {
    const { Attributes } = await storageCall(() =>
      this.client.send(new DeleteCommand({ TableName: this.table, Key: itemKey, ReturnValues: "ALL_OLD" })),
    );
    return Attributes;
  }

  /** A partition's items, or those whose sort keys start with `prefix`. */
  query(partition: string, prefix?: string, consistent = true): Promise<Item[]> {
    const byPrefix = prefix !== undefined;
    return queryAll(this.client, {
      TableName: this.table,
      ConsistentRead: consistent,
      KeyConditionExpression: byPrefix ? "#pk = :pk AND begins_with(#sk, :prefix)" : "#pk = :pk",
      ExpressionAttributeNames: { "#pk": PK, ...(byPrefix && { "#sk": SK }) },
      ExpressionAttributeValues: { ":pk": partition, ...(byPrefix && { ":prefix": prefix }) },
    });
  }

  async state(endpoint: string, consistent = true): Promise<EndpointState> {
    const item = await this.get(stateKey(endpoint), consistent);
    return item === undefined ? NO_STATE : toState(endpoint, item);
  }

  /** Several endpoints' states in one read (eventually consistent: a renewal only extends early on a stale one). */
  async states(endpoints: readonly string[]): Promise<Map<string, EndpointState>> {
    const items = await batchGetAll(this.client, this.table, endpoints.map(stateKey), undefined, false);
    const found = new Map<string, EndpointState>(endpoints.map((endpoint) => [endpoint, NO_STATE]));
    for (const item of items) {
      const endpoint = String(item[PK]).slice("endpoint#".length);
      found.set(endpoint, toState(endpoint, item));
    }
    return found;
  }

  /** Names of the endpoint's services (strongly consistent: a service added before a change is copied to). */
  async members(endpoint: string): Promise<string[]> {
    return (await this.query(`endpoint#${endpoint}`, "service#")).map((item) => String(item[SK]).slice("service#".length));
  }

  /** Updates the endpoint's state; resolves the new state, or undefined when the condition failed. */
  async updateState(endpoint: string, update: string, options: { values: Item; condition?: string | undefined }) {
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

  /** A notification, replacing the endpoint's (only where it has none, with `onlyIfAbsent`), copied to its services. */
  async changeNotification(notification: AvailabilityNotification, onlyIfAbsent: boolean): Promise<EndpointState | undefined> {
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
  async copyToServices(endpoint: string, state: EndpointState, services: readonly string[]): Promise<void> {
    for (let i = 0; i < services.length; i += COPY_CONCURRENCY) {
      await Promise.all(services.slice(i, i + COPY_CONCURRENCY).map((name) => this.copyTo(name, endpoint, state)));
    }
  }

  copyTo(name: string, endpoint: string, state: EndpointState): Promise<boolean> {
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
   * An agent becomes ready on the endpoint: its roster entry first (an agent going not ready at the
   * same time then finds it, or its close fails on the version this change raises), then the
   * endpoint extended to the agent's presence.
   */
  async join(endpoint: string, agentId: string, until: number, now: number): Promise<void> {
    await this.putRoster(endpoint, agentId, now + ROSTER_SECONDS);
    await this.extendReady(endpoint, until, now, false);
  }

  async putRoster(endpoint: string, agentId: string, until: number): Promise<void> {
    await this.put({ ...rosterKey(endpoint, agentId), agentId, until, expiresAt: until });
  }

  /**
   * Extends `readyUntil` to `until` (a presence's expiry, never before the current one: no presence
   * lapses later than the newest). A renewal (`renewal`) extends it only if it would lapse within
   * EXTEND_MARGIN_SECONDS; an agent who was not ready extends it in any case, raising the version
   * that a concurrent close is conditioned on. The copies are written only when the endpoint was due.
   */
  async extendReady(endpoint: string, until: number, now: number, renewal: boolean): Promise<void> {
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

  /**
   * What a leave reads while the agent's record is being written not ready: the endpoint's state
   * (whose version a close is conditioned on: read before the roster, so that an agent whose join
   * this version does not show yet is in the roster the close checks, or raises the version and
   * fails the close) and its services (for the copies).
   */
  prepareLeave(endpoint: string): { readonly state: Promise<EndpointState>; readonly members: Promise<string[]> } {
    const state = this.state(endpoint);
    const members = this.members(endpoint);
    // Awaited by the leave; a failure before then is the leave's, not an unhandled one.
    state.catch(() => undefined);
    members.catch(() => undefined);
    return { state, members };
  }

  /**
   * An agent is no longer ready on the endpoint (its own record says so already; `prepared` was
   * read beside that write): its roster entry goes, and when no other agent is ready the endpoint
   * closes at once. Other agents are found in the roster, checked against their own records (a
   * roster entry outlives a vanished agent), and the entries of agents who are not ready are removed
   * on the way.
   */
  async leave(
    endpoint: string,
    agentId: string,
    now: number,
    isReady: ReadyCheck,
    prepared: ReturnType<ConfigTable["prepareLeave"]> = this.prepareLeave(endpoint),
  ): Promise<void> {
    let state = await prepared.state;
    // Removing vanished agents' entries is housekeeping: it goes on beside the rest, and may fail.
    const cleanup: Promise<unknown>[] = [];
    try {
      let own: Promise<unknown> | undefined = this.delete(rosterKey(endpoint, agentId));
      for (let attempt = 0; attempt < CLOSE_ATTEMPTS && state.readyUntil > now; attempt += 1) {
        // Its own entry goes beside the first look at the others'.
        const [anyone] = await Promise.all([this.anyoneReady(endpoint, now, isReady, cleanup), own]);
        own = undefined;
        if (anyone) return;
        const closed = await this.updateState(endpoint, "SET readyUntil = :zero ADD version :one", {
          condition: "version = :version",
          values: { ":zero": 0, ":version": state.version },
        });
        if (closed !== undefined) return await this.copyToServices(endpoint, closed, await prepared.members);
        state = await this.state(endpoint);
      }
      await own;
    } finally {
      // Nothing left running once the request answers (a failure here was already thrown above, or is housekeeping's).
      await Promise.all([...cleanup, prepared.members.catch(() => [])]);
    }
  }

  /** Whether an agent is ready on the endpoint; the removals of roster entries of agents who are not go into `cleanup`. */
  private async anyoneReady(endpoint: string, now: number, isReady: ReadyCheck, cleanup: Promise<unknown>[]): Promise<boolean> {
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
      // The caller's own entry too: its record says not ready already, so an entry of its own found
      // here is a "ready" of another of its consoles, made since.
      const ready = await isReady(
        endpoint,
        Items.map((entry) => String(entry.agentId)),
        now,
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

  /** How many agents are ready on the endpoint at `now`: the first COUNTED_EXACTLY of its roster checked, the rest as the roster says. */
  async readyAgents(endpoint: string, now: number, isReady: ReadyCheck): Promise<number> {
    const roster = await this.query(`endpoint#${endpoint}`, "ready#", false);
    const current = roster.filter((entry) => Number(entry.until) > now);
    const checked = current.slice(0, COUNTED_EXACTLY);
    const ready = await isReady(
      endpoint,
      checked.map((entry) => String(entry.agentId)),
      now,
    );
    return ready.size + current.length - checked.length;
  }
}

/** What a service keeps of its endpoint's state. */
export function copyOf(state: EndpointState): Item {
  return {
    readyUntil: state.readyUntil,
    ...(state.notification === undefined ? {} : { notification: notificationFields(state.notification) }),
  };
}

function notificationFields({ endpoint: _endpoint, ...fields }: AvailabilityNotification): Item {
  return fields;
}

export function toState(endpoint: string, item: Item): EndpointState {
  return {
    notification: toNotification(endpoint, item.notification),
    readyUntil: Number(item.readyUntil ?? 0),
    version: Number(item.version ?? 0),
  };
}

export function toNotification(endpoint: string, value: unknown): AvailabilityNotification | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const item = value as Item;
  const notification = { endpoint, available: item.available === true, updatedAt: String(item.updatedAt) };
  return typeof item.expiresAt === "number" ? { ...notification, expiresAt: item.expiresAt } : notification;
}
