import { requestChatHandler } from "../lib/routes/request-chat.ts";
import { configStore, cors, now, sessionStore } from "../lib/runtime.ts";

export const handler = requestChatHandler({ config: configStore, sessions: sessionStore, now, cors });
