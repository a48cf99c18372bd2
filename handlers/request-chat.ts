import { requestChatHandler } from "../lib/http/routes/request-chat.ts";
import { http, now, stores } from "../lib/runtime.ts";

/** The request-chat function: lib/http/routes/request-chat.ts on the production wiring. */
export const handler = requestChatHandler({ ...stores, now, ...http });
