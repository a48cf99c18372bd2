import { createHash } from "node:crypto";
import { UnknownChatError } from "../errors.ts";

/**
 * A chat's id: what agents, supervisors and their consoles name a chat by, and the key its records
 * are kept under. It is derived from the session id, which is the customer's credential on the
 * Chat API, by a one-way function: the customer's calls find their chat from the session id, and
 * nobody can find the session id from the chat id, so an agent (or a leaked console log) holding a
 * chat id can neither read the chat as the customer nor post as the customer.
 *
 * 128 bits of SHA-256 of the session id, base64url: 22 characters, which no session id (a UUID, 36)
 * can be. Sessions opened before chat ids (legacy) keep their records under the session id itself,
 * which is then their chat id (lib/chat/locate.ts).
 */
export function chatIdOf(sessionId: string): string {
  return createHash("sha256").update(`gms-chat:${sessionId}`).digest().subarray(0, 16).toString("base64url");
}

const CHAT_ID = /^[A-Za-z0-9_-]{22}$/;
/** A chat opened before chat ids is known by its session id. */
const LEGACY_CHAT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Whether `raw` is a chat id (or a chat opened before chat ids, its session id). */
export function isChatId(raw: string): boolean {
  return CHAT_ID.test(raw) || LEGACY_CHAT_ID.test(raw);
}

/** A chat id from a path or a message; anything that is not one is unknown without asking storage. */
export function chatIdOrUnknown(raw: string): string {
  if (!isChatId(raw)) throw new UnknownChatError();
  return raw;
}
