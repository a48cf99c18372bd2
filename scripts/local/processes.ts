import { type ChildProcess, type ChildProcessByStdio, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
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
    /**
     * Resolves once `marker` has been printed; rejects if the child exits first or stays silent
     * about it for `timeoutMs`, so the caller's clean-up runs instead of a hang.
     */
    until: (marker: string, timeoutMs = 90_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(check);
          reject(new Error(`${what} did not print "${marker}" within ${timeoutMs / 1000} s:\n${output}`));
        }, timeoutMs);
        const check = () => {
          if (!output.includes(marker)) return;
          waiting.delete(check);
          clearTimeout(timer);
          resolve();
        };
        waiting.add(check);
        check();
        child.once("exit", (code) => {
          clearTimeout(timer);
          reject(new Error(`${what} exited with ${code} before it was ready:\n${output}`));
        });
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

/**
 * `serverless offline start` for the service in `cwd`, its API on `httpPort`, with output piped. It
 * runs as its own process group, so `killGroup` also stops the esbuild service it spawns.
 *
 * serverless-offline also serves Lambda's Invoke API, which runs any function (the admin one
 * included) with no API key and answers any web origin. Only `npm start`'s feed of routing's queue
 * uses it (scripts/local/sqs.ts), and a TCP port on localhost is reachable by every web page the
 * developer opens, so it listens on a Unix socket (`invokeSocket`) in a folder only this user can
 * open (hapi takes a path for a port), removed when the server exits. So does its WebSocket server
 * (`websocketSocket`), which scripts/local/websocket.ts fronts on the stack's WebSocket port.
 */
export function spawnOffline(
  cwd: string,
  httpPort: string | number,
  env: NodeJS.ProcessEnv,
  extraArgs: readonly string[] = [],
): ChildProcessByStdio<null, Readable, Readable> & { readonly invokeSocket: string; readonly websocketSocket: string } {
  const socketFolder = mkdtempSync(join(tmpdir(), "gms-chat-lambda-"));
  const invokeSocket = join(socketFolder, "invoke.sock");
  const websocketSocket = join(socketFolder, "websocket.sock");
  const args = [
    SERVERLESS_BIN,
    "offline",
    "start",
    "--httpPort",
    String(httpPort),
    "--lambdaPort",
    invokeSocket,
    "--websocketPort",
    websocketSocket,
    "--noPrependStageInUrl",
    ...extraArgs,
  ];
  const child = spawn(process.execPath, args, {
    cwd,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...env, ...SERVERLESS_ENV },
  });
  child.once("exit", () => rmSync(socketFolder, { recursive: true, force: true }));
  return Object.assign(child, { invokeSocket, websocketSocket });
}
