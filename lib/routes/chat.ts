import type { APIGatewayProxyEvent } from "aws-lambda";
import { customerDisconnect, customerEvent, cancelSession, createChat, getSessionData, refresh } from "../chat/customer.ts";
import type { ChatDeps } from "../chat/conversation.ts";
import type { CorsPolicy } from "../http/cors.ts";
import { decodeFields, type Fields } from "../http/decode.ts";
import { dispatch, httpHandler, type HttpResult } from "../http/respond.ts";

const B = "/genesys/1/service/{service}/ixn/chat";

/**
 * The customer side: Chat API v1 under `/genesys/1/service/{id}/ixn/chat`, and the service API
 * (`GET`/`DELETE /genesys/1/service/{id}`). The service id in the path is the credential, as in GMS.
 */
export function chatHandler(deps: ChatDeps & { readonly cors: CorsPolicy }) {
  const op = (run: (id: string, fields: Fields) => Promise<unknown>) => async (event: APIGatewayProxyEvent): Promise<HttpResult> => ({
    status: 200,
    body: await run(event.pathParameters?.service ?? "", await decodeFields(event)),
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
      [B]: { POST: op((id, fields) => createChat(deps, id, fields)) },
      [`${B}/refresh`]: { POST: op((id, fields) => refresh(deps, id, fields)) },
      [`${B}/send`]: { POST: op((id, fields) => customerEvent(deps, id, "Message.Text", fields)) },
      [`${B}/startTyping`]: { POST: op((id, fields) => customerEvent(deps, id, "Notice.TypingStarted", fields)) },
      [`${B}/stopTyping`]: { POST: op((id, fields) => customerEvent(deps, id, "Notice.TypingStopped", fields)) },
      [`${B}/disconnect`]: { POST: op((id, fields) => customerDisconnect(deps, id, fields)) },
    }),
    deps.cors,
  );
}
