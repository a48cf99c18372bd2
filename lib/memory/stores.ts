import { MemoryAgentStore } from "./agent-store.ts";
import { MemoryCometStore } from "./comet-store.ts";
import { MemoryConfigStore } from "./config-store.ts";
import { MemoryPushStore } from "./push-store.ts";
import { MemoryRoutingStore } from "./routing-store.ts";
import { MemorySessionStore } from "./session-store.ts";

/** Every store in memory (lib/wire.ts Stores): a fresh, empty set. */
export function memoryStores() {
  const sessions = new MemorySessionStore();
  const agents = new MemoryAgentStore();
  return {
    config: new MemoryConfigStore(agents),
    sessions,
    push: new MemoryPushStore(sessions),
    comet: new MemoryCometStore(),
    routing: new MemoryRoutingStore(),
    agents,
  };
}
