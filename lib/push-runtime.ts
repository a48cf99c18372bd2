import { pushListener } from "./push/push.ts";
import { stores } from "./runtime.ts";
import { senderFromEnv } from "./websocket/management-api.ts";
import { wire } from "./wire.ts";

/**
 * The production wiring of the functions that write chat events or serve the WebSocket API
 * (docs/push.md): every event is also posted to the WebSocket connections that listen, through API
 * Gateway's Management API (none where PUSH_MANAGEMENT_URL is unset). Apart from lib/runtime.ts so
 * that the other functions' bundles (request-chat, admin, seed) hold no Management API client.
 */
export const sender = senderFromEnv(process.env);
export const pushService = wire(stores, { sender, listen: [pushListener] });
