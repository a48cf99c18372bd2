import type { APIGatewayProxyEvent } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { publicBasePath } from "../../lib/http/base-path.ts";

const event = (path: string, contextPath: string | undefined) =>
  ({ path, requestContext: contextPath === undefined ? undefined : { path: contextPath } }) as unknown as APIGatewayProxyEvent;

describe("publicBasePath", () => {
  it.each([
    ["API Gateway's default endpoint", "/genesys/1/service/request-chat", "/prod/genesys/1/service/request-chat", "/prod"],
    [
      "a custom domain with a base path mapping",
      "/genesys/1/service/request-chat",
      "/chat-api/genesys/1/service/request-chat",
      "/chat-api",
    ],
    ["a custom domain at the root", "/genesys/1/service/request-chat", "/genesys/1/service/request-chat", ""],
    ["serverless-offline without a stage prefix", "/genesys/1/service/x", "/genesys/1/service/x", ""],
    ["no request context", "/genesys/1/service/x", undefined, ""],
    ["paths that do not line up", "/genesys/1/service/x", "/other", ""],
  ])("is right behind %s", (_name, path, contextPath, expected) => {
    expect(publicBasePath(event(path, contextPath))).toBe(expected);
  });
});
