import type { APIGatewayProxyEvent } from "aws-lambda";
import {
  type CreateChatCommand,
  cancelSession,
  createChat,
  customerDisconnect,
  customerEvent,
  type RefreshCommand,
  refresh,
  sessionData,
} from "../../chat/customer.ts";
import { requireMessage } from "../../chat/message.ts";
import { gmsUserOf } from "../../chat/notify.ts";
import type { Post } from "../../chat/transcript.ts";
import type { StorageSequence } from "../../sequence.ts";
import { sessionIdOrUnknown } from "../../session/session.ts";
import type { ChatDeps } from "../../storage.ts";
import { decodeFields, header } from "../decode.ts";
import { chatCall, noFields, parsePost, pathParameter } from "../fields.ts";
import { dispatch, type HttpOptions, httpHandler } from "../respond.ts";

const B = "/genesys/1/service/{service}/ixn/chat";

/**
 * The longest sequence of storage calls one request makes: a create (read, new chat, its attached
 * data, its first event and its queue entry side by side, the answer). A disconnect, a DELETE and a message with its answer take as many or fewer.
 */
export const LONGEST_STORAGE_SEQUENCE: StorageSequence = [
  "sessions.read",
  "sessions.createChat",
  ["sessions.attach", "sessions.write", "routing.putWaiting"],
  "sessions.read",
];

/**
 * The chat function's routes (its Lambda entry is handlers/chat.ts): Chat API v1 under
 * `/genesys/1/service/{id}/ixn/chat`, and the service API (`GET`/`DELETE /genesys/1/service/{id}`).
 * The operations are lib/chat/customer.ts.
 */
export function chatHandler(deps: ChatDeps & HttpOptions) {
  const post = (type: Post["type"]) => async (event: APIGatewayProxyEvent) => ({
    status: 200,
    body: await customerEvent(deps, parsePost(event, await decodeFields(event), type)),
  });
  return httpHandler(
    dispatch({
      "/genesys/1/service/{service}": {
        GET: async (event) => ({ status: 200, body: await sessionData(deps, sessionIdOrUnknown(pathParameter(event, "service"))) }),
        DELETE: async (event) => {
          await cancelSession(deps, sessionIdOrUnknown(pathParameter(event, "service")));
          return { status: 204 };
        },
      },
      [B]: { POST: async (event) => ({ status: 200, body: await createChat(deps, await parseCreate(event)) }) },
      [`${B}/refresh`]: { POST: async (event) => ({ status: 200, body: await refresh(deps, await parseRefresh(event)) }) },
      [`${B}/send`]: { POST: post("Message.Text") },
      [`${B}/startTyping`]: { POST: post("Notice.TypingStarted") },
      [`${B}/stopTyping`]: { POST: post("Notice.TypingStopped") },
      [`${B}/disconnect`]: {
        POST: async (event) => ({
          status: 200,
          body: await customerDisconnect(deps, chatCall(event, await decodeFields(event), noFields)),
        }),
      },
    }),
    deps,
  );
}

/**
 * Create fields that describe the customer. `notify_by=comet` with a `gms_user` header has the
 * chat's events pushed to that user's CometD clients (lib/comet/); the push_notification_ fields
 * (mobile push services) are accepted and not used.
 */
const CUSTOMER_KEYS: readonly string[] = ["firstName", "lastName", "email", "subject", "userDisplayName", "subscriptionID", "notify_by"];
/** Accepted on create and not kept: push settings, and other operations' fields. */
const IGNORED_KEYS = /^(push_notification_|transcriptPosition$|message$)/;

/**
 * The customer fields, and the other keys that join the session's context data as attached data
 * (control keys dropped). Their limits are the chat's to check (lib/chat/customer.ts): they apply
 * to the session's data and these together, and only when the create opens a new chat.
 */
async function parseCreate(event: APIGatewayProxyEvent): Promise<CreateChatCommand> {
  const fields = await decodeFields(event);
  return chatCall(event, fields, () => {
    const customer: Record<string, string> = {};
    const extra: Record<string, string> = {};
    for (const [key, value] of Object.entries(fields)) {
      if (CUSTOMER_KEYS.includes(key)) customer[key] = value;
      else if (!IGNORED_KEYS.test(key) && !key.startsWith("_")) extra[key] = value;
    }
    return { customer, extra, gmsUser: gmsUserOf(header(event, "gms_user")) };
  });
}

async function parseRefresh(event: APIGatewayProxyEvent): Promise<RefreshCommand> {
  const fields = await decodeFields(event);
  // A refresh may carry a message to post first; a blank one is no message.
  const blank = fields.message === undefined || fields.message.trim() === "";
  return chatCall(event, fields, () => ({ message: blank ? undefined : requireMessage(fields.message) }));
}
