import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { allListeners } from "../../lib/chat/listeners.ts";
import { corsPolicy } from "../../lib/http/cors.ts";
import { agentHandler } from "../../lib/http/routes/agent.ts";
import { chatHandler } from "../../lib/http/routes/chat.ts";
import { requestChatHandler } from "../../lib/http/routes/request-chat.ts";
import { chatIdOf } from "../../lib/session/ids.ts";
import type { ChatListeners, ChatState, TranscriptEvent } from "../../lib/storage.ts";
import { startTestDynamo, type TestDynamo } from "../support/dynamo.ts";
import { callRoute } from "../support/events.ts";
import { pickOn, profileFor, testService } from "../support/service.ts";

/** The push channels' hook (ChatListeners): every event written reaches them, and their failures reach nobody. */
const start = new Date();
let db: TestDynamo;
const heard: { phase: string; agentId: string | undefined; position: number; type: string }[] = [];
const recording: ChatListeners = {
  async written(chat: ChatState, event: TranscriptEvent) {
    heard.push({ phase: chat.phase, agentId: chat.agentId, position: event.position, type: event.type });
  },
};
const failing: ChatListeners = {
  written: async () => {
    throw new Error("the push channel is down");
  },
};
let handlers: {
  requestChat: ReturnType<typeof requestChatHandler>;
  chat: ReturnType<typeof chatHandler>;
  agent: ReturnType<typeof agentHandler>;
};

beforeAll(async () => {
  vi.spyOn(console, "log").mockImplementation(() => {});
  db = await startTestDynamo();
  const deps = { ...testService(db, { now: () => start }), cors: corsPolicy("*"), listeners: allListeners(failing, recording) };
  await pickOn(db, ["heard_q"]);
  await profileFor(db, "anna", ["heard_q"]);
  handlers = { requestChat: requestChatHandler(deps), chat: chatHandler(deps), agent: agentHandler(deps) };
  await db.config.putService({ name: "heard", ttlSeconds: 3600, chatEndpoint: "heard_q", updatedAt: start.toISOString() });
});
afterAll(async () => {
  vi.restoreAllMocks();
  await db?.close();
});

describe("the listeners of written events", () => {
  it("hear every event of a whole chat, in the chat's state after it, though one of them fails every time", async () => {
    const B = "/genesys/1/service/{service}/ixn/chat";
    const agent = (op: string, id: string, form: Record<string, string> = {}) =>
      callRoute(handlers.agent, `/genesys/1/agent/{agentId}/chats/{chatId}/${op}`, "POST", { agentId: "anna", chatId: chatIdOf(id) }, form);
    await callRoute(
      handlers.agent,
      "/genesys/1/agent/{agentId}/presence",
      "PUT",
      { agentId: "anna" },
      { endpoint: "heard_q", state: "ready" },
    );
    const id = String((await callRoute(handlers.requestChat, "/genesys/1/service/{service}", "POST", { service: "heard" })).body._id);
    const answers = [
      await callRoute(handlers.chat, B, "POST", { service: id }, { firstName: "Max" }),
      await agent("accept", id),
      await callRoute(handlers.chat, `${B}/send`, "POST", { service: id }, { message: "Hi" }),
      await agent("startTyping", id),
      await agent("send", id, { message: "Hello" }),
      await callRoute(handlers.chat, `${B}/refresh`, "POST", { service: id }, { message: "Thanks", transcriptPosition: "5" }),
      await callRoute(handlers.chat, `${B}/disconnect`, "POST", { service: id }),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200, 200, 200]);
    expect(heard).toEqual([
      { phase: "WAITING", agentId: undefined, position: 1, type: "Notice.Joined" },
      { phase: "ACCEPTED", agentId: "anna", position: 2, type: "Notice.Joined" },
      { phase: "ACCEPTED", agentId: "anna", position: 3, type: "Message.Text" },
      { phase: "ACCEPTED", agentId: "anna", position: 4, type: "Notice.TypingStarted" },
      { phase: "ACCEPTED", agentId: "anna", position: 5, type: "Message.Text" },
      { phase: "ACCEPTED", agentId: "anna", position: 6, type: "Message.Text" },
      { phase: "ENDED", agentId: "anna", position: 7, type: "Notice.Left" },
    ]);
  });
});
