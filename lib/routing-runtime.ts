import { stores } from "./runtime.ts";
import { workFromEnv } from "./sqs/work.ts";
import { wire } from "./wire.ts";

/**
 * The production wiring of the function that routes but posts no frame: the admin API, whose agent
 * profiles can make an agent not ready and whose endpoint settings route waiting chats. Routing's
 * queue on SQS (ROUTING_QUEUE_URL, checked at cold start).
 */
export const work = workFromEnv(process.env);
export const routingService = wire(stores, { work });
