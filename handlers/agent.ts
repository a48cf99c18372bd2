import { agentHandler } from "../lib/http/routes/agent.ts";
import { pushService } from "../lib/push-runtime.ts";
import { http } from "../lib/runtime.ts";

/** The agent function: lib/http/routes/agent.ts on the production wiring. */
export const handler = agentHandler({ ...pushService, ...http });
