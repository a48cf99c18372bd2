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
