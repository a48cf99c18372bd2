import type { APIGatewayProxyEvent } from "aws-lambda";
import type { ChatRequest } from "../chat/conversation.ts";
import { publicBasePath } from "../http/base-path.ts";
import { decodeFields } from "../http/decode.ts";

/** A chat call's event, decoded for the customer and agent operations. */
export async function chatRequest(event: APIGatewayProxyEvent): Promise<ChatRequest> {
  return { sessionId: event.pathParameters?.service ?? "", fields: await decodeFields(event), basePath: publicBasePath(event) };
}
