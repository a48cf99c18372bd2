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
