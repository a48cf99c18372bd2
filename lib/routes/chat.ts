import type { APIGatewayProxyEvent } from "aws-lambda";
import { customerDisconnect, customerEvent, cancelSession, createChat, getSessionData, refresh } from "../chat/customer.ts";
import type { ChatDeps, ChatRequest } from "../chat/conversation.ts";
import type { CorsPolicy } from "../http/cors.ts";
import { dispatch, httpHandler, type HttpResult } from "../http/respond.ts";
import { chatRequest } from "./chat-request.ts";

const B = "/genesys/1/service/{service}/ixn/chat";

/**
 * The customer side: Chat API v1 under `/genesys/1/service/{id}/ixn/chat`, and the service API
 * (`GET`/`DELETE /genesys/1/service/{id}`). The service id in the path is the credential, as in GMS.
 */
export function chatHandler(deps: ChatDeps & { readonly cors: CorsPolicy }) {
  const op = (run: (request: ChatRequest) => Promise<unknown>) => async (event: APIGatewayProxyEvent): Promise<HttpResult> => ({
    status: 200,
    body: await run(await chatRequest(event)),
  });
  return httpHandler(
    dispatch({
      "/genesys/1/service/{service}": {
        GET: async (event) => ({ status: 200, body: await getSessionData(deps, event.pathParameters?.service ?? "") }),
        DELETE: async (event) => {
          await cancelSession(deps, event.pathParameters?.service ?? "");
          return { status: 204 };
        },
      },
      [B]: { POST: op((request) => createChat(deps, request)) },
      [`${B}/refresh`]: { POST: op((request) => refresh(deps, request)) },
      [`${B}/send`]: { POST: op((request) => customerEvent(deps, request, "Message.Text")) },
      [`${B}/startTyping`]: { POST: op((request) => customerEvent(deps, request, "Notice.TypingStarted")) },
      [`${B}/stopTyping`]: { POST: op((request) => customerEvent(deps, request, "Notice.TypingStopped")) },
      [`${B}/disconnect`]: { POST: op((request) => customerDisconnect(deps, request)) },
    }),
    deps.cors,
  );
}
