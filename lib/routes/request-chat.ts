import { v4 as uuidv4 } from "uuid";
import { decodeFields } from "../http/decode.ts";
import { httpHandler } from "../http/respond.ts";
import { requestChat, type RequestChatDeps } from "../request-chat.ts";

/** `POST /genesys/1/service/{service}`. */
export function requestChatHandler(deps: RequestChatDeps) {
  return httpHandler(async (event) => {
    const fields = await decodeFields(event);
    const body = await requestChat(deps, event.pathParameters?.service ?? "", fields);
    return { status: 200, body };
  });
}

export const newSessionId = (): string => uuidv4();
