import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import { type CorsPolicy, corsHeaders, preflightHeaders } from "./cors.ts";
import { errorAnswer, MethodNotAllowedError, NotFoundError } from "./errors.ts";

export type HttpHandler = (event: APIGatewayProxyEvent) => Promise<HttpResult>;

export interface HttpResult {
  readonly status: number;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** Sent as it is, instead of `body`; `headers` give its Content-Type. */
  readonly text?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A request's outcome, and what it cost. */
export type Measured<T> = ({ readonly result: T } | { readonly error: unknown }) & { readonly cost: Readonly<Record<string, number>> };

/**
 * Runs a request in its storage scope: measures what it costs (calls, capacity) for its log line,
 * so that what each request costs is visible in production, not only in a benchmark, and keeps
 * storage calls from outliving the function (`deadline`). lib/dynamo/metering.ts does it for
 * DynamoDB; the composition root (lib/runtime.ts) passes it in.
 */
export interface RequestMeter {
  /** The log line's field for the figures. */
  readonly name: string;
  /** Runs the request; never rejects. `deadline`: epoch milliseconds of the function's timeout. */
  measure<T>(run: () => Promise<T>, deadline?: number): Promise<Measured<T>>;
}

/** What every route family's wrapper needs besides its routes. */
export interface HttpOptions {
  readonly cors: CorsPolicy;
  readonly meter?: RequestMeter | undefined;
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

/** The GMS error body: `{"message", "exception"}`. */
function errorResult(error: unknown): HttpResult {
  const { status, exception, message, headers = {} } = errorAnswer(error);
  return { status, headers, body: { message, exception } };
}

async function unmeasured<T>(run: () => Promise<T>): Promise<Measured<T>> {
  try {
    return { result: await run(), cost: {} };
  } catch (error) {
    return { error, cost: {} };
  }
}

/**
 * Wraps a route family: answers CORS preflights, runs the route in the meter's scope, maps failures
 * to responses in one place (lib/http/errors.ts), adds the CORS headers to every answer, and writes
 * one JSON log line per request (request id, route, status, latency, and the meter's figures). Request data never
 * reaches the log: context key/values carry personal data.
 */
export function httpHandler(route: HttpHandler, options: HttpOptions) {
  const { meter } = options;
  return async (event: APIGatewayProxyEvent, context?: Context): Promise<APIGatewayProxyResult> => {
    const started = performance.now();
    // Lambda tells each invocation how long it has left; outside Lambda there is no deadline.
    const deadline = context?.getRemainingTimeInMillis === undefined ? undefined : Date.now() + context.getRemainingTimeInMillis();
    const measure = <T>(run: () => Promise<T>) => (meter ? meter.measure(run, deadline) : unmeasured(run));
    const outcome = await measure(() =>
      event.httpMethod === "OPTIONS" ? Promise.resolve({ status: 204, headers: preflightHeaders() }) : route(event),
    );
    const failure = "error" in outcome ? outcome.error : undefined;
    let result = "error" in outcome ? errorResult(outcome.error) : outcome.result;
    result = { ...result, headers: { ...result.headers, ...corsHeaders(options.cors, event) } };
    // Expected outcomes (4xx, "no agent" 503) are info; bugs and storage faults carry their cause.
    const fault = "error" in outcome && (result.status === 500 || (failure instanceof Error && failure.cause !== undefined));
    const line: Record<string, unknown> = {
      level: fault ? "error" : "info",
      requestId: context?.awsRequestId ?? event.requestContext?.requestId,
      method: event.httpMethod,
      route: event.resource,
      status: result.status,
      latencyMs: Math.round((performance.now() - started) * 10) / 10,
    };
    if (meter) line[meter.name] = outcome.cost;
    if (fault) line.error = describe(failure);
    console.log(JSON.stringify(line));
    return toResponse(result);
  };
}

/** Error class names and code locations only: storage errors' messages can quote request values. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return typeof error;
  const frames =
    error.stack
      ?.split("\n")
      .slice(1, 4)
      .map((frame) => frame.trim()) ?? [];
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
