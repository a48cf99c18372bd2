import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { CreateQueueCommand, DeleteMessageCommand, type Message, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { createRequestHandler } from "local-aws-sqs";
import { browserRequest, LOCAL_AWS_ENV } from "./stack.ts";

/**
 * Routing's queue on this machine: local-aws-sqs, an SQS server in Node that speaks the SDK's JSON
 * protocol (the pinned @aws-sdk/client-sqs sends nothing else) and honours DelaySeconds, the
 * visibility timeout and long polls, so the functions' code sends to it exactly as it sends to SQS.
 * serverless-offline has no SQS event source (and its plugin for one, serverless-offline-sqs, needs
 * a separate ElasticMQ server on the JVM): `startRouterFeed` plays Lambda's event source mapping,
 * receiving each task and invoking the router function through serverless-offline's Invoke API.
 *
 * Like dynalite here, it listens on loopback only and refuses what a web browser sends.
 */
export interface LocalSqs {
  readonly endpoint: string;
  readonly queueUrl: string;
  close(): Promise<void>;
}

export const ROUTING_QUEUE_NAME = "gms-chat-routing";

export async function startLocalSqs(options: { port: number; host?: string }): Promise<LocalSqs> {
  const host = options.host ?? "127.0.0.1";
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const { requestHandler } = createRequestHandler({ port, hostname: host, emulateQueueCreationLifecycle: false });
  server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    const refused = browserRequest(request);
    if (refused === undefined) return void requestHandler(request, response);
    request.resume();
    response.writeHead(403, { "content-type": "text/plain" }).end(`The local SQS refuses ${refused}: it serves local tools only.\n`);
  });
  const endpoint = `http://${host}:${port}`;
  const client = localSqsClient(endpoint);
  // As serverless.yml's RoutingQueue, with a visibility timeout that redelivers a failed task sooner.
  const { QueueUrl } = await client.send(
    new CreateQueueCommand({ QueueName: ROUTING_QUEUE_NAME, Attributes: { VisibilityTimeout: "10" } }),
  );
  client.destroy();
  if (QueueUrl === undefined) throw new Error("The local SQS created no queue");
  return {
    endpoint,
    queueUrl: QueueUrl,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

export function localSqsClient(endpoint: string): SQSClient {
  return new SQSClient({
    endpoint,
    region: LOCAL_AWS_ENV.AWS_REGION,
    credentials: { accessKeyId: LOCAL_AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: LOCAL_AWS_ENV.AWS_SECRET_ACCESS_KEY },
  });
}

/** Long polls side by side: tasks run as soon as they are due, a few at once, as Lambda's pollers do. */
const POLLERS = 3;

/**
 * Lambda's event source mapping for the router function, on this machine: each poller receives a
 * task (one at a time: local-aws-sqs holds a long poll for more until its wait ends), hands it to
 * `invoke` as an SQS event, and deletes it unless the function reported it failed (or failed
 * itself), so that it comes back after the visibility timeout, as on AWS. Stops with `stop()`.
 */
export function startRouterFeed(options: {
  readonly endpoint: string;
  readonly queueUrl: string;
  readonly invoke: (event: SQSEvent) => Promise<SQSBatchResponse>;
  readonly log: (message: string) => void;
}): { stop(): Promise<void> } {
  const client = localSqsClient(options.endpoint);
  const controller = new AbortController();
  const poll = async () => {
    while (!controller.signal.aborted) {
      try {
        const { Messages = [] } = await client.send(
          new ReceiveMessageCommand({ QueueUrl: options.queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 2, AttributeNames: ["All"] }),
          { abortSignal: controller.signal },
        );
        if (Messages.length === 0) continue;
        const records = Messages.map((message): SQSRecord => recordOf(message, options.queueUrl));
        let failed: ReadonlySet<string>;
        try {
          failed = new Set((await options.invoke({ Records: records })).batchItemFailures.map((item) => item.itemIdentifier));
        } catch (error) {
          options.log(`the router function failed: ${error instanceof Error ? error.message : String(error)}`);
          failed = new Set(records.map((record) => record.messageId));
        }
        await Promise.all(
          Messages.filter((message) => !failed.has(message.MessageId ?? "")).map((message) =>
            client.send(new DeleteMessageCommand({ QueueUrl: options.queueUrl, ReceiptHandle: message.ReceiptHandle })),
          ),
        );
      } catch (error) {
        if (controller.signal.aborted) return;
        options.log(`routing's queue: ${error instanceof Error ? error.message : String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  };
  const running = Array.from({ length: POLLERS }, () => poll());
  return {
    async stop() {
      controller.abort();
      await Promise.allSettled(running);
      client.destroy();
    },
  };
}

function recordOf(message: Message, queueUrl: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? "",
    receiptHandle: message.ReceiptHandle ?? "",
    body: message.Body ?? "",
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? "1",
      SentTimestamp: attributes.SentTimestamp ?? "0",
      SenderId: attributes.SenderId ?? "",
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? "0",
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: `arn:aws:sqs:${LOCAL_AWS_ENV.AWS_REGION}:123456789012:${queueUrl.split("/").pop() ?? ""}`,
    awsRegion: LOCAL_AWS_ENV.AWS_REGION,
  };
}

/**
 * Invokes a function through serverless-offline's Invoke API, which listens on a Unix socket only
 * (scripts/local/processes.ts): what Lambda's event source mapping does with each batch.
 */
export function invokeOverSocket(socketPath: string, functionName: string) {
  return (event: SQSEvent): Promise<SQSBatchResponse> =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify(event);
      const request = httpRequest(
        {
          socketPath,
          method: "POST",
          path: `/2015-03-31/functions/${functionName}/invocations`,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (response) => {
          let text = "";
          response.setEncoding("utf8");
          response.on("data", (chunk: string) => {
            text += chunk;
          });
          response.on("end", () => {
            if (response.statusCode !== 200) return reject(new Error(`invoke answered ${response.statusCode}: ${text.slice(0, 200)}`));
            try {
              const answer = JSON.parse(text) as Partial<SQSBatchResponse> | null;
              resolve({ batchItemFailures: Array.isArray(answer?.batchItemFailures) ? answer.batchItemFailures : [] });
            } catch {
              reject(new Error(`invoke answered ${text.slice(0, 200)}`));
            }
          });
        },
      );
      request.on("error", reject);
      request.end(body);
    });
}
