import type { Stores } from "../storage.ts";
import { MemoryCometStore } from "./comet-store.ts";
import { MemoryConfigStore } from "./config-store.ts";
import { MemoryPushStore } from "./push-store.ts";
import { MemorySessionStore } from "./session-store.ts";

/** Every store in memory: a fresh, empty set. */
export function memoryStores(): Stores {
  return {
    config: new MemoryConfigStore(),
    sessions: new MemorySessionStore(),
    push: new MemoryPushStore(),
    comet: new MemoryCometStore(),
  };
}
