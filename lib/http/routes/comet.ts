import type { APIGatewayProxyEvent } from "aws-lambda";
import { gmsUserOf } from "../../chat/notify.ts";
import { type BayeuxRequest, type CometDeps, handleBayeux } from "../../comet/bayeux.ts";
import { parseMessages } from "../../comet/messages.ts";
import type { StorageSequence } from "../../sequence.ts";
import { decodeJson, header } from "../decode.ts";
import { NotFoundError } from "../errors.ts";
import { pathParameter } from "../fields.ts";
import { dispatch, type HttpOptions, httpHandler } from "../respond.ts";

/**
 * The longest sequence of storage calls a request makes before or after its hold: a connect that
 * pushes at its first poll (the client, the user's mailboxes, the chats read side by side, what
 * was sent recorded). A handshake, a subscribe, a disconnect and a connect that pushes nothing make
 * fewer. A held connect also polls the mailboxes until its hold ends (HOLD_TIMING): its time, not
 * its calls, is bounded, and AFTER_HOLD_SEQUENCE is what may still follow the hold's end.
 */
export const LONGEST_STORAGE_SEQUENCE: StorageSequence = ["comet.getClient", "comet.mailboxes", "sessions.read", "comet.record"];
/** The calls that can follow the end of a hold: the poll under way, then the chats' reads and the record. */
export const AFTER_HOLD_SEQUENCE: StorageSequence = ["comet.mailboxes", "sessions.read", "comet.record"];

/** The message types CometD clients append to the URL (`appendMessageTypeToURL`, on by default). */
const MESSAGE_TYPES: ReadonlySet<string> = new Set(["handshake", "connect", "subscribe", "unsubscribe", "disconnect"]);

/**
 * The comet function's routes (its Lambda entry is handlers/comet.ts): the Bayeux long-polling
 * transport at `/genesys/cometd`, and at `/genesys/cometd/{type}` where clients append the message
 * type. The server is lib/comet/bayeux.ts; every answer is a JSON array of Bayeux replies, errors of
 * the request itself (its body, its size, storage) the API's JSON errors.
 */
export function cometHandler(deps: CometDeps & HttpOptions) {
  const bayeux = async (event: APIGatewayProxyEvent) => ({ status: 200, body: await handleBayeux(deps, parseBayeux(event)) });
  return httpHandler(
    dispatch({
      "/genesys/cometd": { POST: bayeux },
      "/genesys/cometd/{type}": {
        POST: (event) => {
          if (!MESSAGE_TYPES.has(pathParameter(event, "type"))) throw new NotFoundError("No such resource");
          return bayeux(event);
        },
      },
    }),
    deps,
  );
}

/** The request's messages (one, or an array), and who sends them. */
function parseBayeux(event: APIGatewayProxyEvent): BayeuxRequest {
  const messages = parseMessages(decodeJson(event));
  return { gmsUser: gmsUserOf(header(event, "gms_user")), messages };
}
