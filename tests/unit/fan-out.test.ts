import { afterEach, describe, expect, it, vi } from "vitest";
import { FAN_OUT_BUDGET_MS, pushListener } from "../../lib/push/push.ts";
import type { ChatState, ConnectionSender, PushStore, PushTopic, TranscriptEvent } from "../../lib/storage.ts";

/** The fan-out's promises to the call that wrote the event (lib/push/push.ts): bounded in time, never failing it. */
const chat = {
  sessionId: "6f1c3a5e-0000-4000-8000-000000000000",
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
    listening: async (topic) => (listening[topic.kind] ?? []).map((connectionId) => ({ connectionId, expiresAt: 4_000_000_000 })),
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
  it("sends the chat's frame to the chat's and the holding agent's connections, and forgets those found gone", async () => {
    const sent: string[] = [];
    const forgotten: string[] = [];
    const sender: ConnectionSender = {
      async send(connectionId, frame) {
        if (connectionId === "gone") return "gone";
        sent.push(`${connectionId}:${JSON.parse(frame).data.id}`);
        return "sent";
      },
    };
    await pushListener({ push: storeWith({ chat: ["c1", "gone"], agent: ["a1"], queue: ["q1"] }, forgotten), sender, now }).written(
      chat,
      event,
    );
    expect(sent.sort()).toEqual([`a1:${chat.sessionId}:3`, `c1:${chat.sessionId}:3`]);
    expect(forgotten).toEqual(["chat:gone"]);
  });

  it("holds the writer at most its budget when a post never answers, and swallows a failing store", async () => {
    vi.useFakeTimers();
    const hanging: ConnectionSender = { send: () => new Promise(() => undefined) };
    let done = false;
    const written = pushListener({ push: storeWith({ chat: ["c1"] }), sender: hanging, now })
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
