import type { APIGatewayProxyEvent } from "aws-lambda";
import { parsePosition, type ChatRequest } from "../chat/conversation.ts";
import { publicBasePath } from "../http/base-path.ts";
import { decodeFields } from "../http/decode.ts";

/** A chat call's event, decoded and checked for the customer and agent operations: bad input fails here, before any write. */
export async function chatRequest(event: APIGatewayProxyEvent): Promise<ChatRequest> {
  const fields = await decodeFields(event);
  return { sessionId: event.pathParameters?.service ?? "", fields, position: parsePosition(fields.transcriptPosition), basePath: publicBasePath(event) };
}
