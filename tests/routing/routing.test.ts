import { describe, expect, it } from "vitest";
import { customerDisconnect } from "../../lib/chat/customer.ts";
import { accept, reject, transfer } from "../../lib/routing/offers.ts";
import { parseTask } from "../../lib/routing/work.ts";
import { centre } from "../support/centre.ts";

/**
 * Routing's rules (lib/routing/), in memory on a clock the tests move (tests/support/centre.ts):
 * who is offered a chat, what a refusal, a miss, a free slot and a transfer set in motion, and that
 * racing passes never offer a chat twice nor fill an agent past maxChats. The same stores on
 * dynalite are held to the same contract (tests/contract/), and the whole on `npm start` by
 * tests/e2e/routing.test.ts.
 */
const call = (agentId: string, chatId: string) => ({ agentId, chatId, position: undefined });

describe("who is offered a chat", () => {
  it("offers a new chat to the agent idle longest, then the next chat to the next one", async () => {
    const c = await centre();
    for (const agent of ["anna", "ben", "cleo"]) await c.profile(agent);
    await c.ready("ben");
    await c.advance(5);
    await c.ready("anna");
    await c.advance(5);
    await c.ready("cleo");
    const first = await c.chat();
    await c.route();
    const second = await c.chat();
    await c.route();
    expect(c.offersTo("ben").map((offer) => offer.chatId)).toEqual([first.chatId]);
    expect(c.offersTo("anna").map((offer) => offer.chatId)).toEqual([second.chatId]);
    expect(c.offersTo("cleo")).toEqual([]);
  });

  it("offers to the least loaded agent first where agents take several chats", async () => {
    const c = await centre();
    await c.profile("anna", ["gms_builtin"], 3);
    await c.profile("ben", ["gms_builtin"], 3);
    await c.ready("anna");
    await c.advance(1);
    await c.ready("ben");
    const chats = [];
    for (let i = 0; i < 4; i += 1) {
      chats.push(await c.chat());
      await c.route();
    }
    expect(c.offersTo("anna")).toHaveLength(2);
    expect(c.offersTo("ben")).toHaveLength(2);
  });

  it("gives two agents of maxChats 2 four chats; the fifth waits, and goes at once to the first slot that frees", async () => {
    const c = await centre();
    for (const agent of ["anna", "ben"]) {
      await c.profile(agent, ["gms_builtin"], 2);
      await c.ready(agent);
    }
    const chats = [];
    for (let i = 0; i < 5; i += 1) chats.push(await c.chat());
    await c.route();
    const offered = [...c.offersTo("anna"), ...c.offersTo("ben")];
    expect(offered).toHaveLength(4);
    for (const offer of offered) await accept(c.service, call(c.offersTo("anna").includes(offer) ? "anna" : "ben", offer.chatId));
    const fifth = chats.find((chat) => !offered.some((offer) => offer.chatId === chat.chatId));
    expect(fifth).toBeDefined();
    // Ben's first chat ends: the fifth is offered to ben.
    const benFirst = c.offersTo("ben")[0]?.chatId ?? "";
    const benSession = chats.find((chat) => chat.chatId === benFirst)?.sessionId ?? "";
    await customerDisconnect(c.service, { sessionId: benSession, position: undefined, view: { verbose: false, basePath: "" } });
    await c.route();
    expect(c.offersTo("ben").at(-1)?.chatId).toBe(fifth?.chatId);
  });

  it("offers nothing on a pick endpoint, and routes its waiting chats once it offers them", async () => {
    const c = await centre();
    await c.settings("gms_builtin", { routing: "pick", offerTimeout: 20 });
    await c.profile("anna");
    await c.ready("anna");
    const waiting = await c.chat();
    await c.route();
    expect(c.offersTo("anna")).toEqual([]);
    await c.settings("gms_builtin", { routing: "offer", offerTimeout: 20 });
    await c.route();
    expect(c.offersTo("anna").map((offer) => offer.chatId)).toEqual([waiting.chatId]);
  });

  it("offers a waiting chat to an agent the moment it goes ready", async () => {
    const c = await centre();
    await c.profile("anna");
    const waiting = await c.chat();
    await c.route();
    await c.ready("anna");
    expect(c.offersTo("anna").map((offer) => offer.chatId)).toEqual([waiting.chatId]);
  });
});

describe("refusals and misses", () => {
  it("offers a refused chat to the next agent, never back while another can take it", async () => {
    const c = await centre();
    for (const agent of ["anna", "ben"]) {
      await c.profile(agent);
      await c.ready(agent);
    }
    const { chatId } = await c.chat();
    await c.route();
    expect(c.offersTo("anna").map((offer) => offer.chatId)).toEqual([chatId]);
    await reject(c.service, call("anna", chatId));
    await c.route();
    expect(c.offersTo("ben").map((offer) => offer.chatId)).toEqual([chatId]);
    // Ben refuses too, within anna's cool-off: nobody else can take it, so it waits for it to pass.
    await reject(c.service, call("ben", chatId));
    await c.route();
    expect(c.offersTo("anna")).toHaveLength(1);
    await expect(reject(c.service, call("anna", chatId))).rejects.toMatchObject({ name: "NoOfferError" });
  });

  it("withdraws an offer not answered in time: the agent goes not ready (missed), its other offers and the chat go to others", async () => {
    const c = await centre();
    await c.settings("gms_builtin", { routing: "offer", offerTimeout: 10 });
    await c.profile("anna", ["gms_builtin"], 2);
    await c.profile("ben", ["gms_builtin"], 2);
    await c.ready("anna");
    await c.advance(1);
    const one = await c.chat();
    const two = await c.chat();
    await c.route();
    expect(c.offersTo("anna")).toHaveLength(2);
    await c.ready("ben");
    await c.advance(11);
    const anna = await c.stores.agents.getState("anna");
    expect(anna).toMatchObject({ ready: false, reason: "missed", load: 0 });
    expect(c.heard).toContainEqual(
      expect.objectContaining({ kind: "presence", agentId: "anna", presence: expect.objectContaining({ reason: "missed" }) }),
    );
    expect(
      c
        .offersTo("ben")
        .map((offer) => offer.chatId)
        .sort(),
    ).toEqual([one.chatId, two.chatId].sort());
    // A renewal from anna's console keeps her not ready.
    const { setPresence } = await import("../../lib/agents/presence.ts");
    const renewed = await setPresence(c.service, { agentId: "anna", ready: true, endpoints: undefined, nickname: undefined, renew: true });
    expect(renewed).toMatchObject({ state: "not_ready", reason: "missed" });
  });

  it("settles an offer whose timer was lost at the next pass on its endpoint", async () => {
    const c = await centre();
    await c.settings("gms_builtin", { routing: "offer", offerTimeout: 10 });
    await c.profile("anna");
    await c.profile("ben", ["gms_builtin"], 2);
    await c.ready("anna");
    const { chatId } = await c.chat();
    await c.route();
    // Every pending task is lost (the timer among them).
    expect(c.work.lose()).toBeGreaterThan(0);
    await c.ready("ben");
    await c.advance(20);
    expect((await c.stores.sessions.head(chatId)).chat?.offer?.agentId).toBe("anna");
    // Another chat comes: its pass sweeps the endpoint's expired offers.
    await c.chat();
    await c.route();
    expect((await c.stores.agents.getState("anna"))?.reason).toBe("missed");
    expect(c.offersTo("ben").map((offer) => offer.chatId)).toContain(chatId);
  });
});

describe("transfers", () => {
  it("to an endpoint: offered there, ahead of chats that came after it; the holder's slot frees", async () => {
    const c = await centre();
    await c.settings("sales", { routing: "offer", offerTimeout: 20 });
    await c.profile("anna");
    await c.profile("sam", ["sales"]);
    await c.ready("anna");
    const { chatId } = await c.chat();
    await c.route();
    await accept(c.service, call("anna", chatId));
    await c.advance(60);
    await c.stores.config.putService({ name: "sales", ttlSeconds: 3600, chatEndpoint: "sales", updatedAt: "" });
    await c.stores.config.putNotification({ endpoint: "sales", available: true, updatedAt: "" });
    const later = await c.chat("sales");
    await c.route();
    await transfer(c.service, call("anna", chatId), { endpoint: "sales" });
    await c.ready("sam");
    expect(c.offersTo("sam")[0]?.chatId).toBe(chatId);
    expect(c.offersTo("sam").map((offer) => offer.chatId)).not.toContain(later.chatId);
    expect((await c.stores.agents.getState("anna"))?.load).toBe(0);
  });

  it("to an agent: offered to it alone; refused, the chat goes to its endpoint's routing; an agent not ready is refused", async () => {
    const c = await centre();
    for (const agent of ["anna", "ben", "cleo"]) await c.profile(agent);
    await c.ready("anna");
    const { chatId } = await c.chat();
    await c.route();
    await accept(c.service, call("anna", chatId));
    await expect(transfer(c.service, call("anna", chatId), { agentId: "ben" })).rejects.toMatchObject({ name: "NoOfferError" });
    await c.ready("ben");
    await c.ready("cleo");
    await transfer(c.service, call("anna", chatId), { agentId: "cleo" });
    await c.route();
    expect(c.offersTo("cleo").map((offer) => offer.chatId)).toEqual([chatId]);
    expect(c.offersTo("ben")).toEqual([]);
    await reject(c.service, call("cleo", chatId));
    await c.route();
    // Not back to anna (who handed it on) nor cleo (who refused) while ben can take it.
    expect(c.offersTo("ben").map((offer) => offer.chatId)).toEqual([chatId]);
  });
});

describe("races", () => {
  // The chats' ids are random, and with them the order the passes meet: repeated, so that an order that
  // leaves a slot free while chats wait (about 1 run in 25 before an agent's slot, taken for a
  // moment by a pass that lost its chat, sent the agent a pass of its own) is met on every run.
  it("never offers one chat to two agents nor fills an agent past maxChats, nor leaves a slot free while chats wait, whatever passes race", {
    repeats: 300,
  }, async () => {
    const c = await centre();
    const agents = ["a1", "a2", "a3", "a4"];
    for (const agent of agents) {
      await c.profile(agent, ["gms_builtin"], 2);
      await c.ready(agent);
    }
    const chats = [];
    for (let i = 0; i < 12; i += 1) chats.push(await c.chat());
    // The queued passes, and as many again, all at once.
    const tasks = [
      ...chats.map((chat) => ({ kind: "route", chatId: chat.chatId }) as const),
      ...agents.map((agentId) => ({ kind: "free", agentId }) as const),
    ];
    await Promise.all([...tasks, ...tasks].map((task) => c.service.runTask(task)));
    await c.route();
    const offered = c.heard.flatMap((heard) => (heard.kind === "offered" ? [heard.offer.chatId] : []));
    expect(new Set(offered).size).toBe(offered.length);
    expect(offered).toHaveLength(8);
    for (const agent of agents) expect((await c.stores.agents.getState(agent))?.load).toBe(2);
  });
});

describe("routing's tasks on the queue", () => {
  it("parses only tasks the service sends", () => {
    expect(parseTask(JSON.stringify({ kind: "route", chatId: "AAAAAAAAAAAAAAAAAAAAAA" }))).toEqual({
      kind: "route",
      chatId: "AAAAAAAAAAAAAAAAAAAAAA",
    });
    expect(parseTask(JSON.stringify({ kind: "profile", agentId: "anna" }))).toEqual({ kind: "profile", agentId: "anna" });
    const offer = { endpoint: "gms_builtin", chatId: "AAAAAAAAAAAAAAAAAAAAAA", agentId: "anna", expiresAt: 10, chatExpiresAt: 20 };
    expect(parseTask(JSON.stringify({ kind: "expire", offer: { ...offer, extra: "x" } }))).toEqual({ kind: "expire", offer });
    for (const body of [
      "not json",
      "null",
      JSON.stringify({ kind: "route", chatId: "../etc" }),
      JSON.stringify({ kind: "free", agentId: "" }),
      JSON.stringify({ kind: "expire", offer: { ...offer, expiresAt: "soon" } }),
      JSON.stringify({ kind: "drop-table" }),
    ]) {
      expect(parseTask(body), body).toBeUndefined();
    }
  });
});
