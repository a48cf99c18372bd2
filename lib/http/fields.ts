import type { APIGatewayProxyEvent } from "aws-lambda";
import type { CustomerCall, CustomerPost } from "../chat/customer.ts";
import { requireMessage } from "../chat/message.ts";
import type { Post } from "../chat/transcript.ts";
import { InvalidInputError } from "../errors.ts";
import { sessionIdOrUnknown } from "../session/session.ts";
import { MAX_TTL_SECONDS } from "../time.ts";
import { publicBasePath } from "./base-path.ts";
import type { Fields } from "./decode.ts";

/**
 * Helpers for the route families' parsers, which turn an event into the checked command a domain
 * operation takes: every field is read here, once, and checked before any storage call (all but
 * the limits of a new chat's attached data, which include the stored session's).
 */

/** Refuses any key but `allowed`, so that a typo (`_tll`) is not silently ignored. */
export function onlyKeys(fields: Readonly<Record<string, unknown>>, allowed: readonly string[], message: string): void {
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

/** A `_ttl` value: whole seconds, 1 to 7 days, written as plain digits. */
export function parseTtlSeconds(raw: string, name = "_ttl"): number {
  const value = /^[0-9]{1,7}$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isInteger(value) || value < 1 || value > MAX_TTL_SECONDS) {
    throw new InvalidInputError(`${name} must be a whole number of seconds from 1 to ${MAX_TTL_SECONDS}`);
  }
  return value;
}

/** `transcriptPosition`: the last position the client has seen; absent or blank for everything. */
export function parsePosition(raw: string | undefined): number | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  if (!/^\d{1,10}$/.test(raw.trim())) throw new InvalidInputError("transcriptPosition must be a whole number");
  return Number(raw.trim());
}

/**
 * A Chat API call: its position, then the operation's own fields (`own` reads them), then the
 * session id from the path. In that order: a bad field is a 400 even on an unknown id.
 */
export function chatCall<Own extends object>(event: APIGatewayProxyEvent, fields: Fields, own: () => Own): CustomerCall & Own {
  const position = parsePosition(fields.transcriptPosition);
  const ownFields = own();
  return {
    ...ownFields,
    sessionId: sessionIdOrUnknown(pathParameter(event, "service")),
    position,
    view: { verbose: isVerbose(fields._verbose), basePath: publicBasePath(event) },
  };
}

/** A call with no fields of its own (disconnect, accept, an agent's refresh). */
export const noFields = () => ({});

/** What a message (send) or a typing notice says, from the customer or an agent. */
export function parsePostText(fields: Fields, type: Post["type"]): Post {
  return { type, text: type === "Message.Text" ? requireMessage(fields.message) : "" };
}

/** A customer's message (send) or typing notice. */
export function parsePost(event: APIGatewayProxyEvent, fields: Fields, type: Post["type"]): CustomerPost {
  return chatCall(event, fields, () => parsePostText(fields, type));
}
