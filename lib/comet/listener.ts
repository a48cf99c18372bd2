import type { ChatListeners, CometStore } from "../storage.ts";

/**
 * The longest the writer of an event waits for its CometD mailbox to be raised. DynamoDB answers a
 * small update in milliseconds; past this the bump is abandoned (aborted, not left running), the
 * event is pushed with the chat's next one or the client's next connect after that, and the app's
 * refresh has it anyway. Added once to the worst case of each function that writes events
 * (tests/e2e/package.test.ts).
 */
export const COMET_BUMP_BUDGET_MS = 500;

/**
 * Tells held `/meta/connect`s (bayeux.ts) of events in chats created with `notify_by=comet` and a
 * `gms_user`: one small conditional write per event, raising the chat's mailbox in the user's
 * partition to the event's position. Chats without a CometD user cost nothing. Never throws.
 */
export function cometListener(store: CometStore, budgetMs = COMET_BUMP_BUDGET_MS): ChatListeners {
  return {
    async written(chat, event) {
      if (chat.cometUser === undefined) return;
      try {
        await store.bump(chat.cometUser, chat, event.position, AbortSignal.timeout(budgetMs));
      } catch {
        // Best-effort: positions make up for a lost bump (see above).
      }
    },
    // Cancelled (DELETE): nothing may link the user to the session any more.
    async erased(chat) {
      if (chat.cometUser === undefined) return;
      await store.dropMailbox(chat.cometUser, chat).catch(() => undefined);
    },
  };
}
