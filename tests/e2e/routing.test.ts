import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STACK_ADMIN_KEY } from "../../scripts/local/stack.ts";
import { describedAs } from "../support/asyncapi.ts";
import { type SignedIn, signIn } from "../support/identity.ts";
import { type Frame, PushClient } from "../support/push.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";

/**
 * Routing under `npm start` (docs/api.md, "Routing"): offers heard over the push channel, placed by
 * the router function from routing's queue (local-aws-sqs), refused and missed offers going to the
 * next agent, several chats per agent, transfers, and no customer's session id in anything an agent
 * is given.
 */
const PASSWORD = "Agent-local-1";
const USERS = [
  `anna:${PASSWORD}:agent@gms_builtin/2`,
  `ben:${PASSWORD}:agent@gms_builtin/2`,
  `cleo:${PASSWORD}:agent@sales`,
  `sam:${PASSWORD}:supervisor+endpoint:gms_builtin`,
].join(",");

let local: TestStack;
const people: Record<string, SignedIn> = {};
const consoles: Record<string, PushClient> = {};
/** Every answer, frame and log line an agent or supervisor was given, for the scan of session ids. */
const agentFacing: string[] = [];
const sessionIds: string[] = [];

// biome-ignore lint/suspicious/noExplicitAny: test-side JSON is checked by assertions, not by types.
type Json = Record<string, any>;

async function call(path: string, options: { form?: Record<string, string>; as?: string; method?: string; admin?: boolean } = {}) {
  const headers: Record<string, string> = options.admin ? { "x-api-key": STACK_ADMIN_KEY } : {};
  if (options.as !== undefined) Object.assign(headers, (people[options.as] as SignedIn).authorization);
  const method = options.method ?? (options.form === undefined ? "GET" : "POST");
  const response = await fetch(`${local.stack.baseUrl}/genesys/1/${path}`, {
    method,
    headers,
    ...(method === "GET" ? {} : { body: new URLSearchParams(options.form ?? {}) }),
  });
  const text = await response.text();
  if (options.as !== undefined) agentFacing.push(text);
  return { status: response.status, body: (text === "" ? {} : JSON.parse(text)) as Json };
}

async function ok(path: string, options: Parameters<typeof call>[1] = {}): Promise<Json> {
  const answer = await call(path, options);
  expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(300);
  return answer.body;
}

const ready = (agent: string) => ok(`agent/${agent}/presence`, { form: { state: "ready", nickname: agent }, as: agent, method: "PUT" });
const notReady = (agent: string) => ok(`agent/${agent}/presence`, { form: { state: "not_ready" }, as: agent, method: "PUT" });

/** A customer's chat on `service`: its session id (kept for the scan). */
async function customerChat(service = "request-chat"): Promise<string> {
  const opened = await ok(`service/${service}`, { form: {} });
  const id = String(opened._id);
  sessionIds.push(id);
  await ok(`service/${id}/ixn/chat`, { form: { firstName: "Max", subject: "My order" } });
  return id;
}

const offers = (client: PushClient) => client.next((frame) => frame.channel === "/gms/offer");
const withdrawn = (client: PushClient) => client.next((frame) => frame.channel === "/gms/withdrawn");

beforeAll(async () => {
  local = await startTestStack({ GMS_DEV_USERS: USERS });
  for (const name of ["anna", "ben", "cleo", "sam"]) people[name] = await signIn(local.stack, name, PASSWORD);
  await ok("admin/services/sales", { form: { _chat_endpoint: "sales" }, admin: true, method: "PUT" });
  // Short offers, so that a miss is seen in a test's time.
  for (const endpoint of ["gms_builtin", "sales"]) {
    await ok(`admin/endpoints/${endpoint}`, { form: { routing: "offer", offerTimeout: "5" }, admin: true, method: "PUT" });
  }
  for (const name of ["anna", "ben", "cleo"]) {
    const client = await PushClient.open(local.stack.pushUrl);
    client.send({ action: "subscribe", agentId: name, token: (people[name] as SignedIn).accessToken });
    const answer = await client.next((frame) => frame.channel === "/gms/subscribed" || frame.channel === "/gms/error");
    expect(answer.channel, JSON.stringify(answer.data)).toBe("/gms/subscribed");
    consoles[name] = client;
  }
});
afterAll(async () => {
  await Promise.all(Object.values(consoles).map((client) => client.close()));
  await local?.stop();
});

/**
 * Everything the consoles heard, the answers agents were given, and the log lines of the functions
 * that serve them (the agent function's and the router's, and serverless-offline's lines about them).
 */
function everythingAgentsSaw(): string[] {
  const frames = Object.values(consoles).flatMap((client) => client.frames.map((frame: Frame) => JSON.stringify(frame)));
  const logs = local.stack
    .output()
    .split("\n")
    .filter((line) => /\/genesys\/1\/agent\/|"route":"routing"|λ: (agent|router)/.test(line));
  expect(logs.length).toBeGreaterThan(20);
  return [...agentFacing, ...frames, ...logs];
}

describe("npm start: routing", () => {
  it("offers a new chat to the one ready agent over the push channel; it accepts and holds it", async () => {
    await ready("anna");
    const id = await customerChat();
    const offer = await offers(consoles.anna as PushClient);
    expect(offer.data).toEqual({
      chatId: expect.stringMatching(/^[\w-]{22}$/),
      endpoint: "gms_builtin",
      nickname: "Max",
      customer: { firstName: "Max", subject: "My order" },
      offeredAt: expect.any(String),
      expiresAt: expect.any(String),
    });
    const listed = await ok("agent/anna/offers", { as: "anna" });
    expect(listed.offers).toEqual([offer.data]);
    const accepted = await ok(`agent/anna/chats/${offer.data.chatId}/accept`, { form: {}, as: "anna" });
    expect(accepted).toMatchObject({ chatId: offer.data.chatId, chatIxnState: "TRANSCRIPT" });
    const presence = await ok("agent/anna/presence", { as: "anna" });
    expect(presence).toMatchObject({ state: "ready", endpoints: ["gms_builtin"], maxChats: 2, chats: [{ chatId: offer.data.chatId }] });
    await ok(`service/${id}/ixn/chat/disconnect`, { form: {} });
    await notReady("anna");
  });

  it("offers a refused chat to the next agent, never back while another can take it; a missed offer to the next, and its agent goes not ready", async () => {
    await ready("anna");
    await ready("ben");
    await customerChat();
    // Both idle: the one ready longer (anna) first.
    const first = await offers(consoles.anna as PushClient);
    expect((await call(`agent/anna/chats/${first.data.chatId}/reject`, { form: {}, as: "anna" })).status).toBe(204);
    expect((await withdrawn(consoles.anna as PushClient)).data).toEqual({ chatId: first.data.chatId, reason: "refused" });
    const second = await offers(consoles.ben as PushClient);
    expect(second.data.chatId).toBe(first.data.chatId);
    // Ben leaves it: withdrawn when it expires, ben goes not ready (missed), and anna, who refused it, is the one left.
    expect((await withdrawn(consoles.ben as PushClient)).data).toEqual({ chatId: first.data.chatId, reason: "timeout" });
    const benPresence = await ok("agent/ben/presence", { as: "ben" });
    expect(benPresence).toMatchObject({ state: "not_ready", reason: "missed", offers: [] });
    const third = await offers(consoles.anna as PushClient);
    expect(third.data.chatId).toBe(first.data.chatId);
    await ok(`agent/anna/chats/${third.data.chatId}/accept`, { form: {}, as: "anna" });
    await ok(`agent/anna/chats/${third.data.chatId}/disconnect`, { form: {}, as: "anna" });
    await notReady("anna");
  });

  it("gives two agents of maxChats 2 four chats at once; the fifth waits for a free slot", async () => {
    await ready("anna");
    await ready("ben");
    const ids = [];
    for (let i = 0; i < 5; i += 1) ids.push(await customerChat());
    const taken: string[] = [];
    for (const name of ["anna", "ben", "anna", "ben"]) {
      const offer = await offers(consoles[name] as PushClient);
      await ok(`agent/${name}/chats/${offer.data.chatId}/accept`, { form: {}, as: name });
      taken.push(offer.data.chatId);
    }
    const queue = await ok("agent/anna/queue?endpoint=gms_builtin", { as: "anna" });
    expect(queue.chats).toHaveLength(1);
    const fifth = queue.chats[0].id;
    expect(taken).not.toContain(fifth);
    // Anna finishes one: the fifth is offered to her at once.
    await ok(`agent/anna/chats/${taken[0]}/disconnect`, { form: {}, as: "anna" });
    const next = await offers(consoles.anna as PushClient);
    expect(next.data.chatId).toBe(fifth);
    await ok(`agent/anna/chats/${fifth}/accept`, { form: {}, as: "anna" });
    for (const [name, chatId] of [
      ["anna", taken[2]],
      ["anna", fifth],
      ["ben", taken[1]],
      ["ben", taken[3]],
    ] as const) {
      await ok(`agent/${name}/chats/${chatId}/disconnect`, { form: {}, as: name });
    }
    await notReady("anna");
    await notReady("ben");
  });

  it("transfers a chat to another endpoint, where its agent is offered it with the whole transcript; the customer keeps the session", async () => {
    await ready("anna");
    await ready("cleo");
    const id = await customerChat();
    const offer = await offers(consoles.anna as PushClient);
    const chatId = offer.data.chatId;
    await ok(`agent/anna/chats/${chatId}/accept`, { form: {}, as: "anna" });
    await ok(`service/${id}/ixn/chat/send`, { form: { message: "I need sales" } });
    await ok(`agent/anna/chats/${chatId}/transfer`, { form: { endpoint: "sales" }, as: "anna" });
    const landed = await offers(consoles.cleo as PushClient);
    expect(landed.data).toMatchObject({ chatId, endpoint: "sales" });
    const taken = await ok(`agent/cleo/chats/${chatId}/accept`, { form: { transcriptPosition: "0" }, as: "cleo" });
    expect(taken.transcriptToShow.map((event: string[]) => event[2])).toEqual(
      expect.arrayContaining(["I need sales", "transferred the chat"]),
    );
    const customerSees = await ok(`service/${id}/ixn/chat/refresh`, { form: { transcriptPosition: "0" } });
    expect(customerSees.chatIxnState).toBe("TRANSCRIPT");
    expect(customerSees.transcriptToShow.map((event: string[]) => event[2])).toContain("transferred the chat");
    // Anna no longer holds it.
    expect((await call(`agent/anna/chats/${chatId}/send`, { form: { message: "still here?" }, as: "anna" })).status).toBe(403);
    await ok(`agent/cleo/chats/${chatId}/disconnect`, { form: {}, as: "cleo" });
    await notReady("anna");
    await notReady("cleo");
  });

  it("transfers to a named agent, offered to it alone; a supervisor may transfer its endpoint's chats", async () => {
    await ready("anna");
    await ready("ben");
    await customerChat();
    const offer = await offers(consoles.anna as PushClient);
    const chatId = offer.data.chatId;
    await ok(`agent/anna/chats/${chatId}/accept`, { form: {}, as: "anna" });
    // Sam supervises gms_builtin: it hands anna's chat to ben.
    await ok(`agent/anna/chats/${chatId}/transfer`, { form: { agent: "ben" }, as: "sam" });
    const toBen = await offers(consoles.ben as PushClient);
    expect(toBen.data.chatId).toBe(chatId);
    // An agent that is not ready cannot be handed a chat.
    await ok(`agent/ben/chats/${chatId}/accept`, { form: {}, as: "ben" });
    await notReady("anna");
    const refused = await call(`agent/ben/chats/${chatId}/transfer`, { form: { agent: "anna" }, as: "ben" });
    expect(refused.status).toBe(409);
    await ok(`agent/ben/chats/${chatId}/disconnect`, { form: {}, as: "ben" });
    await notReady("ben");
  });

  it("sends only frames asyncapi.yaml describes, offers, withdrawals and presence among them", () => {
    const frames = Object.values(consoles).flatMap((client) => client.frames);
    const channels = new Set(frames.map((frame) => frame.channel));
    for (const channel of ["/gms/offer", "/gms/withdrawn", "/gms/presence"]) expect(channels).toContain(channel);
    for (const frame of frames) expect(describedAs("hear", frame), JSON.stringify(frame).slice(0, 200)).toHaveLength(1);
  });

  it("names chats to agents by chat id only: no answer, frame or log line holds a customer's session id", () => {
    const seen = everythingAgentsSaw();
    expect(sessionIds.length).toBeGreaterThan(5);
    for (const id of sessionIds) expect(seen.filter((text) => text.includes(id))).toEqual([]);
  });
});
