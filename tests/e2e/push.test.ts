import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_FRAME_BYTES } from "../../lib/push/frames.ts";
import { chatIdOf } from "../../lib/session/ids.ts";
import type { LocalStack } from "../../scripts/local/launch.ts";
import { stageTableNames, toolingDocumentClient } from "../../scripts/local/stack.ts";
import { describedAs } from "../support/asyncapi.ts";
import { LOCAL_USERS, type SignedIn, signIn } from "../support/identity.ts";
import { type Frame, PushClient } from "../support/push.ts";
import { letAgentsPick, serve, startTestStack, type TestStack } from "../support/stack.ts";

/**
 * The WebSocket API under `npm start` (docs/push.md), with a plain `ws` client: what a customer and
 * an agent hear, resuming from a position, what a socket cannot hear, frames of huge messages, and
 * the clean-up of connections the Management API finds gone.
 */
let local: TestStack;
let stack: LocalStack;
let anna: SignedIn;
let ben: SignedIn;
const sockets: PushClient[] = [];

beforeAll(async () => {
  local = await startTestStack();
  // The chats of these tests are picked from the queue; the agents take as many as the tests open.
  await letAgentsPick(local.stack, ["gms_builtin"]);
  for (const agentId of ["anna", "ben"]) await serve(local.stack, agentId, ["gms_builtin"]);
  stack = local.stack;
  [anna, ben] = await Promise.all([signIn(stack, ...LOCAL_USERS.anna), signIn(stack, ...LOCAL_USERS.ben)]);
  // The push function's first start (serverless-offline runs it in a worker) can outlast a
  // $connect on a loaded machine, which then answers 502: a client tries again, as this warm-up does.
  for (let tries = 1; ; tries += 1) {
    try {
      const warm = await PushClient.open(stack.pushUrl);
      warm.send({ action: "ping" });
      await warm.next();
      await warm.close();
      break;
    } catch (error) {
      if (tries === 3) throw error;
    }
  }
  for (const agent of ["anna", "ben"]) {
    const who = agent === "anna" ? anna : ben;
    const ready = await api(`agent/${agent}/presence`, { endpoint: "gms_builtin", state: "ready" }, who.authorization, "PUT");
    expect(ready.status).toBe(200);
  }
});
afterAll(async () => {
  await Promise.all(sockets.map((socket) => socket.close()));
  await local?.stop();
});

async function socket(): Promise<PushClient> {
  const client = await PushClient.open(stack.pushUrl);
  sockets.push(client);
  return client;
}

// biome-ignore lint/suspicious/noExplicitAny: test-side JSON is checked by assertions, not by types.
type Json = Record<string, any>;

function api(path: string, form: Record<string, string> = {}, headers: Record<string, string> = {}, method = "POST") {
  return fetch(`${stack.baseUrl}/genesys/1/${path}`, { method, headers, body: new URLSearchParams(form) });
}

async function json(answer: Promise<Response>): Promise<Json> {
  const response = await answer;
  expect(response.status).toBe(200);
  return (await response.json()) as Json;
}

/** A session on request-chat (endpoint gms_builtin); with `chat`, its chat created. */
async function session(chat = true): Promise<string> {
  const opened = await json(api("service/request-chat"));
  if (chat) await json(api(`service/${opened._id}/ixn/chat`, { firstName: "Max" }));
  return String(opened._id);
}

const customer = (id: string, op: string, form: Record<string, string> = {}) => json(api(`service/${id}/ixn/chat/${op}`, form));
const agent = (who: SignedIn, name: string, id: string, op: string, form: Record<string, string> = {}) =>
  json(api(`agent/${name}/chats/${chatIdOf(id)}/${op}`, form, who.authorization));

const subscribed = (client: PushClient) => client.next((frame) => frame.channel === "/gms/subscribed" || frame.channel === "/gms/error");
const refused = (client: PushClient) => client.next((frame) => frame.channel === "/gms/error");

describe("npm start: a customer's socket", () => {
  it("hears each event as refresh answers it from the position before, in GMS's CometD envelope", async () => {
    const id = await session(false);
    const client = await socket();
    // The chat keeps its listeners: there is none to listen to before the create.
    client.send({ action: "subscribe", chat: id });
    expect((await refused(client)).data).toMatchObject({ status: 409, exception: "InvalidChatStateException" });

    await json(api(`service/${id}/ixn/chat`, { firstName: "Max" }));
    client.send({ action: "subscribe", chat: id, transcriptPosition: "0" });
    expect((await subscribed(client)).data).toMatchObject({ chat: id, expiresAt: expect.any(Number) });
    const first = await client.chat(id);
    expect(first).toEqual({
      channel: "/_genesys",
      data: { id: `${id}:1`, tag: `service.chat.refresh.${id}`, message: await customer(id, "refresh", { transcriptPosition: "0" }) },
    });
    await agent(anna, "anna", id, "accept");
    await agent(anna, "anna", id, "send", { message: "Hello, how can I help?" });
    const joined = await client.chat(id);
    const said = await client.chat(id);
    expect(joined.data.message).toEqual(await customer(id, "refresh", { transcriptPosition: "1" }).then(firstOnly));
    expect(said.data.message).toEqual(await customer(id, "refresh", { transcriptPosition: "2" }));
    expect(said.data.message.transcriptToShow).toEqual([["Message.Text", "anna", "Hello, how can I help?", expect.any(String), "AGENT"]]);

    await customer(id, "disconnect");
    const left = await client.chat(id);
    expect(left.data.message).toMatchObject({ chatIxnState: "DISCONNECTED", transcriptPosition: "4" });
  });

  it("resumes from the position it sends: everything after it, at once, then what follows", async () => {
    const id = await session();
    await agent(anna, "anna", id, "accept");
    await agent(anna, "anna", id, "send", { message: "one" });
    await customer(id, "send", { message: "two" });
    const client = await socket();
    client.send({ action: "subscribe", chat: id, transcriptPosition: "2" });
    await subscribed(client);
    const caughtUp = await client.chat(id);
    expect(caughtUp.data.message).toEqual(await customer(id, "refresh", { transcriptPosition: "2" }));
    expect(caughtUp.data.message.transcriptToShow.map((event: string[]) => event[2])).toEqual(["one", "two"]);
    await agent(anna, "anna", id, "send", { message: "three" });
    expect((await client.chat(id)).data.message.transcriptToShow.map((event: string[]) => event[2])).toEqual(["three"]);
    await agent(anna, "anna", id, "disconnect");
  });

  it("hears nothing of another session, and cannot subscribe to an unknown one", async () => {
    const mine = await session();
    const theirs = await session();
    const client = await socket();
    client.send({ action: "subscribe", chat: mine });
    await subscribed(client);
    await customer(theirs, "send", { message: "private" });
    await customer(mine, "send", { message: "mine" });
    await client.chat(mine);
    expect(JSON.stringify(client.frames)).not.toContain(theirs);
    expect(JSON.stringify(client.frames)).not.toContain("private");

    client.send({ action: "subscribe", chat: "6f1c3a5e-0000-4000-8000-000000000000" });
    expect((await refused(client)).data).toMatchObject({ status: 404, exception: "NotFoundException" });
    client.send({ action: "subscribe", chat: mine, extra: "x" });
    expect((await refused(client)).data).toMatchObject({ status: 400 });
    client.send("{");
    expect((await refused(client)).data).toMatchObject({ status: 400 });
  });

  it("sends a huge message in one frame under 32 KB, and a larger catch-up as a notice to refresh", async () => {
    const id = await session();
    const client = await socket();
    client.send({ action: "subscribe", chat: id });
    await subscribed(client);
    const huge = "🙂".repeat(4096);
    for (let n = 0; n < 3; n += 1) await customer(id, "send", { message: huge });
    const frames: Frame[] = [await client.chat(id), await client.chat(id), await client.chat(id)];
    expect(frames.map((frame) => frame.data.message.transcriptToShow[0][2])).toEqual([huge, huge, huge]);
    expect(Math.max(...client.sizes)).toBeLessThanOrEqual(MAX_FRAME_BYTES);

    const late = await socket();
    late.send({ action: "subscribe", chat: id, transcriptPosition: "1" });
    await subscribed(late);
    const notice = await late.next((frame) => frame.channel !== "/gms/subscribed");
    expect(notice).toEqual({ channel: "/gms/refresh", data: { id, transcriptPosition: "1" } });
  });

  it("answers a ping, and forgets a connection the Management API finds gone", async () => {
    const client = await socket();
    client.send({ action: "ping" });
    expect((await client.next()).channel).toBe("/gms/pong");

    // A subscription whose connection closed without a $disconnect (as after an API Gateway fault).
    const id = await session();
    const documents = toolingDocumentClient(local.dynamoEndpoint);
    const { sessions } = stageTableNames("dev");
    // The chat's listeners are kept with the chat, on its state record.
    const key = { id: chatIdOf(id), sk: "state" };
    await documents.send(
      new UpdateCommand({
        TableName: sessions,
        Key: key,
        UpdateExpression: "ADD listeners :gone",
        ExpressionAttributeValues: { ":gone": new Set(["gone0connection0="]) },
      }),
    );
    const listener = await socket();
    listener.send({ action: "subscribe", chat: id });
    await subscribed(listener);
    await customer(id, "send", { message: "anyone?" });
    await listener.chat(id);
    const { Item } = await documents.send(new GetCommand({ TableName: sessions, Key: key, ConsistentRead: true }));
    expect([...((Item?.listeners as Set<string> | undefined) ?? [])]).toEqual([expect.not.stringMatching(/^gone0connection0=$/)]);
    documents.destroy();
  });
});

describe("npm start: an agent's socket", () => {
  it("hears its endpoint's queue and the chats it holds, and nothing as another agent", async () => {
    const client = await socket();
    client.send({ action: "subscribe", agentId: "ben", token: anna.accessToken });
    expect((await refused(client)).data).toMatchObject({ status: 403, exception: "AccessDeniedException" });
    client.send({ action: "subscribe", agentId: "anna", token: `${anna.accessToken.slice(0, -2)}xx` });
    expect((await refused(client)).data).toMatchObject({ status: 401, exception: "UnauthorizedException" });

    client.send({ action: "subscribe", agentId: "anna", token: anna.accessToken, endpoints: ["gms_builtin"] });
    expect((await subscribed(client)).data).toMatchObject({ agentId: "anna", endpoints: ["gms_builtin"] });
    const id = await session();
    const chatId = chatIdOf(id);
    const queued = (phase: string) => (frame: Frame) =>
      frame.channel === "/gms/queue" && frame.data.id === chatId && frame.data.phase === phase;
    expect((await client.next(queued("WAITING"))).data).toEqual({ endpoint: "gms_builtin", id: chatId, phase: "WAITING" });
    await agent(anna, "anna", id, "accept");
    expect((await client.chat(chatId)).data.message).toMatchObject({ chatIxnState: "TRANSCRIPT", transcriptPosition: "2", chatId });
    await customer(id, "send", { message: "Is my order late?" });
    const heard = await client.chat(chatId);
    expect(heard.data.message).toEqual(await agent(anna, "anna", id, "refresh", { transcriptPosition: "2" }));
    // The agent hears the chat by its chat id: nothing it is sent names the customer's session.
    expect(JSON.stringify(client.frames)).not.toContain(id);

    // Ben's socket hears the queue but none of anna's chat.
    const bens = await socket();
    bens.send({ action: "subscribe", agentId: "ben", token: ben.accessToken, chats: [{ id: chatId, transcriptPosition: "0" }] });
    await subscribed(bens);
    expect(await bens.next((frame) => frame.channel !== "/gms/subscribed")).toEqual({
      channel: "/gms/refresh",
      data: { id: chatId, transcriptPosition: "0" },
    });
    await agent(anna, "anna", id, "send", { message: "Let me check." });
    await client.chat(chatId);
    expect(JSON.stringify(bens.frames)).not.toContain("Let me check.");
  });
});

describe("asyncapi.yaml", () => {
  it("describes every frame the stack sent in these tests, and every well-formed message they sent", () => {
    const frames = sockets.flatMap((client) => client.frames);
    expect(frames.length).toBeGreaterThan(20);
    for (const frame of frames) expect(describedAs("hear", frame), JSON.stringify(frame).slice(0, 200)).toHaveLength(1);
    const channels = new Set(frames.map((frame) => frame.channel));
    expect([...channels].sort()).toEqual(["/_genesys", "/gms/error", "/gms/pong", "/gms/queue", "/gms/refresh", "/gms/subscribed"]);
    // The refused ones (bad JSON, unknown fields, another agent's id) are the errors above.
    const sent = sockets.flatMap((client) => client.sent).filter((message) => typeof message === "object");
    const described = sent.filter((message) => describedAs("subscribe", message).length === 1);
    expect(sent.length - described.length).toBe(1);
  });
});

/** Refresh's answer from a position, with only its first event: what the push of that event alone carries. */
function firstOnly(view: Json): Json {
  const [first] = view.transcriptToShow;
  return {
    ...view,
    transcriptToShow: [first],
    transcriptPosition: String(Number(view.transcriptPosition) - view.transcriptToShow.length + 1),
  };
}
