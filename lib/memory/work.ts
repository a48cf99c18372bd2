import type { RoutingTask, RoutingWork } from "../routing/work.ts";

/**
 * Routing's queue in memory, for tests and the benchmarks: tasks are kept with when they are due,
 * on the wired clock, and run by `drain` (the router function's part), so that a test decides when
 * routing happens and a simulation delivers each task at its simulated time.
 */
export class MemoryWork implements RoutingWork {
  private readonly tasks: { readonly task: RoutingTask; readonly due: number }[] = [];

  constructor(private readonly now: () => Date) {}

  async send(task: RoutingTask, delaySeconds = 0): Promise<void> {
    this.tasks.push({ task: structuredClone(task), due: this.now().getTime() + delaySeconds * 1000 });
  }

  /** Forgets every task not yet run, as a queue that lost them (what settles without them is then tested); resolves how many. */
  lose(): number {
    return this.tasks.splice(0).length;
  }

  /** Tasks sent and not yet run. */
  get pending(): number {
    return this.tasks.length;
  }

  /** When the next task is due (epoch milliseconds), if any is waiting. */
  nextDue(): number | undefined {
    return this.tasks.length === 0 ? undefined : Math.min(...this.tasks.map((task) => task.due));
  }

  /**
   * Runs every task due by now, in the order they are due, and those they send that are due too,
   * until none is; resolves how many ran. A task that fails is sent again, as the queue redelivers.
   */
  async drain(run: (task: RoutingTask) => Promise<void>, limit = 10_000): Promise<number> {
    let ran = 0;
    for (;;) {
      const now = this.now().getTime();
      const due = this.tasks.filter((task) => task.due <= now).sort((a, b) => a.due - b.due);
      if (due.length === 0 || ran >= limit) return ran;
      for (const task of due) this.tasks.splice(this.tasks.indexOf(task), 1);
      for (const { task } of due) {
        ran += 1;
        try {
          await run(task);
        } catch {
          await this.send(task, 1);
        }
      }
    }
  }
}
