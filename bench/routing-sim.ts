/**
 * A contact centre's routing, simulated event by event through the real handlers in process
 * (bench/scale-sim.ts's ContactCentre: the request-chat, chat, agent and admin functions and the
 * router function's tasks, on the production wiring), for `npm run bench:routing` (bench/routing.ts).
 *
 * One endpoint whose chats are offered (`routing=offer`), `agents` equal agents on it (profile
 * `maxChats` 1, so that the centre is Erlang C's M/M/c), ready from the start and renewing their
 * presence every RENEW_SECONDS as their consoles do. Customers arrive as a Poisson process at the
 * rate that makes the agents' occupancy `load` (request-chat, then the Chat API's create); each
 * offer is heard at once (the push frame, here the wired `tell`) and answered by its agent: accepted
 * at once, or refused after a few seconds (`rejectShare`), or left to time out (`missShare`: the
 * agent goes not ready with reason `missed`, and is back `awaySeconds` later). An accepted chat lasts
 * an exponential (or constant) handle time, then its agent disconnects, which frees the slot.
 *
 * The clock is the simulation's: every handler call and every routing task runs at its simulated
 * instant (routing's queue is lib/memory/work.ts, drained the moment a task is due, as the router
 * function on SQS would be fed it), one at a time, so that a run is repeatable from its seed. Time
 * that routing takes on a real stack (the queue's delivery, the functions' latency) is not in these
 * figures; bench/routing.ts measures it on the local stack apart.
 *
 * Measured, for the chats that arrive after the warm-up: each chat's wait (created to accepted), the
 * time from an agent's slot freeing while chats wait to its next offer, the time from an offer's
 * expiry to the chat's next offer, each agent's share of the chats, every stretch of time a chat
 * waited unoffered while an agent that could take it had a free slot, and what every call and task
 * cost in DynamoDB (on dynalite).
 */
import type { PresenceView } from "../lib/agents/presence.ts";
import { seededRandom } from "../lib/random.ts";
import type { OfferView } from "../lib/routing/listeners.ts";
import { chatIdOf } from "../lib/session/ids.ts";
import { idealWaits } from "./erlang.ts";
import type { Consumed, ContactCentre } from "./scale-sim.ts";

/** How often a console renews its agent's presence here (PRESENCE_SECONDS is 60). */
const RENEW_SECONDS = 50;
/** A refusal comes this long after its offer. */
const REJECT_AFTER_SECONDS = 3;
/** A run stops this long after its last arrival whatever still waits (chats that expired unanswered). */
const DRAIN_SECONDS = 4 * 3600;
const ENDPOINT = "routing_bench_q";
const SERVICE = "routing-bench";

export interface RoutingScenario {
  readonly agents: number;
  /** The agents' occupancy the arrivals make (offered load / agents), 0 to 1. */
  readonly load: number;
  /** Mean handle time, seconds. */
  readonly handleSeconds: number;
  /** Exponential handle times (Erlang C's), or each exactly `handleSeconds`. */
  readonly handleTimes: "exponential" | "constant";
  /** Chats measured, after `warmUpChats`. */
  readonly chats: number;
  readonly warmUpChats: number;
  /** Of the offers, the share refused, and the share left to time out. */
  readonly rejectShare: number;
  readonly missShare: number;
  readonly offerTimeout: number;
  /** How long an agent that missed an offer stays away before going ready again. */
  readonly awaySeconds: number;
  readonly seed: number;
  /** Told now and then how far the run is. */
  readonly progress?: (message: string) => void;
}

/** What one kind of call or task cost in DynamoDB over a run. */
export interface CostFigures {
  count: number;
  calls: number;
  readUnits: number;
  writeUnits: number;
}

export interface RoutingResult {
  readonly scenario: Omit<RoutingScenario, "progress">;
  /** Each measured chat's wait, seconds, in the order the chats arrived (NaN: never accepted). */
  readonly waits: readonly number[];
  /**
   * The same chats' waits in an ideal first-come-first-served queue with as many agents (bench/erlang.ts
   * `idealWaits`, on the same arrivals and handle times, from the same empty start), in the same order.
   */
  readonly idealWaits: readonly number[];
  /** Chats measured that were never accepted (still waiting at the end, or ended). */
  readonly unanswered: number;
  /** Slot freed while chats waited -> the agent's next offer, seconds. */
  readonly freeToOffer: readonly number[];
  /** An offer expired -> that chat's next offer, seconds. */
  readonly missToOffer: readonly number[];
  /** Offers placed, refused, and withdrawn for a timeout. */
  readonly offers: { readonly placed: number; readonly refused: number; readonly missed: number };
  /** Chats each agent accepted over the measured stretch. */
  readonly shares: readonly number[];
  /** Stretches a chat waited unoffered while an agent that could take it had a free slot: how many lasted over 1 s, and the longest. */
  readonly idleWhileWaiting: { readonly over1s: number; readonly longestSeconds: number };
  /** Per operation (handler calls and routing tasks): what it cost. */
  readonly cost: Readonly<Record<string, CostFigures>>;
  /** Handler calls that answered another status than expected, and a few of them. */
  readonly failures: number;
  readonly failureSamples: readonly string[];
  readonly simulatedSeconds: number;
  readonly wallMs: number;
}

interface Scheduled {
  readonly at: number;
  readonly seq: number;
  readonly run: () => Promise<void>;
}

/** Events in the order they are due (ties in the order they were scheduled): a binary heap. */
class Timeline {
  private readonly heap: Scheduled[] = [];
  private seq = 0;

  at(at: number, run: () => Promise<void>): void {
    this.heap.push({ at, seq: this.seq++, run });
    let i = this.heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  get next(): number | undefined {
    return this.heap[0]?.at;
  }

  /** The earliest event, taken off the timeline (call only when `next` is defined). */
  take(): () => Promise<void> {
    const top = this.entry(0);
    const last = this.entry(this.heap.length - 1);
    this.heap.pop();
    if (this.heap.length > 0) {
      this.heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < this.heap.length && this.before(left, smallest)) smallest = left;
        if (right < this.heap.length && this.before(right, smallest)) smallest = right;
        if (smallest === i) break;
        this.swap(i, smallest);
        i = smallest;
      }
    }
    return top.run;
  }

  private entry(i: number): Scheduled {
    return this.heap[i] as Scheduled;
  }

  private swap(a: number, b: number): void {
    const first = this.entry(a);
    this.heap[a] = this.entry(b);
    this.heap[b] = first;
  }

  private before(a: number, b: number): boolean {
    const x = this.entry(a);
    const y = this.entry(b);
    return x.at < y.at || (x.at === y.at && x.seq < y.seq);
  }
}

interface SimAgent {
  readonly id: string;
  ready: boolean;
  active: number;
  offers: Set<string>;
  accepted: number;
  /** When its slot freed while chats waited (measured to its next offer). */
  freedAt: number | undefined;
}

interface SimChat {
  readonly sessionId: string;
  readonly createdAt: number;
  /** Its place in the order of arrival, from 0. */
  readonly index: number;
  /** How long its agent takes over it, drawn as it arrives (so that the ideal queue takes as long). */
  readonly handle: number;
  readonly measured: boolean;
  acceptedAt: number | undefined;
  offeredTo: string | undefined;
  /** When its last offer expired unanswered (measured to its next offer). */
  missedAt: number | undefined;
  /** Agents that refused it, and when. */
  refused: Map<string, number>;
}

/** Runs one scenario on `centre` (fresh: in memory or on dynalite); resolves its figures. */
export async function simulateRouting(centre: ContactCentre, scenario: RoutingScenario): Promise<RoutingResult> {
  const { progress: _progress, ...settings } = scenario;
  const log = scenario.progress ?? (() => undefined);
  const begun = performance.now();
  const draw = seededRandom(scenario.seed);
  const exponential = (mean: number) => -Math.log(1 - draw()) * mean;
  const handleTime = () => (scenario.handleTimes === "constant" ? scenario.handleSeconds : exponential(scenario.handleSeconds));
  const arrivalRate = (scenario.load * scenario.agents) / scenario.handleSeconds;
  const timeline = new Timeline();
  const start = centre.clock;

  const cost: Record<string, CostFigures> = {};
  const failureSamples: string[] = [];
  let failures = 0;
  centre.onAnswer = (op, _lambda, answer, ok) => count(op, answer.consumed, ok, `${answer.status} ${JSON.stringify(answer.body)}`);
  const onTask = (kind: string, consumed: Consumed) => count(`router: ${kind}`, consumed, true, "");
  function count(op: string, consumed: Consumed, ok: boolean, failure: string) {
    const figures = cost[op] ?? { count: 0, calls: 0, readUnits: 0, writeUnits: 0 };
    cost[op] = figures;
    figures.count += 1;
    figures.calls += consumed.calls;
    figures.readUnits += consumed.readUnits;
    figures.writeUnits += consumed.writeUnits;
    if (!ok) {
      failures += 1;
      if (failureSamples.length < 5) failureSamples.push(`${op}: ${failure}`);
    }
  }

  const agents = new Map<string, SimAgent>();
  const chats = new Map<string, SimChat>();
  /** Chats created and not accepted (offered or not). */
  const waiting = new Set<string>();
  /** Every chat's arrival and handle time, in order, and its wait once accepted. */
  const arrivals: { at: number; handle: number; wait: number }[] = [];
  const freeToOffer: number[] = [];
  const missToOffer: number[] = [];
  const offers = { placed: 0, refused: 0, missed: 0 };
  let arrived = 0;
  let measuring = false;
  const total = scenario.warmUpChats + scenario.chats;
  const now = () => centre.clock;

  /** Agents whose slot freed while chats waited, until their next offer (or no chat waits). */
  const freed = new Set<SimAgent>();
  const markFreed = (agent: SimAgent) => {
    if (!agent.ready || unoffered().length === 0) return;
    agent.freedAt = now();
    freed.add(agent);
  };
  const hasFreeSlot = (agent: SimAgent) => agent.ready && agent.active + agent.offers.size < 1;
  const unoffered = () => [...waiting].filter((id) => chats.get(id)?.offeredTo === undefined);

  // What the consoles hear, at the instant the service tells them.
  centre.listen({
    offered: async (agentId: string, offer: OfferView) => {
      const agent = agents.get(agentId);
      const chat = chats.get(offer.chatId);
      if (agent === undefined || chat === undefined) return;
      offers.placed += 1;
      agent.offers.add(offer.chatId);
      chat.offeredTo = agentId;
      if (agent.freedAt !== undefined) {
        if (measuring) freeToOffer.push(now() - agent.freedAt);
        agent.freedAt = undefined;
        freed.delete(agent);
      }
      if (chat.missedAt !== undefined) {
        if (chat.measured) missToOffer.push(now() - chat.missedAt);
        chat.missedAt = undefined;
      }
      const answer = draw();
      if (answer < scenario.missShare) return;
      if (answer < scenario.missShare + scenario.rejectShare) {
        timeline.at(now() + REJECT_AFTER_SECONDS, () => reject(agent, offer.chatId));
        return;
      }
      timeline.at(now(), () => accept(agent, offer.chatId));
    },
    withdrawn: async (agentId: string, chatId: string, reason: string) => {
      const agent = agents.get(agentId);
      const chat = chats.get(chatId);
      agent?.offers.delete(chatId);
      if (chat?.offeredTo === agentId) chat.offeredTo = undefined;
      if (reason === "timeout" && chat !== undefined) {
        offers.missed += 1;
        chat.missedAt = now();
      }
    },
    presence: async (agentId: string, presence: PresenceView) => {
      const agent = agents.get(agentId);
      if (agent === undefined || presence.state === "ready" || presence.reason !== "missed" || !agent.ready) return;
      // Missed an offer: away for a while, then ready again.
      agent.ready = false;
      timeline.at(now() + scenario.awaySeconds, () => goReady(agent, false));
    },
  });

  async function goReady(agent: SimAgent, renew: boolean): Promise<void> {
    if (renew && !agent.ready) return;
    const answer = await centre.ready(agent.id, ENDPOINT, { maxChats: 1, renew });
    if (!answer.ok) return;
    if (!renew) {
      agent.ready = true;
      markFreed(agent);
    }
  }

  async function renewals(agent: SimAgent): Promise<void> {
    await goReady(agent, true);
    if (arrived < total || waiting.size > 0 || agent.active > 0) timeline.at(now() + RENEW_SECONDS, () => renewals(agent));
  }

  async function arrive(): Promise<void> {
    arrived += 1;
    const measured = arrived > scenario.warmUpChats;
    if (measured && !measuring) {
      measuring = true;
      for (const agent of agents.values()) agent.accepted = 0;
    }
    if (arrived < total) timeline.at(now() + exponential(1 / arrivalRate), arrive);
    if (arrived % 10_000 === 0) log(`${arrived} of ${total} chats, ${((now() - start) / 3600).toFixed(1)} h simulated`);
    const requested = await centre.requestChat(SERVICE, arrived);
    if (!requested.ok) return;
    const sessionId = String(requested.body._id);
    const chat: SimChat = {
      sessionId,
      createdAt: now(),
      index: arrivals.length,
      handle: handleTime(),
      measured,
      acceptedAt: undefined,
      offeredTo: undefined,
      missedAt: undefined,
      refused: new Map(),
    };
    arrivals.push({ at: chat.createdAt, handle: chat.handle, wait: Number.NaN });
    const chatId = chatIdOf(sessionId);
    chats.set(chatId, chat);
    waiting.add(chatId);
    const created = await centre.customer("create", sessionId, "", "nickname=Customer&subject=Billing");
    if (!created.ok) {
      chats.delete(chatId);
      waiting.delete(chatId);
    }
  }

  async function accept(agent: SimAgent, chatId: string): Promise<void> {
    const chat = chats.get(chatId);
    const answer = await centre.onChat("accept", agent.id, chatId, "/accept");
    agent.offers.delete(chatId);
    if (!answer.ok || chat === undefined) return;
    chat.acceptedAt = now();
    chat.offeredTo = undefined;
    waiting.delete(chatId);
    agent.active += 1;
    agent.accepted += 1;
    const entry = arrivals[chat.index];
    if (entry !== undefined) entry.wait = chat.acceptedAt - chat.createdAt;
    timeline.at(now() + chat.handle, () => finish(agent, chatId));
  }

  async function reject(agent: SimAgent, chatId: string): Promise<void> {
    const chat = chats.get(chatId);
    // Withdrawn meanwhile (timed out, or the agent went not ready): nothing to refuse.
    if (!agent.offers.has(chatId) || chat === undefined) return;
    const answer = await centre.onChat("reject", agent.id, chatId, "/reject", "", [200, 204]);
    agent.offers.delete(chatId);
    if (!answer.ok) return;
    offers.refused += 1;
    chat.offeredTo = undefined;
    chat.refused.set(agent.id, now());
    markFreed(agent);
  }

  async function finish(agent: SimAgent, chatId: string): Promise<void> {
    await centre.onChat("disconnect (agent)", agent.id, chatId, "/disconnect");
    agent.active -= 1;
    chats.delete(chatId);
    markFreed(agent);
  }

  /** Whether a chat waits unoffered while an agent that may take it (not one that refused it lately) has a free slot. */
  function idleWhileWaiting(): boolean {
    const free = [...agents.values()].filter(hasFreeSlot);
    if (free.length === 0) return false;
    return unoffered().some((id) => {
      const refused = chats.get(id)?.refused ?? new Map<string, number>();
      return free.some((agent) => !((refused.get(agent.id) ?? -Infinity) > now() - scenario.offerTimeout));
    });
  }

  // Setup: the service on an offering endpoint, every agent's profile, and all of them ready.
  await centre.putService(SERVICE, ENDPOINT);
  await centre.routing(ENDPOINT, "offer", scenario.offerTimeout);
  for (let i = 0; i < scenario.agents; i += 1) {
    const agent: SimAgent = {
      id: `agent-${String(i).padStart(5, "0")}`,
      ready: false,
      active: 0,
      offers: new Set(),
      accepted: 0,
      freedAt: undefined,
    };
    agents.set(agent.id, agent);
    await goReady(agent, false);
    timeline.at(now() + draw() * RENEW_SECONDS, () => renewals(agent));
  }
  await centre.route(onTask);
  // What the setup cost (every agent's profile, ready and first pass) is not the chats'.
  for (const op of Object.keys(cost)) delete cost[op];
  timeline.at(now(), arrive);

  const stretch = { over1s: 0, longestSeconds: 0 };
  let idleSince: number | undefined;
  let lastArrival = now();
  for (;;) {
    const event = timeline.next;
    const task = centre.nextTaskDue();
    if (event === undefined && task === undefined) break;
    const at = Math.min(event ?? Infinity, task ?? Infinity);
    if (at > now()) {
      // The state holds from now until `at`.
      const idle = measuring && idleWhileWaiting();
      if (idle && idleSince === undefined) idleSince = now();
      if (!idle && idleSince !== undefined) {
        const seconds = now() - idleSince;
        stretch.longestSeconds = Math.max(stretch.longestSeconds, seconds);
        if (seconds > 1) stretch.over1s += 1;
        idleSince = undefined;
      }
      if (unoffered().length === 0) {
        for (const agent of freed) agent.freedAt = undefined;
        freed.clear();
      }
      centre.clock = at;
    }
    if (task !== undefined && task <= (event ?? Infinity)) await centre.route(onTask);
    else await timeline.take()();
    if (arrived < total) lastArrival = now();
    else if (waiting.size === 0 && [...agents.values()].every((agent) => agent.active === 0)) break;
    else if (now() > lastArrival + DRAIN_SECONDS) break;
  }

  const measuredChats = [...chats.values()].filter((chat) => chat.measured && chat.acceptedAt === undefined).length;
  const first = arrivals.length - (arrived - scenario.warmUpChats);
  return {
    scenario: settings,
    waits: arrivals.slice(first).map((chat) => chat.wait),
    idealWaits: idealWaits(scenario.agents, start, arrivals).slice(first),
    unanswered: measuredChats,
    freeToOffer,
    missToOffer,
    offers,
    shares: [...agents.values()].map((agent) => agent.accepted),
    idleWhileWaiting: stretch,
    cost,
    failures,
    failureSamples,
    simulatedSeconds: now() - start,
    wallMs: performance.now() - begun,
  };
}
