import { chatHandler } from "../lib/routes/chat.ts";
import { configStore, cors, now, sessionStore } from "../lib/runtime.ts";

export const handler = chatHandler({ chats: sessionStore, config: configStore, now, cors });
