import { afterEach, describe, expect, it, vi } from "vitest";
import { erlangC, erlangWaits, idealWaits } from "../../bench/erlang.ts";
import { simulateRouting } from "../../bench/routing-sim.ts";
import { ContactCentre } from "../../bench/scale-sim.ts";

/**
 * Routing against queueing theory: the formulas `npm run bench:routing` holds the router to, and a
 * short seeded run of its simulation (the real handlers and router tasks, in memory), in which the
 * router must start every chat exactly when an ideal first-come-first-served queue would.
 */
describe("Erlang C and the ideal queue", () => {
  it("gives the textbook probabilities of waiting", () => {
    // M/M/1: a chat waits with the agent's occupancy.
    expect(erlangC(1, 0.7)).toBeCloseTo(0.7, 12);
    // Two agents, one erlang: (1/2 * 2) / (1 + 1 + 1).
    expect(erlangC(2, 1)).toBeCloseTo(1 / 3, 12);
    expect(erlangC(3, 3)).toBe(1);
    // Stable at a size where the factorials would overflow.
    const large = erlangC(2000, 1900);
    expect(large).toBeGreaterThan(0);
    expect(large).toBeLessThan(0.05);
  });

  it("derives the mean and the 90th percentile of the wait", () => {
    // Two agents, one erlang, handle time 60 s: mean = C / (c/h - lambda) = (1/3) / (1/60) = 20 s.
    const waits = erlangWaits(2, 1, 60);
    expect(waits.meanSeconds).toBeCloseTo(20, 9);
    // Fewer than 10% wait: the 90th percentile is no wait.
    expect(erlangWaits(200, 100, 60).quantileSeconds).toBe(0);
  });

  it("starts each chat when the first agent frees, in order of arrival", () => {
    const chats = [
      { at: 0, handle: 10 },
      { at: 1, handle: 10 },
      { at: 2, handle: 5 },
      { at: 3, handle: 1 },
      { at: 30, handle: 1 },
    ];
    // The third takes the agent free at 10, the fourth the one free at 11.
    expect(idealWaits(2, 0, chats)).toEqual([0, 0, 8, 8, 0]);
  });
});

describe("the router against the ideal queue", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("offers every chat at the instant an ideal first-come-first-served queue would start it", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const centre = ContactCentre.inMemory();
    const result = await simulateRouting(centre, {
      agents: 5,
      load: 0.9,
      handleSeconds: 120,
      handleTimes: "exponential",
      chats: 400,
      warmUpChats: 50,
      rejectShare: 0,
      missShare: 0,
      offerTimeout: 20,
      awaySeconds: 60,
      seed: 7,
    });
    await centre.close();
    expect(result.failures, result.failureSamples.join("\n")).toBe(0);
    expect(result.waits).toHaveLength(400);
    // Chats did wait (the run tests something), and each waited exactly as long as in the ideal queue.
    expect(result.waits.filter((seconds) => seconds > 0).length).toBeGreaterThan(100);
    const differences = result.waits.map((seconds, i) => Math.abs(seconds - (result.idealWaits[i] ?? Number.NaN)));
    expect(Math.max(...differences)).toBeLessThan(1e-6);
    expect(result.idleWhileWaiting.longestSeconds).toBe(0);
    expect(Math.max(...result.freeToOffer)).toBe(0);
  });
});
