import type { APIGatewayProxyEvent } from "aws-lambda";
import { httpEvent } from "../../scripts/local/events.ts";

export { httpEvent };

/** An hour ahead, in epoch seconds: the expiry of the tokens the stand-in authorizer contexts name. */
const AN_HOUR = () => Math.floor(Date.now() / 1000) + 3600;

/**
 * What the authorizer (lib/http/authorizer.ts) passes to a function: a signed-in person of the
 * pool (by default an agent whose username is `username`), or a machine caller with the API key.
 */
export function personContext(username: string, groups: readonly string[] = ["agent"], userId = `sub-${username}`) {
  return { outcome: "person", userId, username, groups: groups.join(","), exp: String(AN_HOUR()) };
}
export const MACHINE_CONTEXT = { outcome: "machine" } as const;

/** `event` as the authorizer passes it on: `/agent/{agentId}` routes as that agent, admin routes as a machine caller. */
export function authorized(event: APIGatewayProxyEvent): APIGatewayProxyEvent {
  const agentId = event.pathParameters?.agentId;
  const authorizer =
    agentId !== undefined ? personContext(agentId) : event.resource.startsWith("/genesys/1/admin/") ? MACHINE_CONTEXT : undefined;
  if (authorizer === undefined) return event;
  return { ...event, requestContext: { ...event.requestContext, authorizer } };
}

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
    authorized(
      httpEvent({
        resource,
        httpMethod: method,
        pathParameters: params,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(form).toString(),
        queryStringParameters: query,
      }),
    ),
  );
  return {
    status: response.statusCode,
    body: response.body === "" ? {} : JSON.parse(response.body),
    bytes: Buffer.byteLength(response.body),
  };
}
