import { agentHandler } from "../lib/http/routes/agent.ts";
import { listeners } from "../lib/push-runtime.ts";
import { http, now, stores } from "../lib/runtime.ts";

/** The agent function: lib/http/routes/agent.ts on the production wiring. */
export const handler = agentHandler({ ...stores, now, listeners, ...http });
