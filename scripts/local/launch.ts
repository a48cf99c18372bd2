import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePorts, isPortClosed } from "./ports.ts";
import { killGroup, watchOutput } from "./processes.ts";
import { STACK_ADMIN_KEY } from "./stack.ts";

const STACK_MARKER = "GMS_STACK_ID";
const root = fileURLToPath(new URL("../..", import.meta.url));

/** The local identity provider's settings, as `npm start` printed them. */
export interface StackIdentity {
  readonly endpoint: string;
  readonly region: string;
  readonly userPoolId: string;
  readonly clientId: string;
  readonly issuer: string;
  readonly jwksUri: string;
}

export interface LocalStack {
  readonly baseUrl: string;
  /** The WebSocket API (docs/push.md). */
  readonly pushUrl: string;
  readonly ports: {
    readonly http: number;
    readonly dynamo: number;
    readonly identity: number;
    readonly websocket: number;
    readonly sqs: number;
  };
  readonly identity: StackIdentity;
  output(): string;
  /** Kills the process that launched the script, without a signal to the script itself. */
  killLauncher(): void;
  /** Resolves true once no process started for this stack runs any more, false after `timeoutMs`. */
  allGone(timeoutMs: number): Promise<boolean>;
  /** The TCP ports that processes of this stack listen on, and whether each is bound to loopback only. */
  listening(): { port: number; loopback: boolean }[];
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
 * Without GMS_DATA_DIR its data (the identity provider's users included) goes to a temporary
 * folder, removed once the stack has stopped.
 */
export async function startLocalStack(env: Record<string, string> = {}, options: { underShell?: boolean } = {}): Promise<LocalStack> {
  const [http = 0, dynamo = 0, identity = 0, websocket = 0, sqs = 0] = await freePorts(5);
  const ports = { http, dynamo, identity, websocket, sqs };
  const ownDataDir = env.GMS_DATA_DIR === undefined ? await mkdtemp(join(tmpdir(), "gms-chat-stack-data-")) : undefined;
  const removeOwnData = () => (ownDataDir === undefined ? Promise.resolve() : rm(ownDataDir, { recursive: true, force: true }));
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
      DYNAMODB_PORT: String(ports.dynamo),
      IDENTITY_PORT: String(ports.identity),
      WEBSOCKET_PORT: String(ports.websocket),
      SQS_PORT: String(ports.sqs),
      ...(ownDataDir === undefined ? {} : { GMS_DATA_DIR: ownDataDir }),
      GMS_BUILD_FOLDER: buildFolder,
      GMS_ADMIN_API_KEY: STACK_ADMIN_KEY,
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
    await removeOwnData();
    throw error;
  }

  return {
    baseUrl: `http://127.0.0.1:${ports.http}`,
    pushUrl: `ws://localhost:${ports.websocket}`,
    ports,
    identity: printedIdentity(output.text()),
    output: output.text,
    killLauncher: () => child.kill("SIGKILL"),
    allGone: async (timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      while (markedProcessesAlive(marker)) {
        if (Date.now() > deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await rm(`${root}${buildFolder}`, { recursive: true, force: true });
      await removeOwnData();
      return true;
    },
    listening: () => listeningSockets(markedProcesses(marker)),
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
      await removeOwnData();
      return { code, leftovers };
    },
  };
}

/** Reads the identity provider's settings from the lines start.ts prints about it. */
function printedIdentity(output: string): StackIdentity {
  const endpoint = /identity provider \(cognito-local\) on (\S+),/.exec(output)?.[1];
  const pool = /user pool (\S+) \(region (\S+)\), app client (\S+), issuer (\S+)/.exec(output);
  const [, userPoolId, region, clientId, issuer] = pool ?? [];
  if (endpoint === undefined || userPoolId === undefined || region === undefined || clientId === undefined || issuer === undefined) {
    throw new Error(`npm start did not print the identity provider's settings:\n${output}`);
  }
  return { endpoint, region, userPoolId, clientId, issuer, jwksUri: `${issuer}/.well-known/jwks.json` };
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

/** IPv4 127.0.0.0/8, IPv6 ::1, and IPv4-mapped 127.x, as /proc/net/tcp* write them (little-endian words). */
const LOOPBACK = /^(..)(..)(..)7F$|^0{24}01000000$|^0{16}FFFF0000..(..)(..)7F$/i;

/** The listening TCP sockets the given processes hold, from /proc/net/tcp and tcp6. */
function listeningSockets(pids: readonly number[]): { port: number; loopback: boolean }[] {
  const byInode = new Map<string, { port: number; loopback: boolean }>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [local, state, inode] = [fields[1], fields[3], fields[9]];
      if (local === undefined || state !== "0A" || inode === undefined) continue;
      const [address = "", port = ""] = local.split(":");
      byInode.set(inode, { port: Number.parseInt(port, 16), loopback: LOOPBACK.test(address) });
    }
  }
  const found: { port: number; loopback: boolean }[] = [];
  for (const pid of pids) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
        const socket = inode === undefined ? undefined : byInode.get(inode);
        if (socket !== undefined && !found.some((f) => f.port === socket.port && f.loopback === socket.loopback)) found.push(socket);
      }
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

function markedProcessesAlive(marker: string): boolean {
  return markedProcesses(marker).length > 0;
}

export async function allClosed(ports: readonly number[]): Promise<boolean> {
  const closed = await Promise.all(ports.map(isPortClosed));
  return closed.every(Boolean);
}
