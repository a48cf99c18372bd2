import { InvalidInputError } from "../errors.ts";

/**
 * The Bayeux messages a CometD client sends (https://docs.cometd.org/current/reference/#_bayeux),
 * checked field by field. A request whose messages are malformed (not objects, fields of the wrong
 * type or size, too many) is refused as a whole, before anything is read or stored; a well-formed
 * message the server will not do (an unknown client, another channel) gets a Bayeux error reply.
 * Fields Bayeux allows and the server does not use are ignored.
 */

/** The one channel clients subscribe to, and the channel of every push. */
export const GENESYS_CHANNEL = "/_genesys";
/** The one transport served: no websocket, no callback-polling. */
export const LONG_POLLING = "long-polling";
/** Messages one request may carry: CometD clients send one, or a short batch. */
export const MAX_MESSAGES = 16;

const MAX_CHANNEL_LENGTH = 128;
const MAX_ID_LENGTH = 64;
const MAX_LIST = 16;
/** Bayeux channel names: segments of letters, digits and a few marks; wildcards are names too (and refused as channels). */
const CHANNEL = /^\/[\w\-.*~!$()+/]*$/;
const CLIENT_ID = /^[\w-]{1,64}$/;
const POSITION = /^\d{1,10}$/;

export interface BayeuxMessage {
  readonly channel: string;
  /** Echoed in the reply, which the client matches by it. */
  readonly id?: string | number;
  readonly clientId?: string;
  /** `/meta/subscribe`, `/meta/unsubscribe`: one channel or several. */
  readonly subscription?: string | readonly string[];
  /** `/meta/handshake`. */
  readonly supportedConnectionTypes?: readonly string[];
  /** `/meta/connect`. */
  readonly connectionType?: string;
  /** `advice.timeout` of a connect: how long the client wants it held at most, in milliseconds (0 on its first connect). */
  readonly timeoutMs?: number;
  /** `ext.transcriptPosition` (handshake, disconnect): the last position the app has of its chats. */
  readonly transcriptPosition?: number;
}

/** The messages of a request body: one message or an array of them. */
export function parseMessages(body: unknown): BayeuxMessage[] {
  const list = Array.isArray(body) ? body : [body];
  if (list.length === 0) throw new InvalidInputError("Send at least one Bayeux message");
  if (list.length > MAX_MESSAGES) throw new InvalidInputError(`Send at most ${MAX_MESSAGES} Bayeux messages per request`);
  return list.map(parseMessage);
}

function parseMessage(raw: unknown): BayeuxMessage {
  if (!isObject(raw)) throw new InvalidInputError("Each Bayeux message must be a JSON object");
  const channel = raw.channel;
  if (typeof channel !== "string" || channel.length > MAX_CHANNEL_LENGTH || !CHANNEL.test(channel)) {
    throw new InvalidInputError("Each Bayeux message needs a channel name");
  }
  const message: { -readonly [K in keyof BayeuxMessage]: BayeuxMessage[K] } = { channel };
  if (raw.id !== undefined) message.id = messageId(raw.id);
  if (raw.clientId !== undefined) {
    if (typeof raw.clientId !== "string" || !CLIENT_ID.test(raw.clientId))
      throw new InvalidInputError("clientId is not one this server gives");
    message.clientId = raw.clientId;
  }
  if (raw.subscription !== undefined) message.subscription = subscription(raw.subscription);
  if (raw.supportedConnectionTypes !== undefined) message.supportedConnectionTypes = names(raw.supportedConnectionTypes);
  if (raw.connectionType !== undefined) {
    if (typeof raw.connectionType !== "string" || raw.connectionType.length > MAX_CHANNEL_LENGTH) {
      throw new InvalidInputError("connectionType must be a transport name");
    }
    message.connectionType = raw.connectionType;
  }
  if (raw.advice !== undefined && raw.advice !== null) {
    if (!isObject(raw.advice)) throw new InvalidInputError("advice must be an object");
    const { timeout } = raw.advice;
    if (timeout !== undefined) {
      if (typeof timeout !== "number" || !Number.isFinite(timeout) || timeout < 0) {
        throw new InvalidInputError("advice.timeout must be a number of milliseconds");
      }
      message.timeoutMs = timeout;
    }
  }
  if (raw.ext !== undefined && raw.ext !== null) {
    if (!isObject(raw.ext)) throw new InvalidInputError("ext must be an object");
    const position = raw.ext.transcriptPosition;
    if (position !== undefined && position !== null && position !== "") message.transcriptPosition = transcriptPosition(position);
  }
  return message;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function messageId(raw: unknown): string | number {
  if (typeof raw === "string" && raw.length <= MAX_ID_LENGTH) return raw;
  if (typeof raw === "number" && Number.isSafeInteger(raw)) return raw;
  throw new InvalidInputError("A message id must be a short string");
}

function channelName(raw: unknown): string {
  if (typeof raw !== "string" || raw.length > MAX_CHANNEL_LENGTH || !CHANNEL.test(raw)) {
    throw new InvalidInputError("subscription must name channels");
  }
  return raw;
}

function subscription(raw: unknown): string | readonly string[] {
  if (!Array.isArray(raw)) return channelName(raw);
  if (raw.length === 0 || raw.length > MAX_LIST) throw new InvalidInputError(`subscription must name 1 to ${MAX_LIST} channels`);
  return raw.map(channelName);
}

function names(raw: unknown): readonly string[] {
  if (!Array.isArray(raw) || raw.length > MAX_LIST || !raw.every((name) => typeof name === "string" && name.length <= MAX_CHANNEL_LENGTH)) {
    throw new InvalidInputError("supportedConnectionTypes must be a list of transport names");
  }
  return raw;
}

/** A position as GMS clients send it: digits, as a string or a number. */
function transcriptPosition(raw: unknown): number {
  const text = typeof raw === "number" ? String(raw) : raw;
  if (typeof text !== "string" || !POSITION.test(text.trim())) throw new InvalidInputError("ext.transcriptPosition must be a whole number");
  return Number(text.trim());
}
