import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import { type CorsPolicy, corsHeaders, preflightHeaders, sameOriginHeaders } from "./cors.ts";
import { errorAnswer, MethodNotAllowedError, NotFoundError } from "./errors.ts";

export type HttpHandler = (event: APIGatewayProxyEvent) => Promise<HttpResult>;

export interface HttpResult {
  readonly status: number;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** Sent as it is, instead of `body`; `headers` give its Content-Type. */
  readonly text?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Readable by pages of the API's own origin only: no CORS header, whatever CORS_ALLOWED_ORIGINS allows. */
  readonly sameOrigin?: boolean;
}

/** A request's outcome, and what its storage calls cost. */
export type Scoped<T> = ({ readonly result: T } | { readonly error: unknown }) & { readonly cost: Readonly<Record<string, number>> };

/**
 * The storage scope a request runs in: it meters the request's storage calls (count, capacity) for
 * the log line, so that what each request costs is visible in production, not only in a benchmark,
 * and it starts no storage call that could outlive the function (`deadline`).
 * lib/dynamo/request-scope.ts is DynamoDB's; the composition root (lib/runtime.ts) passes it in.
 */
export interface RequestScope {
  /** The log line's field for the figures. */
  readonly name: string;
  /** Runs the request; never rejects. `deadline`: epoch milliseconds at which the function times out. */
  run<T>(request: () => Promise<T>, deadline?: number): Promise<Scoped<T>>;
}

/** What every route family's wrapper needs besides its routes. */
export interface HttpOptions {
  readonly cors: CorsPolicy;
  /** Without one (the pages, tests that count calls otherwise) storage calls are neither metered nor bounded. */
  readonly scope?: RequestScope | undefined;
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

async function unscoped<T>(request: () => Promise<T>): Promise<Scoped<T>> {
  try {
    return { result: await request(), cost: {} };
  } catch (error) {
    return { error, cost: {} };
  }
}

/**
 * Wraps a route family: answers CORS preflights, runs the route in the storage scope, maps failures
 * to responses in one place (lib/http/errors.ts), adds the CORS headers to every answer, and writes
 * one JSON log line per request (request id, route, status, latency, and the scope's figures).
 * Request data never reaches the log: context key/values carry personal data.
 */
export function httpHandler(route: HttpHandler, options: HttpOptions) {
  const { scope } = options;
  return async (event: APIGatewayProxyEvent, context?: Context): Promise<APIGatewayProxyResult> => {
    const started = performance.now();
    // Lambda (and serverless-offline) tell each invocation how long it has left; a handler called
    // without a context (a test) has no deadline.
    const deadline = context?.getRemainingTimeInMillis === undefined ? undefined : Date.now() + context.getRemainingTimeInMillis();
    const request = () => (event.httpMethod === "OPTIONS" ? Promise.resolve({ status: 204, headers: preflightHeaders() }) : route(event));
    const outcome = await (scope ? scope.run(request, deadline) : unscoped(request));
    let result: HttpResult;
    let fault: string | undefined;
    if ("error" in outcome) {
      const { status, exception, message, headers = {} } = errorAnswer(outcome.error);
      result = { status, headers, body: { message, exception } };
      // Expected outcomes (4xx, "no agent" 503) are info; bugs and storage faults, which carry
      // their cause, are errors, named as the client saw them.
      const { error } = outcome;
      if (status === 500) fault = describe(error);
      else if (error instanceof Error && error.cause !== undefined) fault = describe(error, exception);
    } else {
      result = outcome.result;
    }
    result = {
      ...result,
      headers: { ...result.headers, ...(result.sameOrigin ? sameOriginHeaders(event) : corsHeaders(options.cors, event)) },
    };
    const line: Record<string, unknown> = {
      level: fault === undefined ? "info" : "error",
      requestId: context?.awsRequestId ?? event.requestContext?.requestId,
      method: event.httpMethod,
      route: event.resource,
      status: result.status,
      latencyMs: Math.round((performance.now() - started) * 10) / 10,
    };
    // Who made the request: the person's pool id (`sub`) or "machine" (the API key); never the token.
    const authorizer = event.requestContext?.authorizer;
    if (authorizer?.outcome === "person" && typeof authorizer.userId === "string") line.userId = authorizer.userId;
    else if (authorizer?.outcome === "machine") line.userId = "machine";
    if (scope) line[scope.name] = outcome.cost;
    if (fault !== undefined) line.error = fault;
    console.log(JSON.stringify(line));
    return toResponse(result);
  };
}

/** Error names and code locations only: storage errors' messages can quote request values. */
function describe(error: unknown, name?: string): string {
  if (!(error instanceof Error)) return typeof error;
  const frames =
    error.stack
      ?.split("\n")
      .slice(1, 4)
      .map((frame) => frame.trim()) ?? [];
  const cause = error.cause === undefined ? "" : ` caused by ${describe(error.cause)}`;
  return `${name ?? error.name} ${frames.join(" ")}${cause}`;
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
