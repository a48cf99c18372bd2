import { agentHandler } from "../lib/routes/agent.ts";
import { configStore, cors, now, sessionStore } from "../lib/runtime.ts";

export const handler = agentHandler({ chats: sessionStore, config: configStore, now, cors });
