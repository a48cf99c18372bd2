import type { APIGatewayProxyEvent } from "aws-lambda";
import { httpEvent } from "../../scripts/local/events.ts";

export { httpEvent };

export function formEvent(service: string, form: Record<string, string>, overrides: Partial<APIGatewayProxyEvent> = {}) {
  return httpEvent({
    path: `/genesys/1/service/${service}`,
    pathParameters: { service },
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form).toString(),
    ...overrides,
  });
}

// Answers are read field by field by the assertions, which check their shapes.
// biome-ignore lint/suspicious/noExplicitAny: see above.
type Json = Record<string, any>;

/** A route's answer: its status, its JSON body ({} when empty) and the body's size in bytes. */
export interface RouteAnswer {
  readonly status: number;
  readonly body: Json;
  readonly bytes: number;
}

/** Calls a route family's handler in process with a form body (and optionally a query string). */
export async function callRoute(
  handler: (event: APIGatewayProxyEvent) => Promise<{ statusCode: number; body: string }>,
  resource: string,
  method: string,
  params: Record<string, string>,
  form: Record<string, string> = {},
  query: Record<string, string> | null = null,
): Promise<RouteAnswer> {
  const response = await handler(
    httpEvent({
      resource,
      httpMethod: method,
      pathParameters: params,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form).toString(),
      queryStringParameters: query,
    }),
  );
  return {
    status: response.statusCode,
    body: response.body === "" ? {} : JSON.parse(response.body),
    bytes: Buffer.byteLength(response.body),
  };
}
