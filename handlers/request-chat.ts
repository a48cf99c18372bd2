import { newSessionId, requestChatHandler } from "../lib/routes/request-chat.ts";
import { configStore, now, sessionStore } from "../lib/runtime.ts";

export const handler = requestChatHandler({ config: configStore, sessions: sessionStore, now, newId: newSessionId });
