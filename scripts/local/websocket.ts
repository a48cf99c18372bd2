import { timingSafeEqual } from "node:crypto";
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { type RawData, WebSocket, WebSocketServer } from "ws";
import { LOCAL_SECRET_HEADER } from "../../lib/websocket/management-api.ts";

/**
 * The local WebSocket API's door. serverless-offline serves the WebSocket API and its Management API
 * on one port that answers anyone: any web page could connect, any local page post forged frames
 * to any connection, and one message of 20 MB was buffered before it was refused. So
 * serverless-offline listens on a Unix socket in a folder only this user can open
 * (scripts/local/processes.ts), and this server, on the stack's WebSocket port (loopback only),
 * passes on what API Gateway would let through:
 *
 * - a connection from a browser page of an origin the stack allows (its own pages, or
 *   CORS_ALLOWED_ORIGINS); programs that send no Origin are let in, as API Gateway lets them;
 * - at most MAX_CONNECTIONS_PER_CLIENT open connections per client address;
 * - messages of at most API Gateway's 128 KB (a larger one closes the connection with 1009, as
 *   API Gateway does), relayed both ways in order;
 * - Management API calls (`/@connections/...`) only with the secret `npm start` made for this run,
 *   which only its functions are given (lib/websocket/management-api.ts).
 */

/** API Gateway's largest WebSocket message (frames of it are 32 KB; a message is at most 128 KB). */
export const MAX_MESSAGE_BYTES = 128 * 1024;
/** Open connections one client address may hold: far more than a person's tabs, far below what stalls the stack. */
export const MAX_CONNECTIONS_PER_CLIENT = 100;

export interface WebSocketGateOptions {
  /** The TCP port (0: any free one), on loopback. */
  readonly port: number;
  /** serverless-offline's WebSocket server: its Unix socket. */
  readonly upstreamSocket: string;
  /** What the Management API's callers must send in LOCAL_SECRET_HEADER. */
  readonly secret: string;
  /** Origins whose pages may connect (exact `scheme://host[:port]`, or `*` for any). */
  readonly allowedOrigins: readonly string[];
}

export interface WebSocketGate {
  readonly port: number;
  close(): Promise<void>;
}

export async function startWebSocketGate(options: WebSocketGateOptions): Promise<WebSocketGate> {
  const allowed = new Set(options.allowedOrigins);
  const open = new Map<string, number>();
  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  const server = createServer((request, response) => void manage(request, response, options));

  server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const origin = request.headers.origin;
    if (origin !== undefined && !allowed.has(origin) && !allowed.has("*")) return refuse(socket, 403, "Forbidden");
    const client = request.socket.remoteAddress ?? "";
    const count = open.get(client) ?? 0;
    if (count >= MAX_CONNECTIONS_PER_CLIENT) return refuse(socket, 429, "Too Many Requests");
    open.set(client, count + 1);
    const release = once(() => {
      const left = (open.get(client) ?? 1) - 1;
      if (left > 0) open.set(client, left);
      else open.delete(client);
    });
    socket.once("close", release);
    relay(request, socket, head, sockets, options.upstreamSocket, release);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const client of sockets.clients) client.terminate();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Opens the connection on serverless-offline's socket first (its `$connect` may refuse it), then
 * accepts the client's; each side's messages go to the other in order, and either closing closes both.
 */
function relay(
  request: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  sockets: WebSocketServer,
  upstreamSocket: string,
  release: () => void,
) {
  const headers: Record<string, string> = {};
  for (const name of ["origin", "user-agent", "sec-websocket-protocol"]) {
    const value = request.headers[name];
    if (typeof value === "string") headers[name] = value;
  }
  const upstream = new WebSocket(`ws+unix:${upstreamSocket}:${request.url ?? "/"}`, { headers, maxPayload: 16 * 1024 * 1024 });
  const refused = () => refuse(socket, 502, "Bad Gateway");
  upstream.once("error", refused);
  upstream.once("unexpected-response", (_request, response) => {
    upstream.off("error", refused);
    refuse(socket, response.statusCode ?? 502, response.statusMessage ?? "Refused");
    response.resume();
  });
  upstream.once("open", () => {
    upstream.off("error", refused);
    sockets.handleUpgrade(request, socket, head, (client) => {
      client.on("message", (data: RawData, isBinary: boolean) => upstream.send(data, { binary: isBinary }));
      upstream.on("message", (data: RawData, isBinary: boolean) => client.send(data, { binary: isBinary }));
      client.on("close", (code: number) => {
        release();
        upstream.close(closable(code));
      });
      upstream.on("close", (code: number) => client.close(closable(code)));
      client.on("error", () => client.terminate());
      upstream.on("error", () => client.terminate());
    });
  });
}

/** A close code one side may send on: the reserved ones (no status, abnormal) become a plain close. */
function closable(code: number): number {
  return code === 1005 || code === 1006 || code === 1015 ? 1000 : code;
}

/** The Management API, for the holder of the secret only: passed on to serverless-offline's socket. */
async function manage(request: IncomingMessage, response: ServerResponse, options: WebSocketGateOptions): Promise<void> {
  const sent = request.headers[LOCAL_SECRET_HEADER];
  if (typeof sent !== "string" || !same(sent, options.secret)) {
    response.writeHead(403, { "content-type": "application/json" }).end('{"message":"Forbidden"}');
    request.resume();
    return;
  }
  const headers = { ...request.headers };
  delete headers[LOCAL_SECRET_HEADER];
  const upstream = httpRequest({ socketPath: options.upstreamSocket, path: request.url, method: request.method, headers }, (answer) => {
    response.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(response);
  });
  upstream.on("error", () => {
    if (!response.headersSent) response.writeHead(502).end();
    else response.destroy();
  });
  request.pipe(upstream);
}

function same(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function refuse(socket: Duplex, status: number, reason: string): void {
  if (socket.writable) socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  else socket.destroy();
}

function once(run: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    run();
  };
}
