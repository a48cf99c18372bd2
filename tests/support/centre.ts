import { type PresenceView, setPresence } from "../../lib/agents/presence.ts";
import { putProfile } from "../../lib/agents/profile.ts";
import { createChat } from "../../lib/chat/customer.ts";
import { seedDefaults } from "../../lib/config/defaults.ts";
import { memoryStores } from "../../lib/memory/stores.ts";
import { MemoryWork } from "../../lib/memory/work.ts";
import type { OfferView, WithdrawnReason } from "../../lib/routing/listeners.ts";
import { putEndpoint, type SettingsCommand } from "../../lib/routing/settings.ts";
import { chatIdOf } from "../../lib/session/ids.ts";
import { openSession } from "../../lib/session/open.ts";
import type { Stores } from "../../lib/wire.ts";
import { wire } from "../../lib/wire.ts";

/** What the agents' consoles heard, in order. */
export type Heard =
  | { readonly kind: "offered"; readonly agentId: string; readonly offer: OfferView }
  | { readonly kind: "withdrawn"; readonly agentId: string; readonly chatId: string; readonly reason: WithdrawnReason }
  | { readonly kind: "presence"; readonly agentId: string; readonly presence: PresenceView };

/**
 * A contact centre in memory for routing's tests: the service wired on the memory stores (or given
 * ones), a clock the test moves, routing's queue in memory (run with `route()`), and what the
 * agents' consoles were told. The default service (request-chat on gms_builtin) exists.
 */
export async function centre(options: { stores?: Stores; start?: string } = {}) {
  let clock = Date.parse(options.start ?? "2026-12-07T10:00:00.000Z");
  const now = () => new Date(clock);
  const stores = options.stores ?? memoryStores();
  const work = new MemoryWork(now);
  const heard: Heard[] = [];
  const service = wire(stores, {
    now,
    work,
    tell: {
      offered: async (agentId, offer) => void heard.push({ kind: "offered", agentId, offer }),
      withdrawn: async (agentId, chatId, reason) => void heard.push({ kind: "withdrawn", agentId, chatId, reason }),
      presence: async (agentId, presence) => void heard.push({ kind: "presence", agentId, presence }),
    },
  });
  await seedDefaults(stores.config, { availability: true, now: now() });
  const route = () => work.drain(service.runTask);
  return {
    service,
    stores,
    work,
    heard,
    now,
    /** Moves the clock on, then runs what routing has due. */
    async advance(seconds: number) {
      clock += seconds * 1000;
      await route();
    },
    route,
    async profile(agentId: string, endpoints: readonly string[] = ["gms_builtin"], maxChats = 1) {
      await putProfile(service, agentId, { endpoints, maxChats });
    },
    async ready(agentId: string, endpoints?: readonly string[]) {
      const view = await setPresence(service, { agentId, ready: true, endpoints, nickname: agentId, renew: false });
      await route();
      return view;
    },
    async notReady(agentId: string) {
      const view = await setPresence(service, { agentId, ready: false });
      await route();
      return view;
    },
    async settings(endpoint: string, settings: SettingsCommand) {
      return putEndpoint({ ...service, readyAgents: (e, at) => stores.agents.readyAgents(e, at) }, endpoint, settings);
    },
    /** A customer opens a chat on `service` (request-chat, then the Chat API's create); resolves its session and chat ids. */
    async chat(serviceName = "request-chat", nickname = "Customer") {
      const opened = await openSession(service, {
        serviceName,
        data: {},
        ttlSeconds: undefined,
        verbose: false,
        basePath: "",
        idempotency: undefined,
      });
      const sessionId = String(opened._id);
      await createChat(service, {
        sessionId,
        position: undefined,
        view: { verbose: false, basePath: "" },
        customer: { firstName: nickname, subject: "Help" },
        extra: {},
        gmsUser: undefined,
      });
      return { sessionId, chatId: chatIdOf(sessionId) };
    },
    /** The offers each agent was told of, in order. */
    offersTo(agentId: string): OfferView[] {
      return heard.flatMap((h) => (h.kind === "offered" && h.agentId === agentId ? [h.offer] : []));
    },
  };
}
