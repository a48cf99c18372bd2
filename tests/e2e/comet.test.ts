import { randomUUID } from "node:crypto";
import { CometD, type Message } from "cometd";
import { adapt } from "cometd-nodejs-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chatIdOf } from "../../lib/session/ids.ts";
import type { LocalStack } from "../../scripts/local/launch.ts";
import { LOCAL_USERS, type SignedIn, signIn } from "../support/identity.ts";
import { letAgentsPick, serve, startTestStack, type TestStack } from "../support/stack.ts";

/**
 * GMS async clients unchanged: the official CometD JavaScript client (npm `cometd`, run in Node by
 * `cometd-nodejs-client`) against the real `serverless offline start`, as an app in async mode uses
 * it: handshake and subscribe to `/_genesys` with its `gms_user`, create a chat with
 * `notify_by=comet`, get the agent's message pushed, disconnect with its position, and resume.
 */
let local: TestStack;
let stack: LocalStack;
let anna: SignedIn;

beforeAll(async () => {
  adapt();
  local = await startTestStack();
  // The chats of these tests are picked from the queue; the agents take as many as the tests open.
  await letAgentsPick(local.stack, ["gms_builtin"]);
  for (const agentId of ["anna", "ben"]) await serve(local.stack, agentId, ["gms_builtin"]);
  stack = local.stack;
  anna = await signIn(stack, ...LOCAL_USERS.anna);
});
afterAll(async () => {
  await local?.stop();
});

// biome-ignore lint/suspicious/noExplicitAny: test-side JSON is checked by assertions, not by types.
type Json = Record<string, any>;

/** The pushes one client received, and a way to await the first one that matches. */
class Pushes {
  private readonly received: Json[] = [];
  private readonly waiting: { match: (push: Json) => boolean; resolve: (push: Json) => void }[] = [];

  readonly onMessage = (message: Message) => {
    this.received.push(message);
    for (const waiter of [...this.waiting]) {
      if (waiter.match(message)) {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        waiter.resolve(message);
      }
    }
  };

  next(match: (push: Json) => boolean): Promise<Json> {
    const found = this.received.find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve) => this.waiting.push({ match, resolve }));
  }

  all(): readonly Json[] {
    return this.received;
  }
}

/** A client as GMS async apps configure it: long-polling (as the Android sample), the app's gms_user on every request. */
function client(gmsUser: string): CometD {
  const cometd = new CometD();
  cometd.unregisterTransport("websocket");
  cometd.configure({ url: `${stack.baseUrl}/genesys/cometd`, requestHeaders: { gms_user: gmsUser }, logLevel: "warn" });
  return cometd;
}

function handshake(cometd: CometD, props: object = {}): Promise<Message> {
  return new Promise((resolve, reject) =>
    cometd.handshake(props, (reply) => (reply.successful ? resolve(reply) : reject(new Error(`handshake: ${reply.error}`)))),
  );
}

function subscribe(cometd: CometD, pushes: Pushes): Promise<Message> {
  return new Promise((resolve, reject) =>
    cometd.subscribe("/_genesys", pushes.onMessage, (reply) =>
      reply.successful ? resolve(reply) : reject(new Error(`subscribe: ${reply.error}`)),
    ),
  );
}

function disconnect(cometd: CometD, props: object = {}): Promise<Message> {
  return new Promise((resolve) => cometd.disconnect(props, resolve));
}

const post = (path: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(`${stack.baseUrl}${path}`, { method: "POST", headers, body: new URLSearchParams(form) });
const agent = (path: string, form: Record<string, string> = {}, method = "POST") =>
  fetch(`${stack.baseUrl}/genesys/1/agent/anna${path}`, { method, headers: anna.authorization, body: new URLSearchParams(form) });

/** Whether a push shows a message with this text. */
const says = (text: string) => (push: Json) =>
  push.data.message.transcriptToShow.some((event: string[]) => event[0] === "Message.Text" && event[2] === text);

describe("CometD: the official JavaScript client over long-polling", () => {
  it("pushes a comet chat's events to its gms_user's client, and resumes from the position after a disconnect", async () => {
    const gmsUser = `app-${randomUUID()}`;
    const headers = { gms_user: gmsUser };
    const first = client(gmsUser);
    const pushes = new Pushes();
    const shaken = await handshake(first);
    expect(shaken.supportedConnectionTypes).toEqual(["long-polling"]);
    expect(first.getTransport()?.type).toBe("long-polling");
    await subscribe(first, pushes);

    // The app: request-chat, then the chat with notify_by=comet, both with its gms_user.
    const { _id: id } = (await (await post("/genesys/1/service/request-chat", {}, headers)).json()) as Json;
    const created = (await (
      await post(`/genesys/1/service/${id}/ixn/chat`, { firstName: "Max", notify_by: "comet" }, headers)
    ).json()) as Json;
    expect(created.chatIxnState).toBe("CONNECTED");
    const joined = await pushes.next((push) => push.data.message.transcriptPosition === "1");
    expect(joined).toMatchObject({
      channel: "/_genesys",
      data: {
        id: expect.any(String),
        tag: `service.chat.refresh.${id}`,
        message: {
          chatIxnState: "CONNECTED",
          chatSessionId: created.chatSessionId,
          transcriptToShow: [["Notice.Joined", "Max", "has joined the session", "0", "CLIENT"]],
        },
      },
    });

    // The agent takes the chat and answers: the answer arrives as a push, exactly what refresh answers from the last push.
    expect((await agent("/presence", { endpoint: "gms_builtin", state: "ready", nickname: "Anna" }, "PUT")).status).toBe(200);
    expect((await agent(`/chats/${chatIdOf(id)}/accept`)).status).toBe(200);
    expect((await agent(`/chats/${chatIdOf(id)}/send`, { message: "Hello Max" })).status).toBe(200);
    const hello = await pushes.next(says("Hello Max"));
    expect(hello.data.message.chatIxnState).toBe("TRANSCRIPT");
    const before = pushes.all()[pushes.all().indexOf(hello) - 1]?.data.message.transcriptPosition;
    const refreshed = await (await post(`/genesys/1/service/${id}/ixn/chat/refresh`, { transcriptPosition: before }, headers)).json();
    expect(hello.data.message).toEqual(refreshed);
    // Every event exactly once across the pushes, each push taking up where the one before ended.
    const shown = pushes.all().reduce((count, push) => count + push.data.message.transcriptToShow.length, 0);
    expect(shown).toBe(Number(hello.data.message.transcriptPosition));
    expect(new Set(pushes.all().map((push) => push.data.id)).size).toBe(pushes.all().length);

    // The app goes to the background with its position; the agent writes meanwhile.
    const position = hello.data.message.transcriptPosition as string;
    expect(await disconnect(first, { ext: { transcriptPosition: position } })).toMatchObject({ successful: true });
    expect((await agent(`/chats/${chatIdOf(id)}/send`, { message: "Are you still there?" })).status).toBe(200);

    // Back: a new handshake from that position gets what followed, and only that.
    const resumed = client(gmsUser);
    const later = new Pushes();
    await handshake(resumed, { ext: { transcriptPosition: position } });
    await subscribe(resumed, later);
    const missed = await later.next(says("Are you still there?"));
    expect(missed.data.message.transcriptToShow).toEqual([["Message.Text", "Anna", "Are you still there?", expect.any(String), "AGENT"]]);
    expect(Number(missed.data.message.transcriptPosition)).toBe(Number(position) + 1);

    // The end of the chat is pushed too.
    expect((await agent(`/chats/${chatIdOf(id)}/disconnect`)).status).toBe(200);
    const ended = await later.next((push) => push.data.message.chatIxnState === "DISCONNECTED");
    expect(ended.data.message.transcriptToShow.at(-1)).toEqual([
      "Notice.Left",
      "Anna",
      "has left the session",
      expect.any(String),
      "AGENT",
    ]);
    expect(await disconnect(resumed)).toMatchObject({ successful: true });
  }, 60_000);

  it("lets a client with its default transports fall back from websocket to long-polling", async () => {
    const cometd = new CometD();
    cometd.configure({ url: `${stack.baseUrl}/genesys/cometd`, requestHeaders: { gms_user: `web-${randomUUID()}` }, logLevel: "warn" });
    const connected = new Promise<Message>((resolve) =>
      cometd.addListener("/meta/connect", (reply) => {
        if (reply.successful) resolve(reply);
      }),
    );
    cometd.handshake();
    expect(await connected).toMatchObject({ successful: true });
    expect(cometd.getTransport()?.type).toBe("long-polling");
    expect(await disconnect(cometd)).toMatchObject({ successful: true });
  });

  it("serves both URL forms, answers a connect from another gms_user with 402, and refuses other channels", async () => {
    const bayeux = (path: string, gmsUser: string, messages: object[]) =>
      fetch(`${stack.baseUrl}/genesys/cometd${path}`, {
        method: "POST",
        headers: { "content-type": "application/json;charset=UTF-8", gms_user: gmsUser },
        body: JSON.stringify(messages),
      });
    const handshaken = await bayeux("", "owner", [
      { id: "1", channel: "/meta/handshake", version: "1.0", supportedConnectionTypes: ["long-polling"] },
    ]);
    expect(handshaken.status).toBe(200);
    const [reply] = (await handshaken.json()) as Json[];
    expect(reply).toMatchObject({ id: "1", successful: true, supportedConnectionTypes: ["long-polling"], advice: { timeout: 15_000 } });
    const { clientId } = reply as Json;

    const stranger = await bayeux("/connect", "someone-else", [
      { id: "2", channel: "/meta/connect", clientId, connectionType: "long-polling", advice: { timeout: 0 } },
    ]);
    expect(await stranger.json()).toEqual([
      {
        id: "2",
        channel: "/meta/connect",
        clientId,
        successful: false,
        error: "402::unknown client",
        advice: { reconnect: "handshake", interval: 0 },
      },
    ]);
    const forbidden = await bayeux("/subscribe", "owner", [{ id: "3", channel: "/meta/subscribe", clientId, subscription: "/chat/**" }]);
    expect(await forbidden.json()).toEqual([
      expect.objectContaining({ id: "3", successful: false, error: "403::forbidden channel", subscription: "/chat/**" }),
    ]);
    expect((await bayeux("/publish", "owner", [{ channel: "/meta/handshake" }])).status).toBe(404);
    const left = await bayeux("/disconnect", "owner", [{ id: "4", channel: "/meta/disconnect", clientId }]);
    expect(await left.json()).toEqual([{ id: "4", channel: "/meta/disconnect", clientId, successful: true }]);
  });
});
