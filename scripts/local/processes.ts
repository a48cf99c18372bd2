import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The Serverless Framework CLI this project pins (osls, installed as `serverless`). */
export const SERVERLESS_BIN = fileURLToPath(new URL("../../node_modules/serverless/bin/serverless.js", import.meta.url));

/** For every run of the CLI: no telemetry and no update notices, which need a network and an account. */
export const SERVERLESS_ENV = { SLS_TELEMETRY_DISABLED: "1", SLS_NOTIFICATIONS_MODE: "off" } as const;

/** Collects a child's stdout and stderr, and waits for a line that says it is ready. */
export function watchOutput(child: ChildProcess, what: string) {
  let output = "";
  const waiting = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const check of waiting) check();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  return {
    text: () => output,
    /** Resolves once `marker` has been printed; rejects if the child exits first. */
    until: (marker: string) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!output.includes(marker)) return;
          waiting.delete(check);
          resolve();
        };
        waiting.add(check);
        check();
        child.once("exit", (code) => reject(new Error(`${what} exited with ${code} before it was ready:\n${output}`)));
      }),
  };
}

/** Kills a detached child's whole process group, if any of it is left. */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals = "SIGKILL"): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}
