import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

/**
 * The layers of lib/ (docs/architecture.md): the domain imports neither the edge nor the adapters,
 * the edge and the adapters import the domain but not each other (nor one adapter another), only
 * the composition root and the handlers import both, and no folder imports another that imports
 * it back. The adapters are lib/dynamo (DynamoDB), lib/memory (the same stores in memory),
 * lib/identity (the agents' tokens) and lib/websocket (frames to connections). The pages may use
 * the domain's types and nothing else of it.
 */
const root = fileURLToPath(new URL("../..", import.meta.url));

type Layer = "domain" | "edge" | "adapter" | "root";

/** Which layer a module of lib/ belongs to; every folder not named here is domain. */
function layerOf(file: string): Layer {
  const path = relative(join(root, "lib"), file);
  if (["runtime.ts", "push-runtime.ts", "routing-runtime.ts", "authorizer-runtime.ts", "wire.ts"].includes(path)) return "root";
  if (path.startsWith("http/") || path.startsWith("cloudformation/") || path.startsWith("work/")) return "edge";
  if (adapterOf(file) !== undefined) return "adapter";
  return "domain";
}

/** Each adapter's folder under lib/, with the packages it alone may use. */
const ADAPTERS: Record<string, RegExp> = {
  dynamo: /^(node:|@aws-sdk\/|@smithy\/)/,
  // The API key's value is read with API Gateway's client (lib/identity/api-key.ts).
  identity: /^(node:|aws-jwt-verify(\/[\w-]+)?$|@aws-sdk\/client-api-gateway$)/,
  // Frames to WebSocket connections: API Gateway's Management API.
  websocket: /^(node:|@aws-sdk\/client-apigatewaymanagementapi$)/,
  // The stores in memory, for tests and benchmarks of the domain: nothing but the platform.
  memory: /^node:/,
  // Routing's queue on Amazon SQS.
  sqs: /^(node:|@aws-sdk\/client-sqs$)/,
};

function adapterOf(file: string): string | undefined {
  const [folder] = relative(join(root, "lib"), file).split("/");
  return folder !== undefined && folder in ADAPTERS ? folder : undefined;
}

/** Packages each layer may use (each adapter those of ADAPTERS); relative imports are checked by layer. */
const PACKAGES: Record<Exclude<Layer, "adapter">, RegExp> = {
  domain: /^(node:|uuid$)/,
  edge: /^(node:|aws-lambda$)/,
  root: /^$/,
};

function packagesOf(file: string): RegExp {
  const adapter = adapterOf(file);
  if (adapter !== undefined) return ADAPTERS[adapter] as RegExp;
  return PACKAGES[layerOf(file) as Exclude<Layer, "adapter">];
}

/** Which layers each layer may import. */
const ALLOWED: Record<Layer, readonly Layer[]> = {
  domain: ["domain"],
  edge: ["edge", "domain"],
  adapter: ["adapter", "domain"],
  root: ["root", "edge", "adapter", "domain"],
};

interface Import {
  readonly from: string;
  readonly specifier: string;
  /** The resolved file, for relative imports. */
  readonly target: string | undefined;
  readonly typeOnly: boolean;
}

function filesUnder(folder: string, extensions: RegExp): string[] {
  return readdirSync(join(root, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && extensions.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Every import and re-export of a file, as the TypeScript parser reads it. */
function importsOf(file: string): Import[] {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, false);
  const found: Import[] = [];
  for (const statement of source.statements) {
    if (!(ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) || statement.moduleSpecifier === undefined) continue;
    if (!ts.isStringLiteral(statement.moduleSpecifier)) continue;
    const specifier = statement.moduleSpecifier.text;
    const typeOnly = ts.isImportDeclaration(statement)
      ? statement.importClause?.isTypeOnly === true ||
        (statement.importClause?.name === undefined &&
          statement.importClause?.namedBindings !== undefined &&
          ts.isNamedImports(statement.importClause.namedBindings) &&
          statement.importClause.namedBindings.elements.every((element) => element.isTypeOnly))
      : statement.isTypeOnly;
    found.push({ from: file, specifier, target: specifier.startsWith(".") ? resolve(dirname(file), specifier) : undefined, typeOnly });
  }
  return found;
}

const libFiles = filesUnder("lib", /\.ts$/);
const libImports = libFiles.flatMap(importsOf);
const name = (file: string) => relative(root, file);

/** The imports that cross the layers the wrong way. */
function violations(imports: readonly Import[]): string[] {
  const crossesAdapters = (from: string, target: string) =>
    adapterOf(from) !== undefined && adapterOf(target) !== undefined && adapterOf(from) !== adapterOf(target);
  return imports
    .filter((i) =>
      i.target === undefined
        ? !packagesOf(i.from).test(i.specifier)
        : !ALLOWED[layerOf(i.from)].includes(layerOf(i.target)) || crossesAdapters(i.from, i.target),
    )
    .map((i) => `${name(i.from)} (${layerOf(i.from)}) imports ${i.specifier}`);
}

describe("the layers of lib/", () => {
  it("finds the modules it checks", () => {
    expect(libFiles.length).toBeGreaterThan(30);
    expect(new Set(libFiles.map(layerOf))).toEqual(new Set(["domain", "edge", "adapter", "root"]));
    expect(new Set(libFiles.map(adapterOf).filter((adapter) => adapter !== undefined))).toEqual(new Set(Object.keys(ADAPTERS)));
  });

  it("imports only along the layers: the domain neither the edge nor the adapters, the edge and the adapters not each other", () => {
    expect(violations(libImports)).toEqual([]);
  });

  it("would refuse a domain module that imports the edge, an adapter or their packages", () => {
    const from = join(root, "lib/chat/agent.ts");
    const imports: Import[] = [
      { from, specifier: "../http/errors.ts", target: join(root, "lib/http/errors.ts"), typeOnly: false },
      { from, specifier: "../dynamo/client.ts", target: join(root, "lib/dynamo/client.ts"), typeOnly: true },
      { from, specifier: "../runtime.ts", target: join(root, "lib/runtime.ts"), typeOnly: false },
      { from, specifier: "@aws-sdk/lib-dynamodb", target: undefined, typeOnly: false },
      { from, specifier: "aws-lambda", target: undefined, typeOnly: true },
      { from, specifier: "../identity/tokens.ts", target: join(root, "lib/identity/tokens.ts"), typeOnly: true },
      { from, specifier: "aws-jwt-verify", target: undefined, typeOnly: false },
    ];
    expect(violations(imports)).toHaveLength(imports.length);
  });

  it("would refuse the edge importing the identity adapter, and one adapter another or its packages", () => {
    const edge = join(root, "lib/http/respond.ts");
    const dynamo = join(root, "lib/dynamo/client.ts");
    const identity = join(root, "lib/identity/tokens.ts");
    const imports: Import[] = [
      { from: edge, specifier: "../identity/tokens.ts", target: identity, typeOnly: false },
      { from: edge, specifier: "../identity/config.ts", target: join(root, "lib/identity/config.ts"), typeOnly: true },
      { from: edge, specifier: "aws-jwt-verify", target: undefined, typeOnly: false },
      { from: dynamo, specifier: "../identity/tokens.ts", target: identity, typeOnly: false },
      { from: dynamo, specifier: "aws-jwt-verify/error", target: undefined, typeOnly: false },
      { from: identity, specifier: "../dynamo/client.ts", target: dynamo, typeOnly: false },
      { from: identity, specifier: "@aws-sdk/client-dynamodb", target: undefined, typeOnly: false },
      { from: identity, specifier: "../http/errors.ts", target: join(root, "lib/http/errors.ts"), typeOnly: false },
    ];
    expect(violations(imports)).toHaveLength(imports.length);
    // What the identity adapter and the composition root may do.
    const runtime = join(root, "lib/runtime.ts");
    const allowed: Import[] = [
      { from: identity, specifier: "aws-jwt-verify/jwk", target: undefined, typeOnly: false },
      { from: identity, specifier: "./config.ts", target: join(root, "lib/identity/config.ts"), typeOnly: false },
      { from: identity, specifier: "../errors.ts", target: join(root, "lib/errors.ts"), typeOnly: false },
      { from: runtime, specifier: "./identity/tokens.ts", target: identity, typeOnly: false },
    ];
    expect(violations(allowed)).toEqual([]);
  });

  it("has no import cycle between folders, nor between files", () => {
    // A file at the top of lib/ stands beside the folders, as a unit of its own.
    const folderOf = (file: string) => (dirname(file) === join(root, "lib") ? name(file) : relative(root, dirname(file)));
    const edges = (nodeOf: (file: string) => string) => {
      const graph = new Map<string, Set<string>>();
      for (const i of libImports) {
        if (i.target === undefined) continue;
        const [from, to] = [nodeOf(i.from), nodeOf(i.target)];
        if (from !== to) graph.set(from, (graph.get(from) ?? new Set()).add(to));
      }
      return graph;
    };
    expect(cycles(edges(folderOf))).toEqual([]);
    expect(cycles(edges(name))).toEqual([]);
    // And it finds one where there is one.
    expect(
      cycles(
        new Map([
          ["lib/a", new Set(["lib/b"])],
          ["lib/b", new Set(["lib/c"])],
          ["lib/c", new Set(["lib/a"])],
        ]),
      ),
    ).toEqual(["lib/a -> lib/b -> lib/c -> lib/a"]);
  });
});

/** Every cycle of a directed graph, found by depth-first search (each listed from where it was entered). */
function cycles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const found: string[] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (node: string) => {
    state.set(node, "open");
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") found.push([...path.slice(path.indexOf(next)), next].join(" -> "));
      else if (state.get(next) === undefined) visit(next);
    }
    path.pop();
    state.set(node, "done");
  };
  for (const node of graph.keys()) if (state.get(node) === undefined) visit(node);
  return found;
}

describe("the pages", () => {
  it("use the domain's types and nothing else of lib/", () => {
    const wrong = filesUnder("web", /\.(ts|mjs)$/)
      .flatMap(importsOf)
      .filter((i) => i.target?.startsWith(join(root, "lib")) === true)
      .filter((i) => !i.typeOnly || layerOf(i.target ?? "") !== "domain")
      .map((i) => `${name(i.from)} imports ${i.specifier}`);
    expect(wrong).toEqual([]);
  });
});

describe("type references", () => {
  it("name files that exist, in declaration files and JSDoc too (which skipLibCheck and JavaScript leave unchecked)", () => {
    const files = ["types", "web", "lib", "scripts", "bench"].flatMap((folder) => filesUnder(folder, /\.(ts|mjs)$/));
    const references = files.flatMap((file) =>
      [...readFileSync(file, "utf8").matchAll(/import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g)].map((match) => ({
        file,
        target: match[1] ?? "",
      })),
    );
    expect(references.length).toBeGreaterThan(1);
    const missing = references.filter(({ file, target }) => !existsSync(resolve(dirname(file), target)));
    expect(missing.map(({ file, target }) => `${name(file)} -> ${target}`)).toEqual([]);
  });
});
