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

/**
 * Whole seconds until the chat at `position` is accepted, or NO_BASIS.
 *
 * Every slot frees at its residual time: for a chat that has run `e` seconds, the mean of `h - e`
 * over the recent handle times `h` longer than `e` (the mean handle time when none is: a chat past
 * every recent one is taken to go on like a new one). The chats ahead take the slots as they free,
 * each one after `offerSeconds` and for the mean handle time; the chat at `position` starts when
 * the `position`-th slot frees, plus `offerSeconds`. Past EXACT_SLOTS slots or EXACT_POSITIONS
 * positions, every slot is taken to free at the rate 1/H (exponential handle times), which gives
 * `offerSeconds + max(0, position - free) * H / slots`.
 */
export function estimateWait(basis: WaitBasis): number {
  const { position, slots, offerSeconds } = basis;
  if (!(slots > 0) || !(position >= 1)) return NO_BASIS;
  const occupied = Math.min(basis.elapsed.length, slots);
  const free = slots - occupied;
  if (position <= free) return Math.round(offerSeconds);
  const samples = basis.handleTimes.filter((h) => Number.isFinite(h) && h > 0);
  if (samples.length === 0) return NO_BASIS;
  const mean = samples.reduce((sum, h) => sum + h, 0) / samples.length;
  if (slots > EXACT_SLOTS || position > EXACT_POSITIONS) {
    return Math.round(offerSeconds + ((position - free) * mean) / slots);
  }
  const residual = (elapsed: number) => {
    const longer = samples.filter((h) => h > elapsed);
    return longer.length === 0 ? mean : longer.reduce((sum, h) => sum + (h - elapsed), 0) / longer.length;
  };
  const frees = new MinHeap([...basis.elapsed.slice(0, occupied).map(residual), ...Array.from({ length: free }, () => 0)]);
  let start = 0;
  for (let ahead = 1; ahead <= position; ahead += 1) {
    start = frees.pop() + offerSeconds;
    frees.push(start + mean);
  }
  return Math.round(start);
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
