import { agentListeners, pushListener } from "./push/push.ts";
import { stores } from "./runtime.ts";
import { workFromEnv } from "./sqs/work.ts";
import { senderFromEnv } from "./websocket/management-api.ts";
import { wire } from "./wire.ts";

/**
 * The production wiring of the functions that write chat events or serve the WebSocket API
 * (docs/push.md): routing's queue on SQS, and every event (and routing's news for agents) posted to
 * the WebSocket connections that listen, through API Gateway's Management API (none where
 * PUSH_MANAGEMENT_URL is unset). Apart from lib/runtime.ts so that the other functions' bundles
 * (request-chat, CometD, the seed) hold no Management API or SQS client.
 */
export const sender = senderFromEnv(process.env);
export const pushService = wire(stores, { work: workFromEnv(process.env), sender, listen: [pushListener], tell: agentListeners });
