import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { isPresent, isReadyOn } from "../../lib/agents/state.ts";
import { isAvailable } from "../../lib/config/availability.ts";
import { StorageUnavailableError } from "../../lib/errors.ts";
import { startTestDynamo, type TestDynamo } from "../support/dynamo.ts";

/**
 * An endpoint's availability as the config store keeps it (lib/dynamo/availability.ts): with each
 * of its services, changed by notifications and by agents going ready and not ready (the agent
 * store, lib/dynamo/agent-store.ts), in the epoch seconds given (presence lapses 60 s after a
 * renewal, as lib/agents/presence.ts sets it).
 */
let db: TestDynamo;
const T = 1_900_000_000;
const at = (seconds: number) => new Date((T + seconds) * 1000);
let endpoint: string;
let count = 0;

beforeAll(async () => {
  db = await startTestDynamo();
});
afterAll(async () => {
  await db?.close();
});
beforeEach(() => {
  count += 1;
  endpoint = `scale_q${count}`;
});

const service = (name: string, chatEndpoint = endpoint) =>
  db.config.putService({ name, ttlSeconds: 3600, chatEndpoint, updatedAt: at(0).toISOString() });
/** Ready on `where` from `second` for 60 s: a renewal when it is ready there already, as a console renews. */
const ready = async (agentId: string, second: number, where = endpoint) => {
  const now = T + second;
  const at = new Date(now * 1000).toISOString();
  const state = await db.agents.getState(agentId);
  if (state !== undefined && isPresent(state, now) && state.endpoints.join() === where) {
    return db.agents.presence(agentId, { kind: "renew", readyUntil: now + 60, at }, now);
  }
  await db.agents.putProfile({ agentId, endpoints: [where], maxChats: 1, updatedAt: at });
  return db.agents.presence(agentId, { kind: "ready", endpoints: [where], nickname: agentId, readyUntil: now + 60, at }, now);
};
const notReady = (agentId: string, second: number) =>
  db.agents.presence(agentId, { kind: "notReady", at: new Date((T + second) * 1000).toISOString() }, T + second);
const open = async (name: string, second: number) => isAvailable((await db.config.loadServiceRoute(name)).availability, at(second));

describe("an endpoint's availability, kept with each of its services", () => {
  it("opens every service of the endpoint when an agent goes ready, and closes them at once when the last one goes not ready", async () => {
    await Promise.all(["s1", "s2", "s3"].map((name) => service(`${endpoint}-${name}`)));
    expect(await open(`${endpoint}-s1`, 0)).toBe(false);
    await ready("ann", 0);
    await ready("bob", 1);
    for (const name of ["s1", "s2", "s3"]) expect(await open(`${endpoint}-${name}`, 1)).toBe(true);
    await notReady("ann", 2);
    expect(await open(`${endpoint}-s2`, 2)).toBe(true);
    await notReady("bob", 3);
    for (const name of ["s1", "s2", "s3"]) expect(await open(`${endpoint}-${name}`, 3)).toBe(false);
  });

  it("stays open while agents renew every 20 s, and lapses 60 s after the last renewal", async () => {
    await service(`${endpoint}-s`);
    for (let second = 0; second <= 300; second += 20) {
      await ready("ann", second);
      expect(await open(`${endpoint}-s`, second + 19)).toBe(true);
    }
    expect(await open(`${endpoint}-s`, 359)).toBe(true);
    expect(await open(`${endpoint}-s`, 360)).toBe(false);
  });

  it("closes at once when the last agent goes not ready while another vanished without a word, and forgets the vanished one", async () => {
    await service(`${endpoint}-s`);
    await ready("ghost", 0);
    for (let second = 0; second <= 120; second += 20) await ready("ann", second);
    await notReady("ann", 125);
    expect(await open(`${endpoint}-s`, 125)).toBe(false);
    const { Items = [] } = await db.client.send(
      new QueryCommand({
        TableName: db.tables.config,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :ready)",
        ExpressionAttributeValues: { ":pk": `endpoint#${endpoint}`, ":ready": "ready#" },
      }),
    );
    expect(Items).toEqual([]);
  });

  it("stays open when one of many agents goes not ready, and ends closed when all go not ready at the same moment", async () => {
    await service(`${endpoint}-s`);
    const agents = Array.from({ length: 12 }, (_, i) => `agent${i}`);
    await Promise.all(agents.map((agent) => ready(agent, 0)));
    await Promise.all(agents.slice(0, 6).map((agent) => notReady(agent, 1)));
    expect(await open(`${endpoint}-s`, 1)).toBe(true);
    await Promise.all(agents.slice(6).map((agent) => notReady(agent, 2)));
    expect(await open(`${endpoint}-s`, 2)).toBe(false);
  });

  it("ends open when agents go ready while the last one goes not ready", async () => {
    await service(`${endpoint}-s`);
    await ready("ann", 0);
    await Promise.all([notReady("ann", 1), ...["bob", "cid", "dee"].map((agent) => ready(agent, 1))]);
    expect(await open(`${endpoint}-s`, 1)).toBe(true);
    expect(await db.agents.readyAgents(endpoint, T + 1)).toBe(3);
  });

  it("gives a service created or moved later its endpoint's availability, and leaves the endpoint it left", async () => {
    const other = `${endpoint}-other`;
    await ready("ann", 0);
    await service(`${endpoint}-late`);
    expect(await open(`${endpoint}-late`, 1)).toBe(true);
    await service(`${endpoint}-late`, other);
    expect(await open(`${endpoint}-late`, 1)).toBe(false);
    await db.config.putNotification({ endpoint: other, available: true, updatedAt: at(1).toISOString() });
    expect(await open(`${endpoint}-late`, 2)).toBe(true);
    // The endpoint it left changes: the service keeps its new endpoint's availability.
    await notReady("ann", 3);
    await ready("bob", 4);
    await db.config.putNotification({ endpoint: other, available: false, updatedAt: at(5).toISOString() });
    expect(await open(`${endpoint}-late`, 5)).toBe(false);
  });

  it("closes every service of the endpoint for the very next request when the notification is withdrawn", async () => {
    const names = Array.from({ length: 60 }, (_, i) => `${endpoint}-n${i}`);
    for (const name of names) await service(name);
    await db.config.putNotification({ endpoint, available: true, updatedAt: at(0).toISOString() });
    expect(await open(names[59] ?? "", 0)).toBe(true);
    await db.config.putNotification({ endpoint, available: false, updatedAt: at(1).toISOString() });
    const states = await Promise.all(names.map((name) => open(name, 1)));
    expect(states.filter(Boolean)).toEqual([]);
  });

  it("counts the agents ready now", async () => {
    await ready("ann", 0);
    await ready("bob", 0);
    await ready("cid", 30);
    expect(await db.agents.readyAgents(endpoint, T + 30)).toBe(3);
    await notReady("bob", 31);
    expect(await db.agents.readyAgents(endpoint, T + 61)).toBe(1);
  });
});

describe("races that must leave every service right", () => {
  it("keeps a service's copies coming when two admins move it to two endpoints at once", async () => {
    for (let trial = 0; trial < 8; trial += 1) {
      const name = `${endpoint}-m${trial}`;
      const [first, second] = [`${endpoint}-a${trial}`, `${endpoint}-b${trial}`];
      await service(name, first);
      await Promise.all([service(name, second), service(name, first)]);
      const on = (await db.config.getService(name))?.chatEndpoint ?? "";
      await db.config.putNotification({ endpoint: on, available: true, updatedAt: at(0).toISOString() });
      expect(await open(name, 0), `${name} on ${on}`).toBe(true);
      await db.config.putNotification({ endpoint: on, available: false, updatedAt: at(1).toISOString() });
      expect(await open(name, 1), `${name} on ${on}`).toBe(false);
    }
  });

  it("keeps a service's copies coming when it is deleted and put again at once", async () => {
    for (let trial = 0; trial < 8; trial += 1) {
      const name = `${endpoint}-d${trial}`;
      await service(name);
      await Promise.all([db.config.deleteService(name), service(name)]);
      if ((await db.config.getService(name)) === undefined) continue;
      await ready(`agent${trial}`, trial * 100);
      expect(await open(name, trial * 100), name).toBe(true);
      await notReady(`agent${trial}`, trial * 100 + 1);
      expect(await open(name, trial * 100 + 1), name).toBe(false);
    }
  });

  it("is open exactly while someone is ready when the same agents go ready and not ready from several consoles at once", async () => {
    // A fixed sequence of pseudo-random choices, the same on every run.
    let seed = 7;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const wrong: string[] = [];
    for (let round = 0; round < 15; round += 1) {
      const where = `${endpoint}-r${round}`;
      await service(`${where}-s`, where);
      await Promise.all(["ann", "bob"].map((agent) => ready(agent, 0, where)));
      await Promise.all(
        Array.from({ length: 24 }, () => {
          const agent = next() < 0.5 ? "ann" : "bob";
          const change = next() < 0.5 ? notReady(agent, 1) : ready(agent, 1, where);
          // Changes of one agent's record that keep losing to the others give up with a 503, which its console tries again.
          return change.catch((error: unknown) => {
            if (!(error instanceof StorageUnavailableError)) throw error;
          });
        }),
      );
      const readyNow = (await Promise.all(["ann", "bob"].map((agent) => db.agents.getState(agent)))).filter((state) =>
        isReadyOn(state, where, T + 2),
      ).length;
      if ((await open(`${where}-s`, 2)) !== readyNow > 0) wrong.push(`${where}: ${readyNow} ready`);
    }
    expect(wrong).toEqual([]);
  });
});

describe("what a renewal costs", () => {
  it("writes only the agent's own item when the endpoint is not due, and the endpoint's items about once per 15 s however many agents renew", async () => {
    await service(`${endpoint}-s`);
    const agents = Array.from({ length: 30 }, (_, i) => `agent${i}`);
    await Promise.all(agents.map((agent) => ready(agent, 0)));
    db.proxy.reset();
    // A minute of renewals, each agent every 20 s, spread over the seconds.
    for (let second = 1; second <= 60; second += 1) {
      await Promise.all(agents.filter((_, i) => (i * 2 + second) % 20 === 0).map((agent) => ready(agent, second)));
    }
    const writes = db.proxy.calls.filter((call) => call.writeUnits > 0);
    const renewals = 90;
    // Each renewal writes its own item; the endpoint's state and the service's copy about once per
    // 15 s (a due endpoint can be extended by two renewals of the same second, one of them in vain).
    expect(writes.length).toBeGreaterThanOrEqual(renewals);
    expect(writes.length).toBeLessThanOrEqual(renewals + 5 * 3);
    expect(await open(`${endpoint}-s`, 60)).toBe(true);
  });
});
