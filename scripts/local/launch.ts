import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { freePort, isPortClosed } from "./ports.ts";
import { killGroup, watchOutput } from "./processes.ts";

const STACK_MARKER = "GMS_STACK_ID";
const root = fileURLToPath(new URL("../..", import.meta.url));

export interface LocalStack {
  readonly baseUrl: string;
  readonly ports: { readonly http: number; readonly lambda: number; readonly dynamo: number };
  output(): string;
  /** Kills the process that launched the script, without a signal to the script itself. */
  killLauncher(): void;
  /** Resolves true once no process started for this stack runs any more, false after `timeoutMs`. */
  allGone(timeoutMs: number): Promise<boolean>;
  /** Last resort after a failed test: kills every process started for this stack. */
  killAll(): void;
  /**
   * Ctrl-C, as a person would press it. Resolves once the script exited, with its exit code and
   * whether any process of its group was still running at that moment (then killed).
   */
  stop(): Promise<{ code: number | null; leftovers: boolean }>;
}

/**
 * Runs `npm start`'s script (scripts/start.ts) on free ports, as its own process group, and waits
 * for its ready line. `env` adds or overrides environment variables (e.g. AWS_ENDPOINT_URL_DYNAMODB).
 */
export async function startLocalStack(env: Record<string, string> = {}, options: { underShell?: boolean } = {}): Promise<LocalStack> {
  const ports = { http: await freePort(), lambda: await freePort(), dynamo: await freePort() };
  const buildFolder = `.esbuild/stack-${ports.http}`;
  const marker = randomUUID();
  // Under a shell, as npm runs it: the shell is the script's parent (`; :` keeps it from exec'ing).
  const args = ["--import", "tsx", "scripts/start.ts"];
  const [file, fileArgs] = options.underShell
    ? ["/bin/sh", ["-c", `"${[process.execPath, ...args].join('" "')}"; :`]]
    : [process.execPath, args];
  const child = spawn(file, fileArgs, {
    cwd: root,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      PORT: String(ports.http),
      LAMBDA_PORT: String(ports.lambda),
      DYNAMODB_PORT: String(ports.dynamo),
      GMS_BUILD_FOLDER: buildFolder,
      [STACK_MARKER]: marker,
      ...env,
    },
  });
  const output = watchOutput(child, "npm start");
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  try {
    await output.until("[gms-chat] ready");
  } catch (error) {
    killGroup(child);
    throw error;
  }

  return {
    baseUrl: `http://127.0.0.1:${ports.http}`,
    ports,
    output: output.text,
    killLauncher: () => child.kill("SIGKILL"),
    allGone: async (timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      while (markedProcessesAlive(marker)) {
        if (Date.now() > deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await rm(`${root}${buildFolder}`, { recursive: true, force: true });
      return true;
    },
    killAll: () => {
      for (const pid of markedProcesses(marker)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      }
    },
    stop: async () => {
      child.kill("SIGINT");
      const code = await exited;
      const leftovers = markedProcessesAlive(marker);
      killGroup(child);
      await rm(`${root}${buildFolder}`, { recursive: true, force: true });
      return { code, leftovers };
    },
  };
}

/**
 * Whether any process started for this stack still runs: every descendant inherits the stack's
 * marker variable, even those that start their own process group (serverless-offline, esbuild).
 * Exited but unreaped processes do not count.
 */
function markedProcesses(marker: string): number[] {
  const needle = Buffer.from(`${STACK_MARKER}=${marker}\0`);
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue;
      if (readFileSync(`/proc/${entry}/environ`).includes(needle)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

function markedProcessesAlive(marker: string): boolean {
  return markedProcesses(marker).length > 0;
}

export async function allClosed(ports: readonly number[]): Promise<boolean> {
  const closed = await Promise.all(ports.map(isPortClosed));
  return closed.every(Boolean);
}
