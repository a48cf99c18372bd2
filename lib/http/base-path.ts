import type { APIGatewayProxyEvent } from "aws-lambda";

/**
 * The path prefix clients see in front of the route: `/prod` on API Gateway's default endpoint
 * (https://<api>.execute-api.<region>.amazonaws.com/prod/genesys/1/...), a custom domain's base path
 * mapping, or nothing (a custom domain at the root, serverless-offline). GMS answers carry
 * server-relative URLs, so the create-URL and the follow-up URLs must include it to work wherever
 * the API is served. API Gateway sets both paths; clients cannot.
 */
export function publicBasePath(event: Pick<APIGatewayProxyEvent, "path" | "requestContext">): string {
  const full = event.requestContext?.path;
  if (typeof full !== "string" || !event.path || full === event.path || !full.endsWith(event.path)) return "";
  return full.slice(0, full.length - event.path.length);
}
