/**
 * Erlang C (the M/M/c queue): what any router on one queue can do at best with `c` agents taking one
 * chat at a time, Poisson arrivals and exponential handle times. bench/routing.ts holds the simulated
 * centre's waits against it.
 */

/** The probability that a chat waits at all, with `agents` agents and `erlangs` of offered load (arrival rate x mean handle time). */
export function erlangC(agents: number, erlangs: number): number {
  if (erlangs >= agents) return 1;
  // Erlang B by its recurrence (stable at any size), then C from B.
  let blocking = 1;
  for (let k = 1; k <= agents; k += 1) blocking = (erlangs * blocking) / (k + erlangs * blocking);
  return (agents * blocking) / (agents - erlangs * (1 - blocking));
}

/** Erlang C's waits, in seconds: their mean, the share that waits at all, and the `q` quantile (0 when fewer than 1 - q wait). */
export function erlangWaits(agents: number, erlangs: number, handleSeconds: number, q = 0.9) {
  const waits = erlangC(agents, erlangs);
  // Given that it waits, a chat's wait is exponential at the rate the agents free together, beyond the arrivals.
  const drain = (agents - erlangs) / handleSeconds;
  return {
    waitShare: waits,
    meanSeconds: waits / drain,
    quantileSeconds: waits <= 1 - q ? 0 : Math.log(waits / (1 - q)) / drain,
  };
}

/**
 * The waits of an ideal first-come-first-served queue with `agents` identical agents, given each
 * chat's arrival and handle time (in arrival order), all agents free at `start`: what a router that
 * offers every chat the moment an agent frees, oldest first, achieves on these very chats. Its mean
 * over a long run is Erlang C's (for Poisson arrivals and exponential handle times), so the
 * simulation's waits less these, plus Erlang C, estimate the simulation's mean with a far smaller
 * interval than its waits alone (a control variate on common random numbers).
 */
export function idealWaits(agents: number, start: number, chats: readonly { readonly at: number; readonly handle: number }[]): number[] {
  // When each agent is next free: a binary min-heap.
  const free = Array.from({ length: agents }, () => start);
  const waits: number[] = [];
  for (const chat of chats) {
    const earliest = free[0] ?? start;
    const begins = Math.max(chat.at, earliest);
    waits.push(begins - chat.at);
    // The agent that took it is free again after the chat: sift the new time down from the root.
    free[0] = begins + chat.handle;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < agents && (free[left] ?? 0) < (free[smallest] ?? 0)) smallest = left;
      if (right < agents && (free[right] ?? 0) < (free[smallest] ?? 0)) smallest = right;
      if (smallest === i) break;
      [free[i], free[smallest]] = [free[smallest] ?? 0, free[i] ?? 0];
      i = smallest;
    }
  }
  return waits;
}
