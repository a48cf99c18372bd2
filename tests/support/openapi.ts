import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { parse, parseDocument, type Tags } from "yaml";

/**
 * openapi.yaml as a test oracle: its operations, the routes serverless.yml declares, and a checker
 * that tells whether a real HTTP exchange is one the document describes (status, media type, body
 * and headers validated with Ajv against the document's own JSON Schemas, `$ref`s and all).
 */

const root = fileURLToPath(new URL("../..", import.meta.url));
const OPENAPI_FILE = join(root, "openapi.yaml");
const SERVERLESS_FILE = join(root, "serverless.yml");

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

// The document is plain JSON once parsed; it is walked by JSON pointer, so it stays loosely typed.
// biome-ignore lint/suspicious/noExplicitAny: see above.
export type Json = any;

interface Operation {
  readonly method: string;
  readonly path: string;
  readonly operationId: string | undefined;
  readonly secured: boolean;
  readonly pointer: string;
  readonly operation: Json;
}

interface Route {
  readonly method: string;
  readonly path: string;
  /** Behind an authorizer (or, formerly, the API key): callers need credentials. */
  readonly secured: boolean;
}

/** One request and its answer, as the scenario saw it. */
export interface Exchange {
  readonly method: string;
  /** The path template of the operation the scenario meant to call, e.g. `/genesys/1/service/{service}`. */
  readonly template: string;
  readonly url: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly rawBody: string;
  /** The body the client sent, when it sent a form or JSON object: checked against the request schema on 2xx. */
  readonly request?: { readonly mediaType: string; readonly value: Record<string, unknown> } | undefined;
}

export function loadOpenApi(): Json {
  return parse(readFileSync(OPENAPI_FILE, "utf8"), { maxAliasCount: -1 });
}

/** Every operation of the document, in document order. */
function listOperations(doc: Json): Operation[] {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries<Json>(doc.paths ?? {})) {
    for (const method of METHODS) {
      const operation = item[method];
      if (operation === undefined) continue;
      const security = operation.security ?? doc.security ?? [];
      operations.push({
        method: method.toUpperCase(),
        path,
        operationId: operation.operationId,
        secured: security.some((requirement: Json) => Object.keys(requirement).length > 0),
        pointer: `/paths/${escapePointer(path)}/${method}`,
        operation,
      });
    }
  }
  return operations;
}

/** `/chat` and `/chat/` name the same API Gateway resource. */
export function normalisePath(path: string): string {
  const withSlash = path.startsWith("/") ? path : `/${path}`;
  return withSlash.length > 1 ? withSlash.replace(/\/+$/, "") : withSlash;
}

/**
 * CloudFormation's short-form intrinsics (`!GetAtt X.Arn`, `!Sub "..."`, `!Join [...]`) as plain
 * `{ Fn: value }` objects, so that serverless.yml parses without warnings.
 */
const INTRINSICS = [
  "Ref",
  "GetAtt",
  "Sub",
  "Join",
  "Select",
  "Split",
  "If",
  "Equals",
  "Not",
  "And",
  "Or",
  "FindInMap",
  "Base64",
  "Cidr",
  "GetAZs",
  "ImportValue",
  "Condition",
  "Transform",
];
const CLOUDFORMATION_TAGS: Tags = INTRINSICS.flatMap((name) => [
  { tag: `!${name}`, resolve: (value: string) => ({ [name]: value }) },
  { tag: `!${name}`, collection: "seq" as const, resolve: (value: { toJSON(): unknown }) => ({ [name]: value.toJSON() }) },
  { tag: `!${name}`, collection: "map" as const, resolve: (value: { toJSON(): unknown }) => ({ [name]: value.toJSON() }) },
]);

export function parseServerless(): { config: Json; warnings: string[]; errors: string[] } {
  const doc = parseDocument(readFileSync(SERVERLESS_FILE, "utf8"), { customTags: CLOUDFORMATION_TAGS });
  return { config: doc.toJS(), warnings: doc.warnings.map(String), errors: doc.errors.map(String) };
}

/** The `http` events of every function (long form `{method, path}` or short form `"GET /path"`). */
export function serverlessRoutes(config: Json): Route[] {
  const routes: Route[] = [];
  for (const fn of Object.values<Json>(config.functions ?? {})) {
    for (const event of fn?.events ?? []) {
      const http = event?.http;
      if (http === undefined) continue;
      if (typeof http === "string") {
        const [method = "", path = ""] = http.trim().split(/\s+/);
        routes.push({ method: method.toUpperCase(), path: normalisePath(path), secured: false });
      } else {
        routes.push({
          method: String(http.method).toUpperCase(),
          path: normalisePath(String(http.path)),
          secured: http.private === true || http.authorizer !== undefined,
        });
      }
    }
  }
  return routes;
}

function escapePointer(segment: string): string {
  return segment.replaceAll("~", "~0").replaceAll("/", "~1");
}

/** Every `$ref` value anywhere in the document, with where it is. */
export function allRefs(node: Json, at = ""): { at: string; ref: string }[] {
  if (node === null || typeof node !== "object") return [];
  const found: { at: string; ref: string }[] = [];
  if (typeof node.$ref === "string") found.push({ at, ref: node.$ref });
  for (const [key, value] of Object.entries<Json>(node)) found.push(...allRefs(value, `${at}/${escapePointer(key)}`));
  return found;
}

/** The value at a local JSON pointer (`#/components/...`), or undefined. */
export function atPointer(doc: Json, ref: string): Json {
  if (!ref.startsWith("#")) return undefined;
  let node = doc;
  for (const raw of ref.slice(1).split("/").slice(1)) {
    const key = decodeURIComponent(raw).replaceAll("~1", "/").replaceAll("~0", "~");
    if (node === null || typeof node !== "object" || !(key in node)) return undefined;
    node = node[key];
  }
  return node;
}

const DOCUMENT_ID = "https://gms-chat.invalid/openapi.yaml";

/** Checks exchanges against the document. */
export class OpenApiChecker {
  readonly operations: Operation[];
  private readonly ajv: Ajv2020;
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(readonly doc: Json) {
    this.operations = listOperations(doc);
    this.ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
    addFormatsModule.default(this.ajv);
    // The whole document is one schema resource, so `#/components/...` refs resolve inside it. Its
    // top-level OpenAPI keys (openapi, info, paths, components, x-...) are annotations to Ajv.
    for (const key of Object.keys(doc)) if (!this.ajv.getKeyword(key)) this.ajv.addKeyword({ keyword: key });
    this.ajv.addSchema({ ...doc, $id: DOCUMENT_ID });
  }

  /** A validator for the schema at a JSON pointer of the document. */
  validator(pointer: string): ValidateFunction {
    let validate = this.validators.get(pointer);
    if (validate === undefined) {
      const fragment = pointer.split("/").map(encodeURIComponent).join("/");
      validate = this.ajv.compile({ $ref: `${DOCUMENT_ID}#${fragment}` });
      this.validators.set(pointer, validate);
    }
    return validate;
  }

  /** Follows OpenAPI Reference Objects (responses, headers, parameters, request bodies) to the object and its pointer. */
  deref(node: Json, pointer: string): { node: Json; pointer: string } {
    let current = { node, pointer };
    for (let hops = 0; typeof current.node?.$ref === "string"; hops += 1) {
      if (hops > 10) throw new Error(`$ref loop at ${pointer}`);
      const ref: string = current.node.$ref;
      current = { node: atPointer(this.doc, ref), pointer: ref.slice(1) };
      if (current.node === undefined) throw new Error(`unresolved $ref ${ref} at ${pointer}`);
    }
    return current;
  }

  operation(method: string, template: string): Operation | undefined {
    return this.operations.find((op) => op.method === method.toUpperCase() && op.path === template);
  }

  /** What is wrong with the exchange according to the document; empty when it is a documented answer. */
  check(exchange: Exchange): string[] {
    const problems: string[] = [];
    const op = this.operation(exchange.method, exchange.template);
    if (op === undefined) return [`${exchange.method} ${exchange.template} is not an operation of openapi.yaml`];
    const responses = op.operation.responses ?? {};
    const key = [String(exchange.status), `${Math.floor(exchange.status / 100)}XX`, "default"].find((code) => code in responses);
    if (key === undefined) return [`status ${exchange.status} is not documented (documented: ${Object.keys(responses).join(", ")})`];
    const { node: response, pointer } = this.deref(responses[key], `${op.pointer}/responses/${key}`);

    const mediaType = (exchange.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    const content: Record<string, Json> = response.content ?? {};
    if (exchange.rawBody === "") {
      if (Object.keys(content).length > 0) problems.push(`empty body, but ${exchange.status} documents ${Object.keys(content).join(", ")}`);
    } else {
      const documented = Object.keys(content).find((type) => type.toLowerCase() === mediaType);
      if (documented === undefined) {
        problems.push(
          `content type "${mediaType}" is not documented for ${exchange.status} (documented: ${Object.keys(content).join(", ") || "no body"})`,
        );
      } else {
        let body: unknown = exchange.rawBody;
        let parsed = true;
        if (mediaType === "application/json" || mediaType.endsWith("+json")) {
          try {
            body = JSON.parse(exchange.rawBody);
          } catch {
            parsed = false;
            problems.push("body is not JSON");
          }
        }
        const validate = this.validator(`${pointer}/content/${escapePointer(documented)}/schema`);
        if (parsed && !validate(body))
          problems.push(`body does not match the schema: ${this.ajv.errorsText(validate.errors)}; body ${exchange.rawBody.slice(0, 500)}`);
      }
    }

    for (const [name, header] of Object.entries<Json>(response.headers ?? {})) {
      const resolved = this.deref(header, `${pointer}/headers/${escapePointer(name)}`);
      const value = exchange.headers[name.toLowerCase()];
      if (value === undefined) {
        if (resolved.node.required === true) problems.push(`required header ${name} is missing`);
        continue;
      }
      if (resolved.node.schema === undefined) continue;
      const validate = this.validator(`${resolved.pointer}/schema`);
      // Header values are strings; a schema of type integer reads them as numbers.
      const numeric = /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : undefined;
      if (!validate(value) && !(numeric !== undefined && validate(numeric))) {
        problems.push(`header ${name}: ${JSON.stringify(value)} does not match: ${this.ajv.errorsText(validate.errors)}`);
      }
    }

    // What the service accepted, the document must accept too.
    if (exchange.request !== undefined && exchange.status >= 200 && exchange.status < 300) {
      if (op.operation.requestBody === undefined) {
        problems.push("a request body was accepted, but the operation documents none");
      } else {
        const body = this.deref(op.operation.requestBody, `${op.pointer}/requestBody`);
        const type = Object.keys(body.node.content ?? {}).find((t) => t.toLowerCase() === exchange.request?.mediaType);
        if (type === undefined) {
          problems.push(`request content type ${exchange.request.mediaType} was accepted, but is not documented`);
        } else {
          const validate = this.validator(`${body.pointer}/content/${escapePointer(type)}/schema`);
          if (!validate(exchange.request.value))
            problems.push(`the accepted request body does not match its schema: ${this.ajv.errorsText(validate.errors)}`);
        }
      }
    }
    return problems;
  }
}
