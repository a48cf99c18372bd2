import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { run } from "../../bench/estimate.ts";
import { EXACT_SLOTS, estimateWait, NO_BASIS, type WaitBasis } from "../../lib/routing/estimate.ts";

/** The estimate of a waiting chat's wait (lib/routing/estimate.ts, docs/waiting.md). */
const basis = (over: Partial<WaitBasis>): WaitBasis => ({
  position: 1,
  slots: 1,
  elapsed: [],
  handleTimes: [60],
  offerSeconds: 0,
  ...over,
});

describe("the wait estimate", () => {
  it("has no basis without a ready agent, or, when every slot is taken, without a recent handle time", () => {
    expect(estimateWait(basis({ slots: 0 }))).toBe(NO_BASIS);
    expect(estimateWait(basis({ elapsed: [10], handleTimes: [] }))).toBe(NO_BASIS);
    // A free slot needs no history: the chat is offered at once.
    expect(estimateWait(basis({ slots: 2, elapsed: [10], handleTimes: [] }))).toBe(0);
  });

  it("is the offer's cost for a chat a free slot takes, and counts the chats ahead by the slots that free", () => {
    expect(estimateWait(basis({ slots: 3, elapsed: [5], offerSeconds: 4 }))).toBe(4);
    // Two busy slots that have just started 60 s chats: the 1st and 2nd wait 60 s, the 3rd 120 s.
    const two = { slots: 2, elapsed: [0, 0], handleTimes: [60, 60, 60] };
    expect([1, 2, 3, 4, 5].map((position) => estimateWait(basis({ ...two, position })))).toEqual([60, 60, 120, 120, 180]);
  });

  it("uses how long the chats in progress have run: a chat about to end frees its slot soon", () => {
    // Handle times of about 100 s; the one chat in progress has run 90 s of them.
    const nearlyDone = basis({ elapsed: [90], handleTimes: [95, 100, 105] });
    expect(Math.abs(estimateWait(nearlyDone) - 10)).toBeLessThanOrEqual(1);
    // Comm100's (floor((n - 1) / X) + 1) x AHT, blind to it, would say 100; a chat just begun: about 100.
    expect(Math.abs(estimateWait({ ...nearlyDone, elapsed: [0] }) - 100)).toBeLessThanOrEqual(1);
    // A chat past every recent one is taken to go on like a new one.
    expect(Math.abs(estimateWait({ ...nearlyDone, elapsed: [500] }) - 100)).toBeLessThanOrEqual(1);
  });

  it("finds the first of many busy slots to free far sooner than any one slot's mean residual", () => {
    // 20 chats just begun, handle times spread evenly over 1-240 s (mean 120.5): the first slot frees
    // at about 240 / 21 = 11.4 s, where each slot's own mean residual is 120.5 s.
    const handleTimes = Array.from({ length: 240 }, (_, i) => i + 1);
    const first = estimateWait(basis({ slots: 20, elapsed: Array(20).fill(0), handleTimes }));
    expect(first).toBeGreaterThanOrEqual(8);
    expect(first).toBeLessThanOrEqual(15);
    // And the same basis always gives the same answer.
    expect(estimateWait(basis({ slots: 20, elapsed: Array(20).fill(0), handleTimes }))).toBe(first);
  });

  it("adds each chat ahead's offer cost: misses and slow accepts delay everyone behind", () => {
    expect(estimateWait(basis({ position: 3, elapsed: [0], handleTimes: [60], offerSeconds: 5 }))).toBe(3 * 65);
  });

  it("takes the memoryless form past EXACT_SLOTS slots, reading no slot's own time", () => {
    const slots = EXACT_SLOTS * 5;
    const estimate = estimateWait(basis({ slots, position: 500, elapsed: Array(slots).fill(0), handleTimes: [300], offerSeconds: 2 }));
    expect(estimate).toBe(2 + Math.round((500 * 300) / slots));
  });

  it("never shortens as the position grows, nor lengthens as a free slot is added", () => {
    const input = fc.record({
      slots: fc.integer({ min: 1, max: 30 }),
      busy: fc.array(fc.float({ min: 0, max: 600, noNaN: true }), { maxLength: 30 }),
      handleTimes: fc.array(fc.float({ min: 1, max: 900, noNaN: true }), { minLength: 1, maxLength: 50 }),
      offerSeconds: fc.integer({ min: 0, max: 30 }),
      position: fc.integer({ min: 1, max: 200 }),
    });
    fc.assert(
      fc.property(input, ({ slots, busy, handleTimes, offerSeconds, position }) => {
        const elapsed = busy.slice(0, slots);
        const at = (over: Partial<WaitBasis>) => estimateWait({ position, slots, elapsed, handleTimes, offerSeconds, ...over });
        expect(at({ position: position + 1 })).toBeGreaterThanOrEqual(at({}));
        expect(at({ slots: slots + 1 })).toBeLessThanOrEqual(at({}));
      }),
    );
  });

  it("comes closer to the waits that followed than Rocket.Chat's, Comm100's and Salesforce's formulas, without bias (bench/estimate.ts, short)", () => {
    const score = run({ agents: 20, load: 0.95, shape: "log-normal", step: true, chats: 6_000, seed: 7 });
    expect(score.scored).toBeGreaterThan(1_000);
    const ours = score.errors["this project"];
    for (const other of ["Rocket.Chat", "Comm100", "Salesforce"] as const) expect(ours.mae).toBeLessThan(score.errors[other].mae);
    expect(Math.abs(ours.bias)).toBeLessThan(0.1 * score.meanWait);
  });
});
