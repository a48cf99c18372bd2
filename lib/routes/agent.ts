import type { APIGatewayProxyEvent } from "aws-lambda";
import { accept, agentDisconnect, agentEvent, agentRefresh, setPresence, waitingChats } from "../chat/agent.ts";
import type { ChatDeps } from "../chat/conversation.ts";
import type { CorsPolicy } from "../http/cors.ts";
import { decodeFields, type Fields } from "../http/decode.ts";
import { dispatch, httpHandler, type HttpResult } from "../http/respond.ts";
import { requireAgentId } from "../presence.ts";

const A = "/genesys/1/agent/{agentId}";
const C = `${A}/chats/{service}`;

/**
 * The agent side under `/genesys/1/agent/{agentId}`, authenticated like the admin API (API Gateway
 * requires the stage's `x-api-key`). Agents, bots or integrations go ready on an endpoint, take
 * chats from its queue and talk to the customer.
 */
export function agentHandler(deps: ChatDeps & { readonly cors: CorsPolicy }) {
  const op = (run: (agentId: string, id: string, fields: Fields) => Promise<unknown>) => async (event: APIGatewayProxyEvent): Promise<HttpResult> => {
    const agentId = requireAgentId(event.pathParameters?.agentId ?? "");
    return { status: 200, body: await run(agentId, event.pathParameters?.service ?? "", await decodeFields(event)) };
  };
  return httpHandler(
    dispatch({
      [`${A}/presence`]: { PUT: op((agentId, _id, fields) => setPresence(deps, agentId, fields)) },
      [`${A}/queue`]: { GET: op((_agentId, _id, fields) => waitingChats(deps, fields)) },
      [`${C}/accept`]: { POST: op((agentId, id, fields) => accept(deps, agentId, id, fields)) },
      [`${C}/send`]: { POST: op((agentId, id, fields) => agentEvent(deps, agentId, id, "Message.Text", fields)) },
      [`${C}/startTyping`]: { POST: op((agentId, id, fields) => agentEvent(deps, agentId, id, "Notice.TypingStarted", fields)) },
      [`${C}/stopTyping`]: { POST: op((agentId, id, fields) => agentEvent(deps, agentId, id, "Notice.TypingStopped", fields)) },
      [`${C}/refresh`]: { POST: op((agentId, id, fields) => agentRefresh(deps, agentId, id, fields)) },
      [`${C}/disconnect`]: { POST: op((agentId, id, fields) => agentDisconnect(deps, agentId, id, fields)) },
    }),
    deps.cors,
  );
}
