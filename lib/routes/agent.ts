import type { APIGatewayProxyEvent } from "aws-lambda";
import { accept, agentDisconnect, agentEvent, agentRefresh, setPresence, waitingChats } from "../chat/agent.ts";
import type { ChatDeps, ChatRequest } from "../chat/conversation.ts";
import type { CorsPolicy } from "../http/cors.ts";
import { decodeFields } from "../http/decode.ts";
import { dispatch, httpHandler, type HttpResult } from "../http/respond.ts";
import { requireAgentId } from "../presence.ts";
import { chatRequest } from "./chat-request.ts";

const A = "/genesys/1/agent/{agentId}";
const C = `${A}/chats/{service}`;

/**
 * The agent side under `/genesys/1/agent/{agentId}`, authenticated like the admin API (API Gateway
 * requires the stage's `x-api-key`). Agents, bots or integrations go ready on an endpoint, take
 * chats from its queue and talk to the customer.
 */
export function agentHandler(deps: ChatDeps & { readonly cors: CorsPolicy }) {
  const op = (run: (agentId: string, request: ChatRequest) => Promise<unknown>) => async (event: APIGatewayProxyEvent): Promise<HttpResult> => {
    const agentId = requireAgentId(event.pathParameters?.agentId ?? "");
    return { status: 200, body: await run(agentId, await chatRequest(event)) };
  };
  return httpHandler(
    dispatch({
      // Not chat calls: no session id, no transcriptPosition.
      [`${A}/presence`]: {
        PUT: async (event) => ({ status: 200, body: await setPresence(deps, requireAgentId(event.pathParameters?.agentId ?? ""), await decodeFields(event)) }),
      },
      [`${A}/queue`]: {
        GET: async (event) => {
          requireAgentId(event.pathParameters?.agentId ?? "");
          return { status: 200, body: await waitingChats(deps, await decodeFields(event)) };
        },
      },
      [`${C}/accept`]: { POST: op((agentId, request) => accept(deps, agentId, request)) },
      [`${C}/send`]: { POST: op((agentId, request) => agentEvent(deps, agentId, request, "Message.Text")) },
      [`${C}/startTyping`]: { POST: op((agentId, request) => agentEvent(deps, agentId, request, "Notice.TypingStarted")) },
      [`${C}/stopTyping`]: { POST: op((agentId, request) => agentEvent(deps, agentId, request, "Notice.TypingStopped")) },
      [`${C}/refresh`]: { POST: op((agentId, request) => agentRefresh(deps, agentId, request)) },
      [`${C}/disconnect`]: { POST: op((agentId, request) => agentDisconnect(deps, agentId, request)) },
    }),
    deps.cors,
  );
}
