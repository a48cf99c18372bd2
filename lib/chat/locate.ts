import { UnknownSessionError } from "../errors.ts";
import { chatIdOf } from "../session/ids.ts";
import type { ChatDeps } from "../storage.ts";

/**
 * Runs a customer's operation on the records of its session: under the chat id of the session id
 * (lib/session/ids.ts), where every session opened since chat ids is kept. A session opened before
 * them (legacy) kept everything under the session id itself, and still does: when the chat id finds
 * no session, the session id is tried, once, and only then is the session unknown. The extra read
 * is paid by unknown ids and legacy sessions alone, and becomes useless once the last legacy
 * session has expired, 7 days (the longest `_ttl`) after the upgrade that brought chat ids.
 */
export async function onSession<T>(
  deps: Pick<ChatDeps, "sessions">,
  sessionId: string,
  operation: (chatId: string) => Promise<T>,
): Promise<T> {
  try {
    return await operation(chatIdOf(sessionId));
  } catch (error) {
    if (!(error instanceof UnknownSessionError) || (await deps.sessions.get(sessionId)) === undefined) throw error;
    return operation(sessionId);
  }
}
