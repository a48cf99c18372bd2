import { afterEach, describe, expect, it, vi } from "vitest";
import { FAN_OUT_BUDGET_MS, pushListener } from "../../lib/push/push.ts";
import type { ChatState, ConnectionSender, PushStore, PushTopic, TranscriptEvent } from "../../lib/storage.ts";

/** The fan-out's promises to the call that wrote the event (lib/push/push.ts): bounded in time, never failing it. */
const chat = {
  chatId: "Zq3nR6fD0b2tK8yW1xV4sA",
  sessionId: "6f1c3a5e-0000-4000-8000-000000000000",
  // The customer's tabs, as the write's claim read them with the chat.
  listeners: ["c1", "gone"],
  chatSessionId: "0123456789ABCDEF",
  phase: "ACCEPTED",
  startedAt: "2026-11-30T10:00:00.000Z",
  endpoint: "q",
  customerNickname: "Max",
  customer: {},
  userId: "U",
  secureKey: "K",
  agentId: "anna",
  agentNickname: "Anna",
  expiresAt: 4_000_000_000,
} as ChatState;
const event: TranscriptEvent = {
  type: "Message.Text",
  nickname: "Max",
  text: "hi",
  party: "CLIENT",
  position: 3,
  offset: 1,
  at: chat.startedAt,
};
const now = () => new Date("2026-11-30T10:00:01Z");

function storeWith(listening: Partial<Record<PushTopic["kind"], string[]>>, forgotten: string[] = []): PushStore {
  return {
    subscribe: async () => true,
    listening: async (topic) => (listening[topic.kind] ?? []).map((connectionId) => ({ connectionId, expiresAt: 4_000_000_000, since: 0 })),
    unsubscribe: async (topic, connectionId) => {
      forgotten.push(`${topic.kind}:${connectionId}`);
    },
    forget: async () => undefined,
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("the fan-out of a written event", () => {
  it("sends the customer's frame to the chat's listeners and the agent's to its consoles, and forgets those found gone", async () => {
    const sent: string[] = [];
    const forgotten: string[] = [];
    const sender: ConnectionSender = {
      async send(connectionId, frame) {
        if (connectionId === "gone") return "gone";
        const { channel, data } = JSON.parse(frame);
        sent.push(`${connectionId}:${channel}:${data.id}`);
        return "sent";
      },
    };
    // The chat's listeners come with the chat: the store is asked for the agent's consoles only.
    const asked: string[] = [];
    const store = storeWith({ chat: ["never-read"], agent: ["a1"], queue: ["q1"] }, forgotten);
    const counting: PushStore = {
      ...store,
      listening: async (topic, limit) => {
        asked.push(topic.kind);
        return store.listening(topic, limit);
      },
    };
    await pushListener({ push: counting, sender, now }).written(chat, event);
    // The customer hears the session's GMS envelope; the agent the chat id, and nothing of the session.
    expect(sent.sort()).toEqual([`a1:/_genesys:${chat.chatId}:3`, `c1:/_genesys:${chat.sessionId}:3`]);
    expect(asked).toEqual(["agent"]);
    expect(forgotten).toEqual(["chat:gone"]);
  });

  it("holds the writer at most its budget when a post never answers, and swallows a failing store", async () => {
    vi.useFakeTimers();
    const hanging: ConnectionSender = { send: () => new Promise(() => undefined) };
    let done = false;
    const written = pushListener({ push: storeWith({}), sender: hanging, now })
      .written(chat, event)
      .then(() => {
        done = true;
      });
    await vi.advanceTimersByTimeAsync(FAN_OUT_BUDGET_MS - 1);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await written;
    expect(done).toBe(true);
    vi.useRealTimers();
    const broken: PushStore = { ...storeWith({}), listening: async () => Promise.reject(new Error("down")) };
    await expect(pushListener({ push: broken, sender: hanging, now }).written(chat, event)).resolves.toBeUndefined();
  });
});
