import { cpus, totalmem } from "node:os";

/**
 * What BENCHMARKS.md's writers share: the machine the figures were measured on, and the sections'
 * places in the file. `npm run bench` (bench/run.ts) writes the whole file but keeps the scale and
 * routing sections as it finds them; `npm run bench:scale` (bench/scale.ts) and `npm run
 * bench:routing` (bench/routing.ts) each replace their own section only.
 */

/** This machine, as each section names it: CPUs, memory, Node, platform. */
export function machineDescription(): string {
  return `${cpus().length} x ${cpus()[0]?.model.trim()}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}/${process.arch}`;
}

/** Today's date, as the sections give it. */
export function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/** The sections other commands write, each between its markers, in this order: `npm run bench` keeps them as it finds them. */
export const SECTIONS = {
  scale: "`npm run bench:scale`",
  routing: "`npm run bench:routing`",
  estimate: "`npm run bench:estimate`",
} as const;
export type SectionName = keyof typeof SECTIONS;

const start = (name: SectionName) => `<!-- bench:${name} start: ${SECTIONS[name]} writes from here; \`npm run bench\` keeps it -->`;
const end = (name: SectionName) => `<!-- bench:${name} end -->`;

/** A named section of a BENCHMARKS.md, markers included; "" when it has none. */
export function sectionOf(document: string, name: SectionName): string {
  const from = document.indexOf(start(name));
  const to = document.indexOf(end(name), from);
  return from === -1 || to === -1 ? "" : document.slice(from, to + end(name).length);
}

/** `document` with its section `name` replaced by `body` (without markers), or with it added at the end. */
export function withSection(document: string, name: SectionName, body: string): string {
  const marked = `${start(name)}\n\n${body.trim()}\n\n${end(name)}`;
  const existing = sectionOf(document, name);
  if (existing !== "") return document.replace(existing, () => marked);
  return `${document.trimEnd()}\n\n${marked}\n`;
}
