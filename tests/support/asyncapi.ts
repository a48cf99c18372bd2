import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import { parse } from "yaml";

/**
 * asyncapi.yaml as a test oracle: which of the messages it describes a frame (or a client message)
 * is, checked with Ajv against the document's own payload schemas, `$ref`s and all.
 */
const document = parse(readFileSync(fileURLToPath(new URL("../../asyncapi.yaml", import.meta.url)), "utf8"));
const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addSchema(document, "asyncapi");

function messagesOf(operation: "subscribe" | "hear"): string[] {
  return (document.operations[operation].messages as { $ref: string }[]).map(({ $ref }) => $ref.split("/").at(-1) as string);
}

/** The names of the messages of `operation` that `payload` is (exactly one, for a well-made document and frame). */
export function describedAs(operation: "subscribe" | "hear", payload: unknown): string[] {
  return messagesOf(operation).filter((name) => {
    const validate = ajv.getSchema(`asyncapi#/components/messages/${name}/payload`);
    if (validate === undefined) throw new Error(`asyncapi.yaml has no payload for ${name}`);
    return validate(payload) === true;
  });
}
