import { ApiGatewayManagementApiClient, PostToConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import type { ConnectionSender } from "../storage.ts";

/**
 * The WebSocket adapter: frames sent to connections through API Gateway's Management API
 * (`POST @connections/{id}`), deployed at `https://{api}.execute-api.{region}.amazonaws.com/{stage}`
 * and served by serverless-offline on its WebSocket port. A push is best-effort and must not hold
 * the call that wrote the event, so a post gets one short try.
 */

/** How long one post may take; the fan-out's own budget (lib/push/push.ts) bounds them all. */
const POST_TIMEOUT_MS = 800;

class ManagementApiSender implements ConnectionSender {
  private readonly client: ApiGatewayManagementApiClient;

  constructor(endpoint: string, localSecret: string | undefined) {
    this.client = new ApiGatewayManagementApiClient({
      endpoint,
      maxAttempts: 1,
      requestHandler: { connectionTimeout: POST_TIMEOUT_MS, requestTimeout: POST_TIMEOUT_MS, throwOnRequestTimeout: true },
    });
    if (localSecret !== undefined) {
      // The local WebSocket port's Management API takes posts only with this (scripts/local/websocket.ts).
      this.client.middlewareStack.add(
        (next) => (args) => {
          const request = args.request as { headers?: Record<string, string> };
          if (request.headers !== undefined) request.headers[LOCAL_SECRET_HEADER] = localSecret;
          return next(args);
        },
        { step: "build", name: "localManagementSecret" },
      );
    }
  }

  async send(connectionId: string, frame: string, signal?: AbortSignal): Promise<"sent" | "gone"> {
    try {
      await this.client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: new TextEncoder().encode(frame) }), {
        ...(signal === undefined ? {} : { abortSignal: signal }),
      });
      return "sent";
    } catch (error) {
      // serverless-offline answers 410 without naming it GoneException.
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if ((error as Error).name === "GoneException" || status === 410) return "gone";
      throw error;
    }
  }
}

/**
 * PUSH_MANAGEMENT_URL: where the functions post frames (the Management API's endpoint, an https
 * origin with the stage's path, or http on this machine); unset where nothing pushes. Checked at
 * cold start, so a misconfigured stage fails then. PUSH_MANAGEMENT_SECRET (`npm start` only): the
 * local Management API's credential.
 */
export function senderFromEnv(env: NodeJS.ProcessEnv): ConnectionSender | undefined {
  const value = env.PUSH_MANAGEMENT_URL ?? "";
  if (value === "") return undefined;
  const url = pushManagementUrl(value);
  const secret = env.PUSH_MANAGEMENT_SECRET || undefined;
  // Deployed, IAM signs each post; the secret is the local stack's stand-in, sent to this machine only.
  if (secret !== undefined && !url.startsWith("http:")) throw new Error("PUSH_MANAGEMENT_SECRET is for the local stack only");
  return new ManagementApiSender(url, secret);
}

/** The header that carries PUSH_MANAGEMENT_SECRET to the local WebSocket port's Management API. */
export const LOCAL_SECRET_HEADER = "x-gms-management-secret";

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

function pushManagementUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error("PUSH_MANAGEMENT_URL must be a URL");
  }
  const local = url.protocol === "http:" && LOCAL_HOSTS.has(url.hostname);
  if (url.protocol !== "https:" && !local) throw new Error("PUSH_MANAGEMENT_URL must be https (http only on this machine)");
  if (url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") {
    throw new Error("PUSH_MANAGEMENT_URL must have no query, fragment or credentials");
  }
  return value.replace(/\/+$/, "");
}
