import type { APIGatewayProxyEvent } from "aws-lambda";
import { requireMessage } from "../chat/message.ts";
import type { ChatCall, PostCommand } from "../chat/transcript.ts";
import { InvalidInputError } from "../errors.ts";
import { existingSessionId } from "../session/session.ts";
import { publicBasePath } from "./base-path.ts";
import type { Fields } from "./decode.ts";

/**
 * Helpers for the route families' parsers, which turn an event into the checked command a domain
 * operation takes: every field is read and checked here, once, before any storage call.
 */

/** Refuses any key but `allowed`, so that a typo (`_tll`) is not silently ignored. */
export function onlyKeys(fields: Fields, allowed: readonly string[], message: string): void {
  for (const key of Object.keys(fields)) {
    if (!allowed.includes(key)) throw new InvalidInputError(message);
  }
}

/** A path parameter; "" when absent (API Gateway always sets those of the route's template). */
export function pathParameter(event: Pick<APIGatewayProxyEvent, "pathParameters">, name: string): string {
  return event.pathParameters?.[name] ?? "";
}

/** `_verbose`: field clients send `true`, `True`, `TRUE` or `1`. Anything else means not verbose. */
export function isVerbose(raw: string | undefined): boolean {
  return raw !== undefined && /^(true|1)$/i.test(raw.trim());
}

/** `transcriptPosition`: the last position the client has seen; absent or blank for everything. */
function parsePosition(raw: string | undefined): number | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  if (!/^\d{1,10}$/.test(raw.trim())) throw new InvalidInputError("transcriptPosition must be a whole number");
  return Number(raw.trim());
}

/**
 * What every Chat API call carries: its position and how to answer, then the session id from the
 * path. Parsers check an operation's own fields first: a bad field is a 400 even on an unknown id.
 */
export function chatCall(event: APIGatewayProxyEvent, fields: Fields): ChatCall {
  const position = parsePosition(fields.transcriptPosition);
  return {
    sessionId: existingSessionId(pathParameter(event, "service")),
    position,
    view: { verbose: isVerbose(fields._verbose), basePath: publicBasePath(event) },
  };
}

/** A message (send) or a typing notice, from the customer or an agent. */
export function parsePost(event: APIGatewayProxyEvent, fields: Fields, type: PostCommand["type"]): PostCommand {
  const text = type === "Message.Text" ? requireMessage(fields.message) : "";
  return { type, text, ...chatCall(event, fields) };
}
