import { cpus, totalmem } from "node:os";

/**
 * What BENCHMARKS.md's writers share: the machine the figures were measured on, and the scale
 * section's place in the file. `npm run bench` (bench/run.ts) writes the whole file but keeps the
 * scale section as it finds it; `npm run bench:scale` (bench/scale.ts) replaces that section only.
 */

/** This machine, as each section names it: CPUs, memory, Node, platform. */
export function machineDescription(): string {
  return `${cpus().length} x ${cpus()[0]?.model.trim()}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}/${process.arch}`;
}

/** Today's date, as the sections give it. */
export function today(): string {
  return new Date().toISOString().slice(0, 10);
}

const SCALE_START = "<!-- bench:scale start: `npm run bench:scale` writes from here; `npm run bench` keeps it -->";
const SCALE_END = "<!-- bench:scale end -->";

/** The scale section of a BENCHMARKS.md, markers included; "" when it has none. */
export function scaleSectionOf(document: string): string {
  const start = document.indexOf(SCALE_START);
  const end = document.indexOf(SCALE_END, start);
  return start === -1 || end === -1 ? "" : document.slice(start, end + SCALE_END.length);
}

/** `document` with its scale section replaced by `section` (the body, without markers), or with it added at the end. */
export function withScaleSection(document: string, section: string): string {
  const marked = `${SCALE_START}\n\n${section.trim()}\n\n${SCALE_END}`;
  const existing = scaleSectionOf(document);
  if (existing !== "") return document.replace(existing, () => marked);
  return `${document.trimEnd()}\n\n${marked}\n`;
}
