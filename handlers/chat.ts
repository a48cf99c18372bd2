import { chatHandler } from "../lib/http/routes/chat.ts";
import { pushService } from "../lib/push-runtime.ts";
import { http } from "../lib/runtime.ts";

/** The chat function (Chat API v1 and the service API): lib/http/routes/chat.ts on the production wiring. */
export const handler = chatHandler({ ...pushService, ...http });
