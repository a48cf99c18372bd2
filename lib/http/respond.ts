import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import { corsHeaders, preflightHeaders, type CorsPolicy } from "./cors.ts";
import { metered } from "../dynamo/metering.ts";
import { HttpError, MethodNotAllowedError, NotFoundError } from "./errors.ts";

export type HttpHandler = (event: APIGatewayProxyEvent) => Promise<HttpResult>;

export interface HttpResult {
  readonly status: number;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** Sent as it is, instead of `body`; `headers` give its Content-Type. */
  readonly text?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** GMS answers must never be cached by browsers or proxies. */
const BASE_HEADERS = {
  "Content-Type": "application/json",
  "Cache-Control": "no-cache, no-store",
  Pragma: "no-cache",
} as const;

function toResponse(result: HttpResult): APIGatewayProxyResult {
  const headers = { ...BASE_HEADERS, ...result.headers };
  if (result.text !== undefined) return { statusCode: result.status, headers, body: result.text };
  if (result.body === undefined) {
    // 204 and 304 have no body, so they name no type.
    const { "Content-Type": _none, ...rest } = headers;
    return { statusCode: result.status, headers: rest, body: "" };
  }
  return { statusCode: result.status, headers, body: JSON.stringify(result.body) };
}

/** The GMS error body: `{"message", "exception"}`. 5xx details stay server-side. */
function errorResult(error: unknown): HttpResult {
  if (error instanceof HttpError) {
    return { status: error.status, headers: error.headers, body: { message: error.message, exception: error.exception } };
  }
  return { status: 500, body: { message: "Internal server error", exception: "InternalServerException" } };
}

/**
 * Wraps a route family: answers CORS preflights, runs the route, maps typed errors to responses in
 * one place, adds the CORS headers to every answer, and writes one JSON log line per request
 * (request id, route, status, latency, DynamoDB calls and capacity units). Request data never reaches the log:
 * context key/values carry personal data.
 */
export function httpHandler(route: HttpHandler, cors: CorsPolicy) {
  return async (event: APIGatewayProxyEvent, context?: Context): Promise<APIGatewayProxyResult> => {
    const started = performance.now();
    let result: HttpResult;
    let failure: unknown;
    const outcome = await metered(() => (event.httpMethod === "OPTIONS" ? Promise.resolve({ status: 204, headers: preflightHeaders() }) : route(event)));
    if ("error" in outcome) {
      failure = outcome.error;
      result = errorResult(outcome.error);
    } else {
      result = outcome.result;
    }
    result = { ...result, headers: { ...result.headers, ...corsHeaders(cors, event) } };
    // Expected outcomes (4xx, "no agent" 503) are info; bugs and storage faults carry their cause.
    const fault = failure !== undefined && (!(failure instanceof HttpError) || failure.cause !== undefined);
    const line: Record<string, unknown> = {
      level: fault ? "error" : "info",
      requestId: context?.awsRequestId ?? event.requestContext?.requestId,
      method: event.httpMethod,
      route: event.resource,
      status: result.status,
      latencyMs: Math.round((performance.now() - started) * 10) / 10,
      dynamodb: outcome.meter,
    };
    if (fault) line.error = describe(failure);
    console.log(JSON.stringify(line));
    return toResponse(result);
  };
}

/** Error class names and code locations only: SDK messages can quote request values. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return typeof error;
  const frames = error.stack?.split("\n").slice(1, 4).map((frame) => frame.trim()) ?? [];
  const cause = error.cause === undefined ? "" : ` caused by ${describe(error.cause)}`;
  return `${error.name} ${frames.join(" ")}${cause}`;
}

/** A route family's routes: API Gateway resource template, then HTTP method. */
export type RouteTable = Readonly<Record<string, Partial<Record<string, HttpHandler>>>>;

/** Picks the route for the event's resource and method: unknown resource 404, other method 405. */
export function dispatch(routes: RouteTable): HttpHandler {
  return async (event) => {
    const methods = routes[event.resource];
    if (methods === undefined) throw new NotFoundError("No such resource");
    const route = methods[event.httpMethod.toUpperCase()];
    if (route === undefined) throw new MethodNotAllowedError();
    return route(event);
  };
}
