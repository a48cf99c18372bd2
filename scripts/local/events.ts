import type { APIGatewayProxyEvent } from "aws-lambda";

/** An API Gateway REST proxy event, with only what a test names set. */
export function httpEvent(overrides: Partial<APIGatewayProxyEvent> = {}): APIGatewayProxyEvent {
  return {
    resource: "/genesys/1/service/{service}",
    path: "/genesys/1/service/request-chat",
    httpMethod: "POST",
    headers: {},
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: { requestId: "test-request" } as APIGatewayProxyEvent["requestContext"],
    ...overrides,
  };
}
