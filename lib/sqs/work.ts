import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { StorageUnavailableError } from "../errors.ts";
import type { RoutingTask, RoutingWork } from "../routing/work.ts";

/** The longest delay SQS gives a message: 15 minutes. */
const MAX_DELAY_SECONDS = 900;

/**
 * Routing's queue on Amazon SQS (a standard queue that feeds the router function, serverless.yml):
 * each task one message, delayed by `DelaySeconds` (whole seconds, 0-900) where a timer wants it.
 * Delivery is at least once and unordered: every task is safe to run twice, and reads what it acts
 * on (lib/routing/router.ts). A send that fails is the storage's failure to the caller: the request
 * is answered 503 and tried again.
 */
export class SqsWork implements RoutingWork {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(task: RoutingTask, delaySeconds = 0): Promise<void> {
    const delay = Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil(delaySeconds)));
    try {
      await this.client.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(task), DelaySeconds: delay }));
    } catch (error) {
      throw new StorageUnavailableError(error);
    }
  }
}

/**
 * The queue of ROUTING_QUEUE_URL, checked once at cold start; the client's endpoint comes from the
 * SDK's usual sources (AWS_ENDPOINT_URL_SQS locally), bounded like the DynamoDB client's calls.
 */
export function workFromEnv(env: NodeJS.ProcessEnv = process.env): SqsWork {
  const queueUrl = env.ROUTING_QUEUE_URL;
  if (queueUrl === undefined || !/^https?:\/\/[^\s]+$/.test(queueUrl)) throw new Error("ROUTING_QUEUE_URL must be the routing queue's URL");
  const client = new SQSClient({
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 300, requestTimeout: 800, throwOnRequestTimeout: true },
  });
  return new SqsWork(client, queueUrl);
}
