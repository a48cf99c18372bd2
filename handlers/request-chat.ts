import { requestChatHandler } from "../lib/http/routes/request-chat.ts";
import { http, service } from "../lib/runtime.ts";

/** The request-chat function: lib/http/routes/request-chat.ts on the production wiring. */
export const handler = requestChatHandler({ ...service, ...http });
