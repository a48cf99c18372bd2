/**
 * One benchmark subject in a fresh process: imports a bundled handler and invokes it in process.
 * `warm N`: N timed invocations after a warm-up, then latency, rate and peak RSS.
 * `once`: invokes whenever the parent says "go" (the parent counts DynamoDB calls meanwhile).
 * Results go back over IPC; the handler's own log lines go to stdout, which the parent discards.
 */
import { REQUESTS } from "./fixtures.ts";

const [bundle, name, mode, count] = process.argv.slice(2) as [string, string, string, string?];
const loaded = (await import(bundle)) as { handler: (event: unknown) => Promise<{ statusCode: number }> };
const request = REQUESTS[name];
if (request === undefined) throw new Error(`no benchmark request for ${name}`);
const invoke = async () => {
  const response = await loaded.handler(structuredClone(request.event));
  if (response.statusCode >= 300) throw new Error(`${name} answered ${response.statusCode}`);
};

if (mode === "warm") {
  for (let i = 0; i < 300; i++) await invoke();
  const times: number[] = [];
  const started = performance.now();
  for (let i = 0; i < Number(count); i++) {
    const t = performance.now();
    await invoke();
    times.push(performance.now() - t);
  }
  const total = performance.now() - started;
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? Number.NaN;
  process.send?.({
    medianMs: at(0.5),
    p99Ms: at(0.99),
    rps: (times.length / total) * 1000,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  });
} else {
  await invoke();
  process.on("message", async () => {
    await invoke();
    process.send?.("done");
  });
  process.send?.("ready");
}
