import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ContactCentre, PARTITION_LIMITS, runConcurrently, simulate } from "../../bench/scale-sim.ts";

/**
 * Scale budgets, in counts (capacity units, as dynalite computes them and the proxy records them),
 * never timings: what request-chat reads must not grow with the contact centre's size, and no
 * partition key may take more than half of DynamoDB's per-partition limits in a short simulated run
 * of a contact centre (bench/scale-sim.ts, the simulation `npm run bench:scale` runs at full size).
 */

const AGENTS = 1_000;
const ENDPOINTS = 10;
const SERVICES = 100;

describe("request-chat's reads", () => {
  let centre: Awaited<ReturnType<typeof ContactCentre.start>>;
  beforeAll(async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    centre = await ContactCentre.start();
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await centre?.close();
  });

  /** The read units of one request-chat on `service`, from the proxy's record of its DynamoDB calls. */
  async function readUnitsOfRequestChat(service: string): Promise<number> {
    const from = centre.proxy.calls.length;
    const answer = await centre.requestChat(service, "budget");
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return centre.proxy.calls.slice(from).reduce((sum, call) => sum + call.readUnits, 0);
  }

  /**
   * What makes the comparison fair: the same request on the same service, answered the same way
   * (200, a session opened), in states that differ only by the agents and the other services.
   * With no agent ready, the service's endpoint is open by an administrator's notification, which
   * stays in place while the agents go ready, so both requests take the same path. A third request
   * then withdraws the notification (`available=false`, an item of the same size): the endpoint
   * is open through its ready agents alone, which a layout reading presence only when no
   * notification is in force must also answer without reading more. 100 of the agents are ready on
   * the service's own endpoint and 900 on nine others, so a layout that reads every agent's
   * presence, or every presence on the service's endpoint, reads more with them. (dynalite bills an
   * empty Query page 0 units where DynamoDB bills at least one: the notification keeps a read of
   * the endpoint's items from being empty in the first state.)
   */
  it(`costs as many read units with ${AGENTS.toLocaleString("en")} ready agents and ${SERVICES} services as with none`, async () => {
    const endpoint = "budget_ep_0";
    expect((await centre.putService("budget-svc-000", endpoint)).ok).toBe(true);
    expect((await centre.notify(endpoint, true)).ok).toBe(true);
    const none = await readUnitsOfRequestChat("budget-svc-000");

    const setup = [
      ...Array.from(
        { length: SERVICES - 1 },
        (_, i) => () => centre.putService(`budget-svc-${String(i + 1).padStart(3, "0")}`, `budget_ep_${(i + 1) % ENDPOINTS}`),
      ),
      ...Array.from({ length: AGENTS }, (_, a) => () => centre.ready(`agent-${a}`, `budget_ep_${a % ENDPOINTS}`)),
    ];
    const answers: boolean[] = [];
    await runConcurrently(
      setup.map((task) => async () => answers.push((await task()).ok)),
      8,
    );
    expect(answers.filter((ok) => !ok)).toEqual([]);
    const withAgents = await readUnitsOfRequestChat("budget-svc-000");

    expect((await centre.notify(endpoint, false)).ok).toBe(true);
    const agentsOnly = await readUnitsOfRequestChat("budget-svc-000");

    expect({ withAgents, agentsOnly }, `request-chat's read units with none: ${none}`).toEqual({ withAgents: none, agentsOnly: none });
  });
});

describe("a short simulated run", () => {
  /**
   * 1,000 agents on 10 endpoints and 100 services, 100 new chats in one simulated second, each
   * created, accepted, given six messages and closed, the agents renewing their presence. Large
   * enough that a layout in which every request-chat reads one partition holding every agent's
   * presence (100 reads of about 140 KB, some 3,600 read units in that second) is refused, small
   * enough to run in well under a minute here (`npm run bench:scale` runs the steady state at full size).
   */
  it("keeps every partition key under half of DynamoDB's per-partition limits in every simulated second", async () => {
    const result = await simulate({ agents: AGENTS, endpoints: ENDPOINTS, services: SERVICES, chatsPerSecond: 100, seconds: 1 });
    expect(result.failureSamples).toEqual([]);
    expect(result.chats).toBe(100);
    // Every call of the simulated seconds names its partitions: the figures below miss nothing.
    expect(result.unattributedCalls).toBe(0);
    expect(result.operations["request-chat"]?.count).toBe(100);

    const { read, write } = result.peaks;
    const over = (peak: typeof read, limit: number) => (peak === undefined || peak.units <= limit / 2 ? undefined : peak);
    expect(over(read, PARTITION_LIMITS.readUnits), "a partition key's read units in one simulated second").toBeUndefined();
    expect(over(write, PARTITION_LIMITS.writeUnits), "a partition key's write units in one simulated second").toBeUndefined();
  }, 180_000);
});
