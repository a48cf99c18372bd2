import { type DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { profileCursor, profileOfCursor } from "../agents/profile.ts";
import {
  type AgentState,
  allows,
  apply,
  isPresent,
  isReadyOn,
  type NotReadyReason,
  type PresenceChange,
  type SlotChange,
} from "../agents/state.ts";
import type { AgentChanged, AgentProfile, AgentStore, ProfilePage } from "../agents/store.ts";
import { extendDue, ROSTER_SECONDS, rosterDue } from "../config/availability.ts";
import { StorageUnavailableError } from "../errors.ts";
import { ConfigTable, type Item, key, type ReadyCheck } from "./availability.ts";
import { batchGetAll, conditionalWrite, storageCall, storageFailure } from "./client.ts";
import { CONFIG_PARTITION_KEY as PK, CONFIG_SORT_KEY as SK } from "./tables.ts";

/**
 * Agents' profiles and states, in the config table (its layout: lib/dynamo/availability.ts): each
 * agent's partition `agent#<id>` holds its `profile` and its `state`; the admin API lists profiles
 * from `agents` / `<id>`. A change of state is the rule of lib/agents/state.ts said as one
 * conditional write of the agent's own record: an offer or a chat taken (a slot claimed while the
 * agent is ready, present and under its `maxChats`), accepted or let go, a renewal; going ready or
 * not ready, which happens at a person's pace, reads the record and writes it back if nobody wrote
 * it meanwhile. Going ready, renewing and going not ready also keep the endpoints' availability: the
 * roster entries and `readyUntil` of lib/dynamo/availability.ts.
 */
const REGISTRY = "agents";
const profileKey = (agentId: string) => key(`agent#${agentId}`, "profile");
const stateKey = (agentId: string) => key(`agent#${agentId}`, "state");
const registryKey = (agentId: string) => key(REGISTRY, agentId);
/** A sign-in that ended: its own partition, read once per token by the authorizers. */
const signOutKey = (family: string) => key(`sign-out#${family}`, "sign-out");

/** A read-modify-write that loses to another writer tries again, this many times in all. */
const WRITE_ATTEMPTS = 3;

/** The endpoints an agent was present on before a change and is not after it. */
function leftOn({ before, after }: AgentChanged, now: number): string[] {
  const was = before !== undefined && isPresent(before, now) ? before.endpoints : [];
  const is = isPresent(after, now) ? after.endpoints : [];
  return was.filter((endpoint) => !is.includes(endpoint));
}

/** A change of presence written to the agent's record, and what it then does to the endpoints. */
interface Written {
  readonly changed: AgentChanged;
  readonly follow: () => Promise<void>;
}

export class DynamoAgentStore implements AgentStore {
  private readonly config: ConfigTable;

  constructor(client: DynamoDBDocumentClient, table: string) {
    this.config = new ConfigTable(client, table);
  }

  async signOut(family: string, until: number): Promise<void> {
    await this.config.put({ ...signOutKey(family), expiresAt: until });
  }

  async signedOutUntil(family: string): Promise<number | undefined> {
    const item = await this.config.get(signOutKey(family));
    return item === undefined ? undefined : Number(item.expiresAt);
  }

  async getProfile(agentId: string, recent = false): Promise<AgentProfile | undefined> {
    const item = await this.config.get(profileKey(agentId), !recent);
    return item && toProfile(item);
  }

  async putProfile(profile: AgentProfile): Promise<boolean> {
    const fields = {
      agentId: profile.agentId,
      endpoints: [...profile.endpoints],
      maxChats: profile.maxChats,
      updatedAt: profile.updatedAt,
    };
    const [{ Attributes }] = await Promise.all([
      storageCall(() =>
        this.config.client.send(
          new PutCommand({ TableName: this.config.table, Item: { ...profileKey(profile.agentId), ...fields }, ReturnValues: "ALL_OLD" }),
        ),
      ),
      this.config.put({ ...registryKey(profile.agentId), ...fields }),
    ]);
    return Attributes === undefined;
  }

  async deleteProfile(agentId: string): Promise<boolean> {
    const [old] = await Promise.all([this.config.delete(profileKey(agentId)), this.config.delete(registryKey(agentId))]);
    return old !== undefined;
  }

  async profiles(page: { readonly limit: number; readonly after?: string }): Promise<ProfilePage> {
    const { Items = [], LastEvaluatedKey } = await storageCall(() =>
      this.config.client.send(
        new QueryCommand({
          TableName: this.config.table,
          KeyConditionExpression: "#pk = :pk",
          ExpressionAttributeNames: { "#pk": PK },
          ExpressionAttributeValues: { ":pk": REGISTRY },
          Limit: page.limit,
          ConsistentRead: true,
          ...(page.after === undefined ? {} : { ExclusiveStartKey: registryKey(profileOfCursor(page.after)) }),
        }),
      ),
    );
    const profiles = Items.map(toProfile);
    return LastEvaluatedKey === undefined ? { profiles } : { profiles, next: profileCursor(String(LastEvaluatedKey[SK])) };
  }

  async getState(agentId: string): Promise<AgentState | undefined> {
    const item = await this.config.get(stateKey(agentId));
    return item && toAgentState(item);
  }

  async presence(
    agentId: string,
    change: PresenceChange,
    now: number,
    alongside?: (changed: AgentChanged) => Promise<void>,
  ): Promise<AgentChanged | undefined> {
    const written = change.kind === "renew" ? await this.renew(agentId, change, now) : await this.rewrite(agentId, change, now);
    if (written === undefined) return undefined;
    const { changed, follow } = written;
    await Promise.all([follow(), alongside?.(changed)]);
    return changed;
  }

  change(agentId: string, change: SlotChange, now: number): Promise<AgentChanged | undefined> {
    return this.update(agentId, change, now);
  }

  async readyAgents(endpoint: string, now: number): Promise<number> {
    return this.config.readyAgents(endpoint, now, this.isReady);
  }

  /** Which of the agents count for the endpoint: their own records, read strongly consistent. */
  private readonly isReady: ReadyCheck = async (endpoint, agentIds, now) => {
    const items = await batchGetAll(this.config.client, this.config.table, agentIds.map(stateKey));
    return new Set(
      items
        .map(toAgentState)
        .filter((state) => isReadyOn(state, endpoint, now))
        .map((state) => state.agentId),
    );
  };

  /**
   * Reads the record with the agent's profile (one strongly consistent Query of the agent's
   * partition), and writes it back changed, if nobody wrote it meanwhile (its `version`). What the
   * endpoints it leaves need is read beside that write (ConfigTable.prepareLeave).
   */
  private async rewrite(agentId: string, change: PresenceChange, now: number): Promise<Written | undefined> {
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt += 1) {
      const items = await this.config.query(`agent#${agentId}`);
      const item = items.find((found) => found[SK] === "state");
      const profileItem = items.find((found) => found[SK] === "profile");
      const before = item && toAgentState(item);
      const serves = profileItem && toProfile(profileItem);
      if (!allows(before, change, now, serves)) return undefined;
      const after = apply(before, agentId, change, now, serves);
      const version = Number(item?.version ?? 0);
      // Roster entries are renewed with the presence they stand for (followPresence).
      const rosterUntil = change.kind === "ready" ? now + ROSTER_SECONDS : Number(item?.rosterUntil ?? 0);
      const left = leftOn({ before, after }, now);
      const leaving = new Map(left.map((endpoint) => [endpoint, this.config.prepareLeave(endpoint)]));
      const written = await conditionalWrite(() =>
        this.config.client.send(
          new PutCommand({
            TableName: this.config.table,
            Item: { ...stateKey(agentId), ...stateItem(after), version: version + 1, rosterUntil },
            ConditionExpression: item === undefined ? "attribute_not_exists(#pk)" : "version = :version",
            ...(item === undefined ? { ExpressionAttributeNames: { "#pk": PK } } : { ExpressionAttributeValues: { ":version": version } }),
          }),
        ),
      );
      if (written) return { changed: { before, after }, follow: () => this.followPresence({ before, after }, leaving, now) };
      await Promise.allSettled([...leaving.values()].flatMap((prepared) => [prepared.state, prepared.members]));
    }
    throw new StorageUnavailableError(new Error(`The agent's record changed ${WRITE_ATTEMPTS} times while it was being changed`));
  }

  /**
   * What going ready or not ready does to the endpoints: those the agent joins get its roster entry
   * and their `readyUntil` extended; those it stays on, its roster entry and `readyUntil` extended if
   * due (a conditional write); those it leaves, closed if it was the last one ready there.
   */
  private async followPresence(
    { before, after }: AgentChanged,
    leaving: ReadonlyMap<string, ReturnType<ConfigTable["prepareLeave"]>>,
    now: number,
  ): Promise<void> {
    const was = before !== undefined && isPresent(before, now) ? before.endpoints : [];
    const is = isPresent(after, now) ? after.endpoints : [];
    const joined = is.filter((endpoint) => !was.includes(endpoint));
    const kept = is.filter((endpoint) => was.includes(endpoint));
    await Promise.all([
      ...joined.map((endpoint) => this.config.join(endpoint, after.agentId, after.readyUntil, now)),
      ...kept.map((endpoint) =>
        Promise.all([
          this.config.putRoster(endpoint, after.agentId, now + ROSTER_SECONDS),
          this.config.extendReady(endpoint, after.readyUntil, now, true),
        ]),
      ),
      ...[...leaving].map(([endpoint, prepared]) => this.config.leave(endpoint, after.agentId, now, this.isReady, prepared)),
    ]);
  }

  /**
   * A console's renewal: the agent's own record (1 write), and now and then more: an endpoint whose
   * `readyUntil` is due extended (about once per 15 s per endpoint, however many agents renew), and
   * every few minutes its roster entries.
   */
  private async renew(agentId: string, change: Extract<PresenceChange, { kind: "renew" }>, now: number): Promise<Written | undefined> {
    let old: Item | undefined;
    const applied = await conditionalWrite(async () => {
      ({ Attributes: old } = await this.config.client.send(
        new UpdateCommand({
          TableName: this.config.table,
          Key: stateKey(agentId),
          UpdateExpression: "SET readyUntil = :until ADD version :one",
          ConditionExpression: "ready = :true",
          ExpressionAttributeValues: { ":until": change.readyUntil, ":one": 1, ":true": true },
          ReturnValues: "ALL_OLD",
        }),
      ));
    });
    if (!applied || old === undefined) return undefined;
    const before = toAgentState(old);
    const rosterUntil = Number(old.rosterUntil ?? 0);
    const after = apply(before, agentId, change, now);
    return { changed: { before, after }, follow: () => this.followRenewal({ before, after }, rosterUntil, now) };
  }

  /** What a renewal does to the agent's endpoints: extended when due, its roster entries renewed every few minutes. */
  private async followRenewal({ before, after }: AgentChanged & { before: AgentState }, rosterUntil: number, now: number): Promise<void> {
    const { agentId } = after;
    const states = await this.config.states(after.endpoints);
    const roster = rosterDue(rosterUntil, now);
    await Promise.all([
      ...after.endpoints.map(async (endpoint) => {
        if (roster) await this.config.putRoster(endpoint, agentId, now + ROSTER_SECONDS);
        // Lapsed, it joins again; present, it extends when due.
        if (!isPresent(before, now)) await this.config.extendReady(endpoint, after.readyUntil, now, false);
        else if (extendDue(states.get(endpoint)?.readyUntil ?? 0, now))
          await this.config.extendReady(endpoint, after.readyUntil, now, true);
      }),
      roster && this.markRoster(agentId, now + ROSTER_SECONDS),
    ]);
  }

  /** Notes until when its roster entries hold (not if it went not ready meanwhile). */
  private markRoster(agentId: string, until: number): Promise<boolean> {
    return conditionalWrite(() =>
      this.config.client.send(
        new UpdateCommand({
          TableName: this.config.table,
          Key: stateKey(agentId),
          UpdateExpression: "SET rosterUntil = :until",
          ConditionExpression: "ready = :true",
          ExpressionAttributeValues: { ":until": until, ":true": true },
        }),
      ),
    );
  }

  /** A slot's change (an offer, a chat taken, accepted or let go) as one conditional update: the rule of lib/agents/state.ts. */
  private async update(agentId: string, change: SlotChange, now: number): Promise<AgentChanged | undefined> {
    const names: Record<string, string> = { "#chat": change.chatId };
    const values: Record<string, unknown> = { ":one": 1 };
    const conditions: string[] = [];
    let update: string;
    const claimsSlot = (endpoint: string | undefined) => {
      Object.assign(values, { ":true": true, ":now": now });
      conditions.push(
        "ready = :true",
        "readyUntil > :now",
        "#load < maxChats",
        "attribute_not_exists(offers.#chat)",
        "attribute_not_exists(chats.#chat)",
      );
      names["#load"] = "load";
      if (endpoint !== undefined) {
        values[":endpoint"] = endpoint;
        conditions.push("contains(endpoints, :endpoint)");
      }
    };
    switch (change.kind) {
      case "offer":
        // A transfer to this agent, whatever its endpoints; an offer in time only.
        if (!(change.offer.expiresAt > now)) return undefined;
        claimsSlot(change.targeted ? undefined : change.offer.endpoint);
        values[":offer"] = change.offer;
        update = "SET offers.#chat = :offer ADD #load :one, version :one";
        break;
      case "take":
        claimsSlot(change.chat.endpoint);
        values[":chat"] = change.chat;
        update = "SET chats.#chat = :chat ADD #load :one, version :one";
        break;
      case "accepted":
        values[":chat"] = change.chat;
        conditions.push("attribute_exists(offers.#chat)");
        update = "SET chats.#chat = :chat REMOVE offers.#chat ADD version :one";
        break;
      case "release":
        Object.assign(values, { ":less": -1 });
        names["#load"] = "load";
        if (change.held === "offer") {
          conditions.push("attribute_exists(offers.#chat)");
          update = "REMOVE offers.#chat ADD #load :less, version :one";
        } else {
          values[":at"] = change.at;
          conditions.push("attribute_exists(chats.#chat)");
          update = "REMOVE chats.#chat SET idleSince = :at ADD #load :less, version :one";
        }
        break;
    }
    let old: Item | undefined;
    try {
      ({ Attributes: old } = await this.config.client.send(
        new UpdateCommand({
          TableName: this.config.table,
          Key: stateKey(agentId),
          UpdateExpression: update,
          ConditionExpression: conditions.join(" AND "),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: "ALL_OLD",
        }),
      ));
    } catch (error) {
      if (error instanceof Error && error.name === "ConditionalCheckFailedException") return undefined;
      throw storageFailure(error);
    }
    if (old === undefined) return undefined;
    const before = toAgentState(old);
    return { before, after: apply(before, agentId, change, now) };
  }
}

function stateItem(state: AgentState): Item {
  return {
    agentId: state.agentId,
    ready: state.ready,
    ...(state.reason === undefined ? {} : { reason: state.reason }),
    endpoints: [...state.endpoints],
    nickname: state.nickname,
    maxChats: state.maxChats,
    readyUntil: state.readyUntil,
    chats: { ...state.chats },
    offers: { ...state.offers },
    load: state.load,
    idleSince: state.idleSince,
    since: state.since,
    ...(state.actor === undefined ? {} : { actor: state.actor }),
  };
}

function toAgentState(item: Item): AgentState {
  const map = <T>(value: unknown, read: (entry: Item) => T): Record<string, T> =>
    Object.fromEntries(Object.entries((value ?? {}) as Record<string, Item>).map(([chatId, entry]) => [chatId, read(entry)]));
  const reason: NotReadyReason | undefined = item.reason === "missed" ? "missed" : item.reason === "profile" ? "profile" : undefined;
  return {
    agentId: String(item.agentId),
    ready: item.ready === true,
    ...(reason === undefined ? {} : { reason }),
    endpoints: Array.isArray(item.endpoints) ? item.endpoints.map(String) : [],
    nickname: String(item.nickname),
    maxChats: Number(item.maxChats),
    readyUntil: Number(item.readyUntil ?? 0),
    chats: map(item.chats, (chat) => ({ endpoint: String(chat.endpoint), since: String(chat.since), expiresAt: Number(chat.expiresAt) })),
    offers: map(item.offers, (offer) => ({
      endpoint: String(offer.endpoint),
      offeredAt: String(offer.offeredAt),
      expiresAt: Number(offer.expiresAt),
    })),
    load: Number(item.load ?? 0),
    idleSince: String(item.idleSince ?? ""),
    since: String(item.since ?? ""),
    ...(typeof item.actor === "string" ? { actor: item.actor } : {}),
  };
}

function toProfile(item: Item): AgentProfile {
  return {
    agentId: String(item.agentId),
    endpoints: Array.isArray(item.endpoints) ? item.endpoints.map(String) : [],
    maxChats: Number(item.maxChats),
    updatedAt: String(item.updatedAt),
  };
}
