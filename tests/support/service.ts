import { MemoryWork } from "../../lib/memory/work.ts";
import type { Stores, WireOptions } from "../../lib/wire.ts";
import { wire } from "../../lib/wire.ts";

/**
 * The service as the in-process tests wire it: `wire` with routing's queue in memory (`work`, run by
 * the test with `work.drain(service.runTask)` when it wants routing to happen).
 */
export function testService(stores: Stores, options: WireOptions & { readonly now: () => Date }) {
  const work = new MemoryWork(options.now);
  const service = wire(stores, { work, ...options });
  return { ...service, work, route: () => work.drain(service.runTask) };
}

/**
 * Endpoints whose agents pick chats from the queue by hand (routing `pick`): for tests of the chat's
 * own mechanics, where no routing should come between a chat and the agent a test chooses.
 */
export async function pickOn(stores: Pick<Stores, "routing">, endpoints: readonly string[]): Promise<void> {
  await Promise.all(endpoints.map((endpoint) => stores.routing.putSettings(endpoint, { routing: "pick", offerTimeout: 20 })));
}

/** A profile for `agentId`, so that it may go ready on `endpoints`, with room for many chats. */
export async function profileFor(stores: Pick<Stores, "agents">, agentId: string, endpoints: readonly string[], maxChats = 10) {
  await stores.agents.putProfile({ agentId, endpoints, maxChats, updatedAt: new Date(0).toISOString() });
}
