import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signedOutCheck } from "../../lib/agents/sign-out.ts";
import type { PresenceChange, SlotChange } from "../../lib/agents/state.ts";
import { chatIdOf } from "../../lib/session/ids.ts";
import type { ChatState, Claim, Session, TimedEvent } from "../../lib/storage.ts";
import type { Stores } from "../../lib/wire.ts";

/**
 * The store contract: what the domain relies on from every store, run against the stores in memory
 * (lib/memory/) and on dynalite (lib/dynamo/) alike, so that a race or a rule tested in memory in
 * milliseconds holds on DynamoDB too. Each test makes its own ids, so the tests share one set of
 * stores.
 */
export interface StoreFixture {
  readonly stores: Stores;
  close(): Promise<void>;
}

const NOW = 1_900_000_000;
const LATER = NOW + 3600;

function newSession(overrides: Partial<Session> = {}): Session {
  const id = randomUUID();
  return {
    id,
    chatId: chatIdOf(id),
    serviceName: "request-chat",
    chatEndpoint: `ep-${randomBytes(4).toString("hex")}`,
    data: { topic: "billing" },
    createdAt: "2030-03-17T17:46:40.000Z",
    ttlSeconds: 3600,
    expiresAt: LATER,
    ...overrides,
  };
}

function newChat(session: Session, overrides: Partial<ChatState> = {}): ChatState {
  return {
    chatId: session.chatId,
    sessionId: session.id,
    chatSessionId: randomBytes(8).toString("hex").toUpperCase(),
    phase: "WAITING",
    startedAt: "2030-03-17T17:46:40.000Z",
    endpoint: session.chatEndpoint,
    customerNickname: "Anna",
    customer: { firstName: "Anna", subject: "Billing" },
    userId: "U1",
    secureKey: "K1",
    queuedAt: "2030-03-17T17:46:40.000Z",
    expiresAt: session.expiresAt,
    transcriptKey: randomBytes(32),
    ...overrides,
  };
}

const event = (text: string, party: "CLIENT" | "AGENT" = "CLIENT"): TimedEvent => ({
  type: "Message.Text",
  nickname: party === "CLIENT" ? "Anna" : "Ben",
  text,
  party,
  offset: 1,
  at: "2030-03-17T17:46:41.000Z",
});

const post = (party: "CLIENT" | "AGENT", agentId = "ben", bytes = 600): Claim => ({
  kind: "post",
  by: party === "CLIENT" ? { party } : { party, agentId },
  bytes,
  maxEvents: 1000,
  maxBytes: 512 * 1024,
});
const accept = (agentId: string): Claim => ({
  kind: "change",
  from: ["WAITING"],
  change: { phase: "ACCEPTED", agentId, agentNickname: agentId, offered: false },
});

/** Ready on `endpoints` (those of its profile, unless named) for a minute from NOW. */
const readyOn = (endpoints?: readonly string[], until = NOW + 60): PresenceChange => ({
  kind: "ready",
  endpoints,
  nickname: "Agent",
  readyUntil: until,
  at: "2030-03-17T17:46:40.000Z",
});
const offerOf = (chatId: string, endpoint: string, expiresAt = NOW + 20): SlotChange => ({
  kind: "offer",
  chatId,
  offer: { endpoint, offeredAt: "2030-03-17T17:46:40.000Z", expiresAt },
  targeted: false,
});

export function storeContract(name: string, start: () => Promise<StoreFixture>): void {
  describe(`the store contract: ${name}`, () => {
    let fixture: StoreFixture;
    let stores: Stores;
    beforeAll(async () => {
      fixture = await start();
      stores = fixture.stores;
    });
    afterAll(async () => {
      await fixture?.close();
    });

    /** An agent with a profile on `endpoints`, ready on them. */
    async function readyAgent(agentId: string, endpoints: readonly string[], maxChats = 2) {
      await stores.agents.putProfile({ agentId, endpoints, maxChats, updatedAt: "t0" });
      return stores.agents.presence(agentId, readyOn(), NOW);
    }

    /** A session with a chat whose opening notice is written, waiting. */
    async function waitingChat(overrides: Partial<ChatState> = {}) {
      const session = newSession();
      await stores.sessions.create(session);
      const chat = newChat(session, overrides);
      expect(await stores.sessions.createChat(chat)).toBe(true);
      expect(await stores.sessions.write(chat, 1, { ...event("has joined"), type: "Notice.Joined" })).toBe("written");
      return { session, chat };
    }

    describe("sessions", () => {
      it("creates a session once: a second create with the same id finds the first", async () => {
        const session = newSession();
        expect(await stores.sessions.create(session)).toEqual({ stored: true });
        expect(await stores.sessions.get(session.chatId)).toEqual(session);
        const other = { ...session, data: { other: "1" }, createdAt: "2030-03-17T17:50:00.000Z" };
        expect(await stores.sessions.create(other)).toEqual({ stored: false, existing: session });
        expect(await stores.sessions.get(chatIdOf(randomUUID()))).toBeUndefined();
      });

      it("keeps the first record of an Idempotency-Key", async () => {
        const key = randomBytes(16).toString("base64url");
        const first = { key, sessionId: randomUUID(), requestHash: "h1", expiresAt: LATER };
        expect(await stores.sessions.putIdempotency(first)).toEqual(first);
        expect(await stores.sessions.putIdempotency({ ...first, sessionId: randomUUID(), requestHash: "h2" })).toEqual(first);
        expect(await stores.sessions.getIdempotency(key)).toEqual(first);
        await stores.sessions.endIdempotency(key, NOW);
        expect(await stores.sessions.getIdempotency(key)).toMatchObject({ sessionId: first.sessionId, expiresAt: NOW });
      });

      it("attaches a chat's other keys to a live session only, and reads them with its context data", async () => {
        const session = newSession();
        await stores.sessions.create(session);
        expect(await stores.sessions.attach(session.chatId, { order: "42" }, NOW)).toBe(true);
        expect(await stores.sessions.attach(session.chatId, { order: "43" }, LATER)).toBe(false);
        expect(await stores.sessions.attach(randomUUID(), { order: "1" }, NOW)).toBe(false);
        const data = await stores.sessions.attachedData([session.chatId, chatIdOf(randomUUID())]);
        expect([...data]).toEqual([[session.chatId, { topic: "billing", order: "42" }]]);
      });

      it("ends a session: its data goes, and it expires at once", async () => {
        const session = newSession();
        await stores.sessions.create(session);
        await stores.sessions.attach(session.chatId, { order: "42" }, NOW);
        await stores.sessions.endSession(session.chatId, NOW);
        const ended = await stores.sessions.get(session.chatId);
        expect(ended).toMatchObject({ id: session.id, data: {}, expiresAt: NOW });
        expect(ended?.attached).toBeUndefined();
        // Nothing is created for an id that has no session.
        const absent = chatIdOf(randomUUID());
        await stores.sessions.endSession(absent, NOW);
        expect(await stores.sessions.get(absent)).toBeUndefined();
      });
    });

    describe("chats and their transcripts", () => {
      it("opens one chat per session, and reads it with its session and transcript", async () => {
        const { session, chat } = await waitingChat();
        expect(await stores.sessions.createChat({ ...chat, chatSessionId: "OTHER" })).toBe(false);
        const head = await stores.sessions.head(session.chatId);
        expect(head).toMatchObject({ session: { id: session.id }, chat: { chatSessionId: chat.chatSessionId, phase: "WAITING" } });
        expect(head.lastPosition).toBe(1);
        const read = await stores.sessions.read(session.chatId, 0, 10);
        expect(read.entries).toEqual([expect.objectContaining({ position: 1, type: "Notice.Joined", text: "has joined" })]);
        expect(read.more).toBe(false);
      });

      it("reads many chats in one call, those that exist", async () => {
        const [first, second] = [await waitingChat(), await waitingChat({ customerNickname: "Ben" })];
        const found = await stores.sessions.chats([first.chat.chatId, chatIdOf(randomUUID()), second.chat.chatId]);
        expect([...found.keys()].sort()).toEqual([first.chat.chatId, second.chat.chatId].sort());
        expect(found.get(second.chat.chatId)).toMatchObject({ customerNickname: "Ben", phase: "WAITING", sessionId: second.session.id });
      });

      it("gives every concurrent claim its own position, in order", async () => {
        const { session, chat } = await waitingChat();
        const claims = await Promise.all(Array.from({ length: 20 }, () => stores.sessions.claim(session.chatId, post("CLIENT"), NOW)));
        const positions = claims.map((claimed) => claimed?.position).sort((a, b) => Number(a) - Number(b));
        expect(positions).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
        await Promise.all(positions.map((position) => stores.sessions.write(chat, Number(position), event(`m${position}`))));
        const page = await stores.sessions.read(session.chatId, 1, 5);
        expect(page.entries.map((entry) => entry.position)).toEqual([2, 3, 4, 5, 6]);
        expect(page.more).toBe(true);
        expect((await stores.sessions.head(session.chatId)).lastPosition).toBe(21);
      });

      it("lets exactly one of several racing agents accept, and only that agent post", async () => {
        const { session } = await waitingChat();
        const agents = ["ann", "ben", "cat", "dan", "eve"];
        expect(await stores.sessions.claim(session.chatId, post("AGENT", "ann"), NOW)).toBeUndefined();
        const outcomes = await Promise.all(agents.map((agentId) => stores.sessions.claim(session.chatId, accept(agentId), NOW)));
        const winners = outcomes.filter((outcome) => outcome !== undefined);
        expect(winners).toHaveLength(1);
        const winner = winners[0]?.chat.agentId as string;
        expect(winners[0]?.chat).toMatchObject({ phase: "ACCEPTED", agentNickname: winner });
        expect(await stores.sessions.claim(session.chatId, post("AGENT", winner), NOW)).toBeDefined();
        expect(await stores.sessions.claim(session.chatId, post("AGENT", agents.find((a) => a !== winner) as string), NOW)).toBeUndefined();
        expect(await stores.sessions.claim(session.chatId, post("CLIENT"), NOW)).toBeDefined();
      });

      it("refuses claims on an ended or expired chat, but a position taken again", async () => {
        const { session } = await waitingChat();
        expect(await stores.sessions.claim(session.chatId, post("CLIENT"), LATER)).toBeUndefined();
        const ended = await stores.sessions.claim(
          session.chatId,
          { kind: "change", from: ["WAITING", "ACCEPTED"], change: { phase: "ENDED" } },
          NOW,
        );
        expect(ended?.chat.phase).toBe("ENDED");
        expect(await stores.sessions.claim(session.chatId, post("CLIENT"), NOW)).toBeUndefined();
        expect(await stores.sessions.claim(session.chatId, accept("ann"), NOW)).toBeUndefined();
        expect(await stores.sessions.claim(session.chatId, { kind: "again" }, NOW)).toMatchObject({ position: (ended?.position ?? 0) + 1 });
        expect(await stores.sessions.claim(chatIdOf(randomUUID()), { kind: "again" }, NOW)).toBeUndefined();
      });

      it("refuses messages past the caps of messages and bytes, and typing notices past their own, which leave messages room", async () => {
        const { session } = await waitingChat();
        const capped = (maxEvents: number, maxBytes: number): Claim => ({
          kind: "post",
          by: { party: "CLIENT" },
          bytes: 100,
          maxEvents,
          maxBytes,
        });
        const claim = (what: Claim) => stores.sessions.claim(session.chatId, what, NOW);
        expect(await claim(capped(2, 10_000))).toMatchObject({ position: 2 });
        expect(await claim(capped(2, 10_000))).toMatchObject({ position: 3 });
        expect(await claim(capped(2, 10_000))).toBeUndefined();
        // 200 bytes so far: one more 100-byte message fits in 300.
        expect(await claim(capped(100, 300))).toMatchObject({ position: 4 });
        expect(await claim(capped(100, 300))).toBeUndefined();
        const typing: Claim = { kind: "typing", by: { party: "CLIENT" }, maxTyping: 2 };
        expect(await claim(typing)).toMatchObject({ position: 5 });
        expect(await claim(typing)).toMatchObject({ position: 6 });
        expect(await claim(typing)).toBeUndefined();
        // The typing notices took neither messages' room nor bytes.
        expect(await claim(capped(4, 400))).toMatchObject({ position: 7 });
      });

      it("fills a claimed position once: a reader may give it up first, a second write finds it taken", async () => {
        const { session, chat } = await waitingChat();
        const first = await stores.sessions.claim(session.chatId, post("CLIENT"), NOW);
        const second = await stores.sessions.claim(session.chatId, post("CLIENT"), NOW);
        expect(await stores.sessions.giveUp(chat, first?.position as number)).toBe(true);
        expect(await stores.sessions.write(chat, first?.position as number, event("late"))).toBe("givenUp");
        expect(await stores.sessions.write(chat, second?.position as number, event("on time"))).toBe("written");
        expect(await stores.sessions.write(chat, second?.position as number, event("again"))).toBe("taken");
        expect(await stores.sessions.giveUp(chat, second?.position as number)).toBe(false);
        const { entries } = await stores.sessions.read(session.chatId, 1, 10);
        expect(entries).toEqual([{ position: 2, givenUp: true }, expect.objectContaining({ position: 3, text: "on time" })]);
      });

      it("moves a chat's counter up, never down", async () => {
        const { session } = await waitingChat();
        await stores.sessions.advance(session.chatId, 10);
        await stores.sessions.advance(session.chatId, 5);
        expect(await stores.sessions.claim(session.chatId, post("CLIENT"), NOW)).toMatchObject({ position: 11 });
      });

      it("erases a chat: ended, off the queue, its customer and transcript unreadable", async () => {
        const { session, chat } = await waitingChat();
        const claimed = await stores.sessions.claim(session.chatId, post("CLIENT"), NOW);
        await stores.sessions.write(chat, claimed?.position as number, event("my card number"));
        await stores.sessions.eraseChat(session.chatId, NOW);
        const read = await stores.sessions.read(session.chatId, 0, 10);
        expect(read.chat).toMatchObject({ phase: "ENDED", expiresAt: NOW, customerNickname: "" });
        expect(read.chat?.customer).toEqual({});
        expect(read.chat?.transcriptKey).toBeUndefined();
        expect(read.entries.map((entry) => ("text" in entry ? entry.text : ""))).toEqual(["", ""]);
        // A session that had no chat gets an ended one, so that a late create cannot open it.
        const bare = newSession();
        await stores.sessions.create(bare);
        await stores.sessions.eraseChat(bare.chatId, NOW);
        expect(await stores.sessions.createChat(newChat(bare))).toBe(false);
      });
    });

    describe("push subscriptions", () => {
      const LIMITS = { topics: 12, chatListeners: 3 };
      const queueTopic = () => ({ kind: "queue" as const, endpoint: `q-${randomBytes(4).toString("hex")}` });
      const chatTopic = async () => ({ kind: "chat" as const, chatId: (await waitingChat()).chat.chatId });

      it("lists a topic's listeners, forgets one, and forgets a connection's every topic", async () => {
        const chat = await chatTopic();
        const queue = queueTopic();
        expect(await stores.push.subscribe("c1", [chat, queue], LATER, LIMITS)).toBe(true);
        expect(await stores.push.subscribe("c2", [chat, queue], NOW, LIMITS)).toBe(true);
        expect((await stores.push.listening(chat, 10)).map((s) => s.connectionId)).toEqual(["c1", "c2"]);
        // A chat's listeners live as long as the chat; the others as their subscription.
        expect((await stores.push.listening(chat, 10))[0]?.expiresAt).toBe(LATER);
        expect((await stores.push.listening(queue, 10)).sort((a, b) => (a.connectionId < b.connectionId ? -1 : 1))).toEqual([
          { connectionId: "c1", expiresAt: LATER, since: 0 },
          { connectionId: "c2", expiresAt: NOW, since: 0 },
        ]);
        expect(await stores.push.listening(queue, 1)).toHaveLength(1);
        // The chat's record names its listeners, for the claims that write its events.
        expect((await stores.sessions.claim(chat.chatId, post("CLIENT"), NOW))?.chat.listeners?.slice().sort()).toEqual(["c1", "c2"]);
        await stores.push.unsubscribe(chat, "c2");
        await stores.push.unsubscribe(queue, "c2");
        expect((await stores.push.listening(chat, 10)).map((s) => s.connectionId)).toEqual(["c1"]);
        expect((await stores.push.listening(queue, 10)).map((s) => s.connectionId)).toEqual(["c1"]);
        await stores.push.forget("c1");
        expect(await stores.push.listening(chat, 10)).toEqual([]);
        expect(await stores.push.listening(queue, 10)).toEqual([]);
      });

      it("holds a connection to its number of topics, but a renewal always fits", async () => {
        const connection = `c-${randomUUID()}`;
        const topics = [queueTopic(), queueTopic(), queueTopic()];
        expect(await stores.push.subscribe(connection, topics, LATER, { ...LIMITS, topics: 3 })).toBe(true);
        expect(await stores.push.subscribe(connection, [queueTopic()], LATER, { ...LIMITS, topics: 3 })).toBe(false);
        expect(await stores.push.subscribe(connection, topics, LATER + 60, { ...LIMITS, topics: 3 })).toBe(true);
        expect(await stores.push.subscribe(connection, topics, LATER + 90, { ...LIMITS, topics: 3 }, 1_234)).toBe(true);
        expect(await stores.push.listening(topics[0] as never, 10)).toEqual([
          { connectionId: connection, expiresAt: LATER + 90, since: 1_234 },
        ]);
      });

      it("forgets an unsubscribed topic on the connection's side too: it names it no more, and has room for another", async () => {
        const connection = `c-${randomUUID()}`;
        const chat = await chatTopic();
        const topics = [chat, queueTopic(), queueTopic()];
        expect(await stores.push.subscribe(connection, topics, LATER, { ...LIMITS, topics: 3 })).toBe(true);
        await stores.push.unsubscribe(chat, connection);
        expect(await stores.push.subscribe(connection, [queueTopic()], LATER, { ...LIMITS, topics: 3 })).toBe(true);
        expect(await stores.push.listening(chat, 10)).toEqual([]);
      });

      it("holds a chat to its number of listeners, and takes none for a chat that is not there", async () => {
        const chat = await chatTopic();
        for (const id of ["a", "b", "c"]) expect(await stores.push.subscribe(`${chat.chatId}-${id}`, [chat], LATER, LIMITS)).toBe(true);
        expect(await stores.push.subscribe(`${chat.chatId}-d`, [chat], LATER, LIMITS)).toBe(false);
        expect(await stores.push.subscribe(`${chat.chatId}-a`, [chat], LATER, LIMITS)).toBe(true);
        expect(await stores.push.listening(chat, 10)).toHaveLength(3);
        expect(await stores.push.subscribe("nobody", [{ kind: "chat", chatId: chatIdOf(randomUUID()) }], LATER, LIMITS)).toBe(false);
      });
    });

    describe("the endpoints' queues", () => {
      const entry = (endpoint: string, minute: number) => ({
        endpoint,
        chatId: chatIdOf(randomUUID()),
        queuedAt: `2030-03-17T17:4${minute}:00.000Z`,
        expiresAt: LATER,
      });

      it("lists an endpoint's waiting chats oldest first, a page at a time, until they leave", async () => {
        const endpoint = `q-${randomBytes(4).toString("hex")}`;
        const entries = [3, 1, 4, 0, 2].map((minute) => entry(endpoint, minute));
        for (const waiting of entries) await stores.routing.putWaiting(waiting);
        await stores.routing.putWaiting(entry(`${endpoint}-other`, 0));
        const oldestFirst = [...entries].sort((a, b) => (a.queuedAt < b.queuedAt ? -1 : 1));
        const first = await stores.routing.waiting(endpoint, { limit: 3 });
        expect(first.entries).toEqual(oldestFirst.slice(0, 3));
        const second = await stores.routing.waiting(endpoint, { limit: 3, ...(first.next === undefined ? {} : { after: first.next }) });
        expect(second.entries).toEqual(oldestFirst.slice(3));
        expect(second.next).toBeUndefined();
        await stores.routing.dropWaiting(oldestFirst[0] as never);
        await stores.routing.dropWaiting(oldestFirst[0] as never);
        expect((await stores.routing.waiting(endpoint, { limit: 10 })).entries).toEqual(oldestFirst.slice(1));
        await expect(stores.routing.waiting(endpoint, { limit: 3, after: "not-a-cursor" })).rejects.toThrow(/after/);
      });
    });

    describe("agents", () => {
      const agent = () => `a-${randomBytes(4).toString("hex")}`;
      const endpoint = () => `ep-${randomBytes(4).toString("hex")}`;

      it("keeps profiles: replaced, read, listed a page at a time by agent id, deleted", async () => {
        const ids = [agent(), agent(), agent()].sort();
        for (const agentId of ids) {
          expect(await stores.agents.putProfile({ agentId, endpoints: ["e1"], maxChats: 2, updatedAt: "t1" })).toBe(true);
        }
        expect(await stores.agents.putProfile({ agentId: ids[0] as string, endpoints: ["e1", "e2"], maxChats: 3, updatedAt: "t2" })).toBe(
          false,
        );
        expect(await stores.agents.getProfile(ids[0] as string)).toEqual({
          agentId: ids[0],
          endpoints: ["e1", "e2"],
          maxChats: 3,
          updatedAt: "t2",
        });
        const seen: string[] = [];
        let after: string | undefined;
        do {
          const page = await stores.agents.profiles({ limit: 2, ...(after === undefined ? {} : { after }) });
          expect(page.profiles.length).toBeLessThanOrEqual(2);
          seen.push(...page.profiles.map((profile) => profile.agentId));
          after = page.next;
        } while (after !== undefined);
        expect(seen).toEqual([...seen].sort());
        for (const agentId of ids) expect(seen).toContain(agentId);
        expect(await stores.agents.deleteProfile(ids[1] as string)).toBe(true);
        expect(await stores.agents.deleteProfile(ids[1] as string)).toBe(false);
        expect(await stores.agents.getProfile(ids[1] as string)).toBeUndefined();
      });

      it("remembers a sign-in that ended until its tokens cannot be alive, and no other", async () => {
        const family = `family-${randomUUID()}`;
        expect(await stores.agents.signedOutUntil(family)).toBeUndefined();
        await stores.agents.signOut(family, 2_000);
        expect(await stores.agents.signedOutUntil(family)).toBe(2_000);
        // The time decides (lib/agents/sign-out.ts): remembered till 2,000, ended before it, not after.
        const check = (now: number) => signedOutCheck({ agents: stores.agents, now: () => new Date(now * 1000) })(family);
        expect([await check(1_999), await check(2_000)]).toEqual([true, false]);
        expect(await stores.agents.signedOutUntil(`family-${randomUUID()}`)).toBeUndefined();
      });

      it("goes ready, renews only while ready, goes not ready keeping what it holds, and is restricted by its profile", async () => {
        const agentId = agent();
        const [e1, e2] = [endpoint(), endpoint()];
        expect(await stores.agents.presence(agentId, { kind: "renew", readyUntil: NOW + 60, at: "t0" }, NOW)).toBeUndefined();
        // Without a profile, or on an endpoint it does not name, it cannot go ready.
        expect(await stores.agents.presence(agentId, readyOn([e1]), NOW)).toBeUndefined();
        await stores.agents.putProfile({ agentId, endpoints: [e1, e2], maxChats: 2, updatedAt: "t0" });
        expect(await stores.agents.presence(agentId, readyOn([e1, endpoint()]), NOW)).toBeUndefined();
        const ready = await stores.agents.presence(agentId, readyOn(), NOW);
        expect(ready?.before).toBeUndefined();
        expect(ready?.after).toMatchObject({ agentId, ready: true, endpoints: [e1, e2], maxChats: 2, load: 0, readyUntil: NOW + 60 });
        const renewed = await stores.agents.presence(agentId, { kind: "renew", readyUntil: NOW + 90, at: "t1" }, NOW + 30);
        expect(renewed?.after.readyUntil).toBe(NOW + 90);
        expect(await stores.agents.change(agentId, offerOf("c1", e1), NOW)).toBeDefined();
        // Its profile now gives it e2 only, one chat at a time: it keeps its offer.
        await stores.agents.putProfile({ agentId, endpoints: [e2], maxChats: 1, updatedAt: "t2" });
        const restricted = await stores.agents.presence(agentId, { kind: "restrict", at: "t2" }, NOW);
        expect(restricted?.after).toMatchObject({ ready: true, endpoints: [e2], maxChats: 1, load: 1 });
        expect(await stores.agents.presence(agentId, { kind: "restrict", at: "t3" }, NOW)).toBeUndefined();
        expect(await stores.agents.readyAgents(e1, NOW)).toBe(0);
        expect(await stores.agents.readyAgents(e2, NOW)).toBe(1);
        // A profile deleted: not ready (reason profile); a miss says so too.
        expect(await stores.agents.deleteProfile(agentId)).toBe(true);
        expect((await stores.agents.presence(agentId, { kind: "restrict", at: "t3" }, NOW))?.after).toMatchObject({
          ready: false,
          reason: "profile",
        });
        await stores.agents.putProfile({ agentId, endpoints: [e2], maxChats: 1, updatedAt: "t3" });
        expect((await stores.agents.presence(agentId, readyOn(), NOW))?.after).toMatchObject({ ready: true, endpoints: [e2], load: 1 });
        const missed = await stores.agents.presence(agentId, { kind: "notReady", reason: "missed", at: "t4" }, NOW);
        expect(missed?.after).toMatchObject({ ready: false, reason: "missed", offers: { c1: { endpoint: e1 } }, load: 1 });
        expect(await stores.agents.presence(agentId, { kind: "renew", readyUntil: NOW + 120, at: "t5" }, NOW)).toBeUndefined();
        expect(await stores.agents.readyAgents(e2, NOW)).toBe(0);
        expect((await stores.agents.getState(agentId))?.ready).toBe(false);
      });

      it("runs `alongside` with what a change of presence does, once it is written", async () => {
        const agentId = agent();
        const seen: unknown[] = [];
        await stores.agents.putProfile({ agentId, endpoints: [endpoint()], maxChats: 1, updatedAt: "t0" });
        const changed = await stores.agents.presence(agentId, readyOn(), NOW, async (done) => {
          seen.push(done.after.ready, (await stores.agents.getState(agentId))?.ready);
        });
        expect(changed?.after.ready).toBe(true);
        expect(seen).toEqual([true, true]);
      });

      it("takes offers up to maxChats on its endpoints only, accepts and lets go of them, an ended chat freeing its slot", async () => {
        const agentId = agent();
        const e1 = endpoint();
        expect(await stores.agents.change(agentId, offerOf("c0", e1), NOW)).toBeUndefined();
        await readyAgent(agentId, [e1], 2);
        expect(await stores.agents.change(agentId, offerOf("c1", endpoint()), NOW)).toBeUndefined();
        expect((await stores.agents.change(agentId, offerOf("c1", e1), NOW))?.after.load).toBe(1);
        expect(await stores.agents.change(agentId, offerOf("c1", e1), NOW)).toBeUndefined();
        expect((await stores.agents.change(agentId, offerOf("c2", e1), NOW))?.after.load).toBe(2);
        expect(await stores.agents.change(agentId, offerOf("c3", e1), NOW)).toBeUndefined();
        const held = { endpoint: e1, since: "t1", expiresAt: LATER };
        const accepted = await stores.agents.change(agentId, { kind: "accepted", chatId: "c1", chat: held }, NOW);
        expect(accepted?.after).toMatchObject({ load: 2, chats: { c1: held }, offers: { c2: { endpoint: e1 } } });
        expect(await stores.agents.change(agentId, { kind: "accepted", chatId: "c9", chat: held }, NOW)).toBeUndefined();
        const ended = await stores.agents.change(
          agentId,
          { kind: "release", chatId: "c1", held: "chat", at: "2030-03-17T18:00:00.000Z" },
          NOW,
        );
        expect(ended?.after).toMatchObject({ load: 1, chats: {}, idleSince: "2030-03-17T18:00:00.000Z" });
        expect(await stores.agents.change(agentId, { kind: "release", chatId: "c1", held: "chat", at: "t" }, NOW)).toBeUndefined();
        const withdrawn = await stores.agents.change(agentId, { kind: "release", chatId: "c2", held: "offer", at: "t" }, NOW);
        expect(withdrawn?.after).toMatchObject({ load: 0, offers: {}, idleSince: "2030-03-17T18:00:00.000Z" });
      });

      it("never fills an agent past maxChats, whatever races", async () => {
        const agentId = agent();
        const e1 = endpoint();
        await readyAgent(agentId, [e1], 3);
        const outcomes = await Promise.all(Array.from({ length: 12 }, (_, i) => stores.agents.change(agentId, offerOf(`c${i}`, e1), NOW)));
        expect(outcomes.filter((outcome) => outcome !== undefined)).toHaveLength(3);
        const state = await stores.agents.getState(agentId);
        expect(state?.load).toBe(3);
        expect(Object.keys(state?.offers ?? {})).toHaveLength(3);
      });
    });

    describe("routing's index, settings and offers", () => {
      const endpoint = () => `r-${randomBytes(4).toString("hex")}`;

      it("keeps an endpoint's settings", async () => {
        const e1 = endpoint();
        expect(await stores.routing.settings(e1)).toBeUndefined();
        await stores.routing.putSettings(e1, { routing: "pick", offerTimeout: 30, updatedAt: "t1" });
        expect(await stores.routing.settings(e1)).toEqual({ routing: "pick", offerTimeout: 30, updatedAt: "t1" });
      });

      it("lists the agents with a free slot least loaded first, then idle longest, and follows their changes", async () => {
        const e1 = endpoint();
        const entries = [
          { endpoint: e1, agentId: "cleo", load: 1, idleSince: "2030-03-17T17:00:00.000Z" },
          { endpoint: e1, agentId: "ben", load: 0, idleSince: "2030-03-17T17:30:00.000Z" },
          { endpoint: e1, agentId: "anna", load: 0, idleSince: "2030-03-17T17:10:00.000Z" },
          { endpoint: `${e1}-other`, agentId: "dan", load: 0, idleSince: "2030-03-17T16:00:00.000Z" },
        ];
        await stores.routing.changeFree({ put: entries, drop: [] });
        expect((await stores.routing.free(e1, 5)).map((entry) => entry.agentId)).toEqual(["anna", "ben", "cleo"]);
        expect(await stores.routing.free(e1, 1)).toEqual([entries[2]]);
        // Anna takes a chat: her entry moves behind ben's.
        const busier = { ...entries[2], load: 1 } as (typeof entries)[number];
        await stores.routing.changeFree({ put: [busier], drop: [entries[2] as (typeof entries)[number]] });
        expect((await stores.routing.free(e1, 5)).map((entry) => entry.agentId)).toEqual(["ben", "cleo", "anna"]);
        await stores.routing.changeFree({ put: [], drop: entries });
        expect((await stores.routing.free(e1, 5)).map((entry) => entry.agentId)).toEqual(["anna"]);
      });

      it("lists an endpoint's offers past due, oldest first, until they are dropped", async () => {
        const e1 = endpoint();
        const offer = (agentId: string, expiresAt: number) => ({
          endpoint: e1,
          chatId: chatIdOf(randomUUID()),
          agentId,
          expiresAt,
          chatExpiresAt: LATER,
        });
        const [late, later, notYet] = [offer("a", NOW - 5), offer("b", NOW), offer("c", NOW + 5)];
        for (const entry of [notYet, later, late]) await stores.routing.putOffer(entry);
        expect(await stores.routing.expiredOffers(e1, NOW, 10)).toEqual([late, later]);
        expect(await stores.routing.expiredOffers(e1, NOW, 1)).toEqual([late]);
        await stores.routing.dropOffer(late);
        expect(await stores.routing.expiredOffers(e1, NOW + 10, 10)).toEqual([later, notYet]);
      });
    });

    describe("offers of chats", () => {
      const offer = (agentId: string, expiresAt = NOW + 20) => ({
        agentId,
        nickname: agentId,
        offeredAt: "2030-03-17T17:46:40.000Z",
        expiresAt,
      });

      it("offers a waiting chat to one agent at a time: of racing offers exactly one wins", async () => {
        const { chat } = await waitingChat();
        const outcomes = await Promise.all(
          ["a", "b", "c", "d"].map((agentId) =>
            stores.sessions.route(chat.chatId, { kind: "offer", offer: offer(agentId), cooloffSeconds: 20 }, NOW),
          ),
        );
        const won = outcomes.filter((outcome) => "chat" in outcome);
        expect(won).toHaveLength(1);
        const holder = (won[0] as { chat: ChatState }).chat.offer?.agentId;
        expect((await stores.sessions.head(chat.chatId)).chat?.offer).toEqual(offer(holder as string));
        // The others are told what they met.
        for (const outcome of outcomes.filter((o) => "refused" in o))
          expect((outcome as { refused: ChatState }).refused.offer?.agentId).toBe(holder);
      });

      it("lets only the agent offered a chat accept it before the offer expires; another cannot take it from the queue", async () => {
        const { chat } = await waitingChat();
        await stores.sessions.route(chat.chatId, { kind: "offer", offer: offer("ann", NOW + 20), cooloffSeconds: 20 }, NOW);
        const take = (agentId: string, offered: boolean, at: number) =>
          stores.sessions.claim(
            chat.chatId,
            { kind: "change", from: ["WAITING"], change: { phase: "ACCEPTED", agentId, agentNickname: agentId, offered } },
            at,
          );
        expect(await take("ben", false, NOW)).toBeUndefined();
        expect(await take("ben", true, NOW)).toBeUndefined();
        expect(await take("ann", true, NOW + 20)).toBeUndefined();
        const accepted = await take("ann", true, NOW + 19);
        expect(accepted?.chat).toMatchObject({ phase: "ACCEPTED", agentId: "ann" });
        expect(accepted?.chat.offer).toBeUndefined();
      });

      it("withdraws an offer: refused (not offered to that agent again within the cool-off), or expired only once due", async () => {
        const { chat } = await waitingChat();
        const route = (change: Parameters<typeof stores.sessions.route>[1], at = NOW) => stores.sessions.route(chat.chatId, change, at);
        await route({ kind: "offer", offer: offer("ann", NOW + 20), cooloffSeconds: 20 });
        expect(await route({ kind: "withdraw", agentId: "ben", refused: true, expired: false })).toHaveProperty("refused");
        expect(await route({ kind: "withdraw", agentId: "ann", refused: false, expired: true }, NOW + 19)).toHaveProperty("refused");
        const refused = await route({ kind: "withdraw", agentId: "ann", refused: true, expired: false }, NOW + 5);
        expect(refused).toMatchObject({ chat: { rejectedBy: { ann: NOW + 5 } } });
        expect((refused as { chat: ChatState }).chat.offer).toBeUndefined();
        expect(await route({ kind: "offer", offer: offer("ann"), cooloffSeconds: 20 }, NOW + 10)).toHaveProperty("refused");
        expect(await route({ kind: "offer", offer: offer("ann"), cooloffSeconds: 20 }, NOW + 25)).toHaveProperty("chat");
        expect(await route({ kind: "withdraw", agentId: "ann", refused: false, expired: true }, NOW + 40)).toHaveProperty("chat");
      });

      it("hands a chat on: back to waiting on another endpoint, its holder not offered it back at once; to a named agent, that agent's alone until untargeted", async () => {
        const { chat } = await waitingChat();
        const claim = (change: Claim) => stores.sessions.claim(chat.chatId, change, NOW);
        await claim(accept("ann"));
        const moved = await claim({
          kind: "change",
          from: ["ACCEPTED"],
          change: { phase: "WAITING", from: "ann", endpoint: "sales", target: "ben" },
        });
        expect(moved?.chat).toMatchObject({
          phase: "WAITING",
          endpoint: "sales",
          target: "ben",
          rejectedBy: { ann: NOW },
          queuedAt: chat.queuedAt,
        });
        expect(moved?.chat.agentId).toBeUndefined();
        expect(await stores.sessions.route(chat.chatId, { kind: "offer", offer: offer("cleo"), cooloffSeconds: 20 }, NOW)).toHaveProperty(
          "refused",
        );
        expect(await claim(accept("cleo"))).toBeUndefined();
        expect(await stores.sessions.route(chat.chatId, { kind: "untarget", agentId: "cleo" }, NOW)).toHaveProperty("refused");
        const untargeted = await stores.sessions.route(chat.chatId, { kind: "untarget", agentId: "ben" }, NOW);
        expect((untargeted as { chat: ChatState }).chat.target).toBeUndefined();
        expect(await stores.sessions.route(chat.chatId, { kind: "offer", offer: offer("cleo"), cooloffSeconds: 20 }, NOW)).toHaveProperty(
          "chat",
        );
      });
    });

    describe("CometD clients and mailboxes", () => {
      const user = () => randomBytes(16).toString("base64url");
      const chatOf = (startedAt: string) => ({ sessionId: randomUUID(), startedAt, expiresAt: LATER });

      it("raises a chat's mailbox, never lowers it, and lists the newest chats first", async () => {
        const someone = user();
        const older = chatOf("2030-03-17T17:00:00.000Z");
        const newer = chatOf("2030-03-17T18:00:00.000Z");
        await stores.comet.bump(someone, older, 3);
        await stores.comet.bump(someone, older, 2);
        await stores.comet.bump(someone, newer, 1);
        expect(await stores.comet.mailboxes(someone, 10)).toEqual([
          { sessionId: newer.sessionId, position: 1, expiresAt: LATER },
          { sessionId: older.sessionId, position: 3, expiresAt: LATER },
        ]);
        expect(await stores.comet.mailboxes(someone, 1)).toHaveLength(1);
        expect(await stores.comet.mailboxes(user(), 10)).toEqual([]);
      });

      it("drops one chat's mailbox, and only that one", async () => {
        const someone = user();
        const kept = chatOf("2030-03-17T17:00:00.000Z");
        const dropped = chatOf("2030-03-17T18:00:00.000Z");
        await stores.comet.bump(someone, kept, 1);
        await stores.comet.bump(someone, dropped, 2);
        await stores.comet.dropMailbox(someone, dropped);
        await stores.comet.dropMailbox(user(), kept);
        expect(await stores.comet.mailboxes(someone, 10)).toEqual([{ sessionId: kept.sessionId, position: 1, expiresAt: LATER }]);
      });

      it("keeps a user's clients apart from another user's, and changes only live ones", async () => {
        const someone = user();
        const client = { user: someone, clientId: "k1", subscribed: false, start: 4, delivered: {}, expiresAt: NOW + 60, since: 1_234 };
        await stores.comet.putClient(client);
        expect(await stores.comet.getClient(someone, "k1")).toEqual(client);
        expect(await stores.comet.getClient(user(), "k1")).toBeUndefined();
        expect(
          await stores.comet.record(someone, "k1", { now: NOW, expiresAt: NOW + 120, delivered: { a: 1 }, requireSubscribed: true }),
        ).toBe(false);
        expect(await stores.comet.subscribe(someone, "k1", true, { now: NOW, expiresAt: NOW + 120 })).toBe(true);
        expect(
          await stores.comet.record(someone, "k1", { now: NOW, expiresAt: NOW + 180, delivered: { a: 1 }, requireSubscribed: true }),
        ).toBe(true);
        expect(await stores.comet.getClient(someone, "k1")).toEqual({
          ...client,
          subscribed: true,
          delivered: { a: 1 },
          expiresAt: NOW + 180,
        });
        expect(await stores.comet.subscribe(someone, "k1", false, { now: NOW + 180, expiresAt: NOW + 240 })).toBe(false);
        expect(await stores.comet.clients(someone, 10)).toEqual([{ clientId: "k1", since: 1_234, expiresAt: NOW + 180 }]);
        expect(await stores.comet.clients(user(), 10)).toEqual([]);
        await stores.comet.deleteClient(someone, "k1");
        expect(await stores.comet.getClient(someone, "k1")).toBeUndefined();
        expect(await stores.comet.clients(someone, 10)).toEqual([]);
      });
    });

    describe("services and availability", () => {
      const named = (prefix: string) => `${prefix}-${randomBytes(4).toString("hex")}`;

      it("replaces, lists and deletes services", async () => {
        const name = named("svc");
        const service = { name, ttlSeconds: 60, chatEndpoint: named("ep"), updatedAt: "2030-03-17T17:46:40.000Z" };
        expect(await stores.config.putService(service)).toBe(true);
        expect(await stores.config.putService({ ...service, ttlSeconds: 90 })).toBe(false);
        expect(await stores.config.createServiceIfAbsent({ ...service, ttlSeconds: 5 })).toBe(false);
        expect(await stores.config.getService(name)).toEqual({ ...service, ttlSeconds: 90 });
        expect((await stores.config.listServices()).map((s) => s.name)).toContain(name);
        expect(await stores.config.deleteService(name)).toBe(true);
        expect(await stores.config.deleteService(name)).toBe(false);
        expect(await stores.config.loadServiceRoute(name)).toEqual({
          service: undefined,
          availability: { notification: undefined, readyUntil: 0 },
        });
      });

      it("opens a service's endpoint by notification, and by an agent ready on it until the last one goes not ready", async () => {
        const endpoint = named("ep");
        const name = named("svc");
        await stores.config.putService({ name, ttlSeconds: 60, chatEndpoint: endpoint, updatedAt: "" });
        expect(await stores.config.createNotificationIfAbsent({ endpoint, available: true, updatedAt: "t1" })).toBe(true);
        expect(await stores.config.createNotificationIfAbsent({ endpoint, available: false, updatedAt: "t2" })).toBe(false);
        expect((await stores.config.loadServiceRoute(name)).availability.notification).toEqual({
          endpoint,
          available: true,
          updatedAt: "t1",
        });
        await stores.config.putNotification({ endpoint, available: false, updatedAt: "t3" });
        expect(await stores.config.getNotification(endpoint)).toEqual({ endpoint, available: false, updatedAt: "t3" });

        const [ann, ben] = [named("ann"), named("ben")];
        await readyAgent(ann, [endpoint]);
        await readyAgent(ben, [endpoint]);
        expect((await stores.config.loadServiceRoute(name)).availability.readyUntil).toBeGreaterThan(NOW);
        expect(await stores.agents.readyAgents(endpoint, NOW)).toBe(2);
        await stores.agents.presence(ann, { kind: "notReady", at: "t4" }, NOW);
        expect((await stores.config.loadServiceRoute(name)).availability.readyUntil).toBeGreaterThan(NOW);
        await stores.agents.presence(ben, { kind: "notReady", at: "t5" }, NOW);
        expect((await stores.config.loadServiceRoute(name)).availability.readyUntil).toBeLessThanOrEqual(NOW);
        expect(await stores.agents.readyAgents(endpoint, NOW)).toBe(0);
      });
    });
  });
}
