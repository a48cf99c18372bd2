import { seededRandom } from "../random.ts";

/**
 * How long a waiting chat will wait, as a pure function of what its endpoint knows now
 * (docs/waiting.md has the formula and why). Inputs are bounded however long the queue and however
 * many agents: the chat's position, the ready agents' slots, how long the chats in progress have
 * run (read for at most EXACT_SLOTS slots; more slots take the memoryless form), a bounded sample of
 * recent handle times, and what an offer costs on average (its acceptance delay and misses).
 */

/** The answer when there is no basis yet: no agent ready, or no chat handled recently. */
export const NO_BASIS = -1;

/** Up to this many slots, each busy slot's own elapsed time is used; beyond, the memoryless form. */
export const EXACT_SLOTS = 200;

/** Positions past this are estimated in closed form (a queue this long is far past any maxQueued). */
const EXACT_POSITIONS = 10_000;

export interface WaitBasis {
  /** 1 for the next chat to be offered. */
  readonly position: number;
  /** The endpoint's ready agents' slots (maxChats each), occupied or not. */
  readonly slots: number;
  /**
   * How long each occupied slot's chat (or offer) has run, seconds: one entry per occupied slot,
   * at most `slots` of them; the other slots are free.
   */
  readonly elapsed: readonly number[];
  /** Recent handle times on the endpoint, seconds (a bounded sample, any order). */
  readonly handleTimes: readonly number[];
  /** The mean time from a slot freeing to its next chat being accepted, seconds: offer latency and misses. */
  readonly offerSeconds: number;
}

/** Runs of the line's future averaged per estimate: its spread falls as 1/sqrt(RUNS). */
const RUNS = 64;

/**
 * Whole seconds until the chat at `position` is accepted, or NO_BASIS.
 *
 * The line's next `position` starts are played out RUNS times and averaged. In each run every
 * occupied slot frees after a residual drawn from the recent handle times longer than the time its
 * chat has run (less that time; a chat past every recent one is taken to go on like a new one), free
 * slots free at once, and the chats ahead take the slots in order as they free, each after
 * `offerSeconds` and for a handle time drawn from the sample. Drawing rather than taking each
 * slot's mean residual matters: the first of 20 busy slots frees far sooner than the mean
 * residual of any one of them. The draws come from a fixed seed, so the same basis gives the same
 * estimate, and a later position never a shorter one. Past EXACT_SLOTS slots or EXACT_POSITIONS
 * positions, every slot is taken to free at the rate 1/H (exponential handle times, H their mean):
 * `offerSeconds + max(0, position - free) * H / slots`.
 */
export function estimateWait(basis: WaitBasis): number {
  const { position, slots, offerSeconds } = basis;
  if (!(slots > 0) || !(position >= 1)) return NO_BASIS;
  const occupied = Math.min(basis.elapsed.length, slots);
  const free = slots - occupied;
  if (position <= free) return Math.round(offerSeconds);
  const samples = basis.handleTimes.filter((h) => Number.isFinite(h) && h > 0).sort((a, b) => a - b);
  if (samples.length === 0) return NO_BASIS;
  if (slots > EXACT_SLOTS || position > EXACT_POSITIONS) {
    const mean = samples.reduce((sum, h) => sum + h, 0) / samples.length;
    return Math.round(offerSeconds + ((position - free) * mean) / slots);
  }
  const elapsed = basis.elapsed.slice(0, occupied);
  let total = 0;
  for (let run = 0; run < RUNS; run += 1) {
    // Each run its own seed: a later position, or one more free slot, meets the same draws.
    const draw = seededRandom(0x5eed + run);
    const any = () => samples[Math.floor(draw() * samples.length)] as number;
    /** A handle time longer than `elapsed`, less it, drawn; a new chat's, when none is longer. */
    const residual = (time: number) => {
      const first = firstAbove(samples, time);
      return first === samples.length ? any() : (samples[first + Math.floor(draw() * (samples.length - first))] as number) - time;
    };
    const frees = new MinHeap([...elapsed.map(residual), ...Array.from({ length: free }, () => 0)]);
    let start = 0;
    for (let ahead = 1; ahead <= position; ahead += 1) {
      start = frees.pop() + offerSeconds;
      frees.push(start + any());
    }
    total += start;
  }
  return Math.round(total / RUNS);
}

/** The index of the first value above `value` in an ascending list (its length when none is). */
function firstAbove(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((sorted[middle] as number) > value) high = middle;
    else low = middle + 1;
  }
  return low;
}

/** A binary min-heap of numbers: the next slot to free, in O(log slots). */
class MinHeap {
  private readonly items: number[] = [];

  constructor(values: readonly number[]) {
    for (const value of values) this.push(value);
  }

  push(value: number): void {
    const items = this.items;
    items.push(value);
    let at = items.length - 1;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if ((items[parent] as number) <= value) break;
      items[at] = items[parent] as number;
      at = parent;
    }
    items[at] = value;
  }

  /** The smallest value, removed (the heap is never empty where it is called). */
  pop(): number {
    const items = this.items;
    const top = items[0] as number;
    const last = items.pop() as number;
    if (items.length === 0) return top;
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && (items[right] as number) < (items[left] as number) ? right : left;
      if ((items[child] as number) >= last) break;
      items[at] = items[child] as number;
      at = child;
    }
    items[at] = last;
    return top;
  }
}
