import type { APIGatewayProxyWebsocketEventV2 } from "aws-lambda";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { AgentStore } from "../../lib/agents/store.ts";
import type { TokenCheck } from "../../lib/http/authorizer.ts";
import { pushHandler } from "../../lib/http/routes/push.ts";
import type { ConnectionSender, PushStore, SessionStore } from "../../lib/storage.ts";

/** The WebSocket edge's checks (lib/http/routes/push.ts): every refusal is an error frame, and nothing is stored for it. */
const frames: string[] = [];
const subscribed: string[] = [];
const sender: ConnectionSender = {
  async send(_connectionId, frame) {
    frames.push(frame);
    return "sent";
  },
};
const push: PushStore = {
  async subscribe(connectionId, topics) {
    subscribed.push(`${connectionId}:${topics.length}`);
    return true;
  },
  // Whoever subscribed listens (a console reads its agent's consoles after subscribing).
  listening: async () => subscribed.map((entry) => ({ connectionId: entry.split(":")[0] ?? "", expiresAt: 4_000_000_000, since: 0 })),
  unsubscribe: async () => undefined,
  forget: async () => undefined,
};
let check: TokenCheck = { ok: false, reason: "signature", message: "" };
/** Agents' profiles: anna serves q1 and q2. */
const agents: Pick<AgentStore, "getProfile" | "signedOutUntil"> = {
  signedOutUntil: async (family) => (family === "ended" ? 4_000_000_000 : undefined),
  getProfile: async (agentId) =>
    agentId === "anna" ? { agentId, endpoints: ["q1", "q2"], maxChats: 3, updatedAt: "2026-01-01T00:00:00.000Z" } : undefined,
};
const handler = pushHandler({
  agents,
  // No refusal reaches storage: a store that is asked anything fails the test.
  sessions: new Proxy({} as SessionStore, {
    get: (_target, name) => () => {
      throw new Error(`storage asked: ${String(name)}`);
    },
  }),
  now: () => new Date(),
  push,
  sender,
  verify: async () => check,
});
const message = (body: string, isBase64Encoded = false) =>
  ({
    requestContext: { routeKey: "$default", connectionId: "c1", requestId: "r" },
    body,
    isBase64Encoded,
  }) as unknown as APIGatewayProxyWebsocketEventV2;

async function refusal(body: string, isBase64Encoded = false) {
  frames.length = 0;
  expect(await handler(message(body, isBase64Encoded))).toEqual({ statusCode: 200 });
  expect(frames).toHaveLength(1);
  const frame = JSON.parse(frames[0] as string);
  expect(frame.channel).toBe("/gms/error");
  return frame.data as { status: number; message: string; exception: string };
}

beforeEach(() => {
  vi.spyOn(console, "log").mockImplementation(() => {});
  subscribed.length = 0;
  check = { ok: false, reason: "signature", message: "" };
});

describe("the push function's messages", () => {
  const id = "6f1c3a5e-0000-4000-8000-000000000000";
  it.each([
    ["not JSON", "{", 400],
    ["a list", "[]", 400],
    ["a string", '"subscribe"', 400],
    ["an unknown action", '{"action":"publish"}', 400],
    ["a ping with more", '{"action":"ping","x":1}', 400],
    ["an unknown field", `{"action":"subscribe","chat":"${id}","x":1}`, 400],
    ["a position that is no number", `{"action":"subscribe","chat":"${id}","transcriptPosition":"1e3"}`, 400],
    ["a negative position", `{"action":"subscribe","chat":"${id}","transcriptPosition":-1}`, 400],
    ["a position of 11 digits", `{"action":"subscribe","chat":"${id}","transcriptPosition":12345678901}`, 400],
    ["a chat id that is no session id", '{"action":"subscribe","chat":"../x"}', 404],
    ["a chat id that is not a string", '{"action":"subscribe","chat":7}', 400],
    ["U+FFFD, which stands for bytes that were not UTF-8", '{"action":"subscribe","chat":"\uFFFD"}', 400],
    ["eleven endpoints", `{"action":"subscribe","agentId":"anna","token":"t","endpoints":${JSON.stringify(Array(11).fill("q"))}}`, 400],
    ["a bad endpoint", '{"action":"subscribe","agentId":"anna","token":"t","endpoints":["a b"]}', 400],
    ["21 chats", `{"action":"subscribe","agentId":"anna","token":"t","chats":${JSON.stringify(Array(21).fill({ id }))}}`, 400],
    ["a bad token", '{"action":"subscribe","agentId":"anna","token":"t"}', 401],
    ["more than 16 KB", JSON.stringify({ action: "subscribe", chat: id, pad: "x".repeat(17_000) }), 400],
  ])("refuses %s with its status, and stores nothing", async (_name, body, status) => {
    expect((await refusal(body)).status).toBe(status);
    expect(subscribed).toEqual([]);
  });

  it("reads a base64 body as API Gateway may hand it, and refuses one that is not UTF-8", async () => {
    expect((await refusal(Buffer.from("{").toString("base64"), true)).status).toBe(400);
    expect(await refusal(Buffer.from([0x7b, 0xff, 0x7d]).toString("base64"), true)).toMatchObject({
      status: 400,
      message: expect.stringMatching(/UTF-8/),
    });
    frames.length = 0;
    await handler(message(Buffer.from('{"action":"ping"}').toString("base64"), true));
    expect(frames).toEqual(['{"channel":"/gms/pong","data":{}}']);
  });

  it("checks the token as the agent API does: an expired one is told so, a comma'd group grants nothing", async () => {
    check = { ok: false, reason: "expired", message: "" };
    expect(await refusal('{"action":"subscribe","agentId":"anna","token":"t"}')).toMatchObject({
      status: 401,
      message: expect.stringMatching(/expired/),
    });
    check = { ok: true, principal: { userId: "s", username: "sam", groups: ["x,agent"], expiresAt: 4_000_000_000 } };
    expect(await refusal('{"action":"subscribe","agentId":"sam","token":"t"}')).toMatchObject({ status: 403 });
    expect(subscribed).toEqual([]);
  });

  it("refuses a token whose sign-in ended (401), storing nothing", async () => {
    check = { ok: true, principal: { userId: "s", username: "anna", groups: ["agent"], expiresAt: 4_000_000_000, family: "ended" } };
    expect(await refusal('{"action":"subscribe","agentId":"anna","token":"t"}')).toMatchObject({
      status: 401,
      message: expect.stringMatching(/signed out/),
    });
    expect(subscribed).toEqual([]);
  });

  it("answers another agent's id 403, and the pool's keys out of reach 503 (no verdict on the token)", async () => {
    check = { ok: true, principal: { userId: "s", username: "anna", groups: ["agent"], expiresAt: 4_000_000_000 } };
    expect(await refusal('{"action":"subscribe","agentId":"ben","token":"t"}')).toMatchObject({
      status: 403,
      exception: "AccessDeniedException",
    });
    check = { ok: false, reason: "keys-unavailable", message: "" };
    expect(await refusal('{"action":"subscribe","agentId":"anna","token":"t"}')).toMatchObject({ status: 503 });
    expect(subscribed).toEqual([]);
  });

  it("subscribes an agent as itself to its chats and each endpoint's queue, once each", async () => {
    check = { ok: true, principal: { userId: "s", username: "anna", groups: ["agent"], expiresAt: 4_000_000_000 } };
    frames.length = 0;
    await handler(message('{"action":"subscribe","agentId":"anna","token":"t","endpoints":["q1","q2","q1"]}'));
    expect(subscribed).toEqual(["c1:3"]);
    expect(JSON.parse(frames[0] as string)).toMatchObject({
      channel: "/gms/subscribed",
      data: { agentId: "anna", endpoints: ["q1", "q2"] },
    });
  });

  it("refuses an agent the queues of endpoints its profile does not serve (403, nothing stored); a supervisor watches those it oversees", async () => {
    check = { ok: true, principal: { userId: "s", username: "anna", groups: ["agent"], expiresAt: 4_000_000_000 } };
    expect(await refusal('{"action":"subscribe","agentId":"anna","token":"t","endpoints":["q1","other_q"]}')).toMatchObject({
      status: 403,
      message: expect.stringMatching(/You do not serve other_q/),
    });
    check = { ok: true, principal: { userId: "b", username: "ben", groups: ["agent"], expiresAt: 4_000_000_000 } };
    expect(await refusal('{"action":"subscribe","agentId":"ben","token":"t","endpoints":["q1"]}')).toMatchObject({
      status: 403,
      message: expect.stringMatching(/no agent profile/),
    });
    expect(subscribed).toEqual([]);
    // Without endpoints (its own chats only), no profile is needed.
    await handler(message('{"action":"subscribe","agentId":"ben","token":"t"}'));
    expect(subscribed).toEqual(["c1:1"]);
    subscribed.length = 0;
    check = {
      ok: true,
      principal: { userId: "v", username: "vera", groups: ["supervisor", "endpoint:other_q"], expiresAt: 4_000_000_000 },
    };
    await handler(message('{"action":"subscribe","agentId":"vera","token":"t","endpoints":["other_q"]}'));
    expect(subscribed).toEqual(["c1:2"]);
    subscribed.length = 0;
    expect(await refusal('{"action":"subscribe","agentId":"vera","token":"t","endpoints":["q1"]}')).toMatchObject({ status: 403 });
    expect(subscribed).toEqual([]);
  });

  it("reads the agent's profile beside its sign-out check, in one round, once the token's signature holds", async () => {
    let profileAsked: () => void = () => {};
    const asked = new Promise<void>((resolve) => (profileAsked = resolve));
    const side = pushHandler({
      agents: {
        // Answers only once the profile has been asked for: read one after the other, this would never end.
        signedOutUntil: async () => asked.then(() => undefined),
        getProfile: async (agentId) => {
          profileAsked();
          return { agentId, endpoints: ["q1"], maxChats: 1, updatedAt: "2026-01-01T00:00:00.000Z" };
        },
      },
      sessions: {} as SessionStore,
      now: () => new Date(),
      push,
      sender,
      verify: async () => ({
        ok: true,
        principal: { userId: "s", username: "anna", groups: ["agent"], expiresAt: 4_000_000_000, family: "f" },
      }),
    });
    frames.length = 0;
    await side(message('{"action":"subscribe","agentId":"anna","token":"t","endpoints":["q1"]}'));
    expect(JSON.parse(frames[0] as string)).toMatchObject({ channel: "/gms/subscribed", data: { endpoints: ["q1"] } });
    // A token that fails its signature reads nothing.
    let read = 0;
    const refusing = pushHandler({
      agents: {
        signedOutUntil: async () => {
          read += 1;
          return undefined;
        },
        getProfile: async () => {
          read += 1;
          return undefined;
        },
      },
      sessions: {} as SessionStore,
      now: () => new Date(),
      push,
      sender,
      verify: async () => ({ ok: false, reason: "signature", message: "" }),
    });
    await refusing(message('{"action":"subscribe","agentId":"anna","token":"t","endpoints":["q1"]}'));
    expect(read).toBe(0);
  });
});
