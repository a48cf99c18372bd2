import type { ChatListeners } from "../storage.ts";

/**
 * All the push channels as one listener (lib/runtime.ts wires them): each hears every event, side
 * by side, and one that fails stops neither the others nor the write.
 */
export function allListeners(...listeners: readonly ChatListeners[]): ChatListeners {
  return {
    async written(chat, event) {
      await Promise.all(listeners.map((listener) => listener.written(chat, event).catch(() => undefined)));
    },
    async erased(chat, lastPosition) {
      await Promise.all(listeners.map(async (listener) => listener.erased?.(chat, lastPosition).catch(() => undefined)));
    },
  };
}
