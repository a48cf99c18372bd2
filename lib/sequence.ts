import type { AgentStore } from "./agents/store.ts";
import type { RoutingStore } from "./routing/store.ts";
import type { CometStore, ConfigStore, PushStore, SessionStore } from "./storage.ts";

/** A store call, named by its store and method. */
export type StorageStep =
  | `sessions.${keyof SessionStore}`
  | `config.${keyof ConfigStore}`
  | `push.${keyof PushStore}`
  | `comet.${keyof CometStore}`
  | `routing.${keyof RoutingStore}`
  | `agents.${keyof AgentStore}`;

/**
 * The longest sequence of store calls an operation makes, one after another; an inner list is a
 * round of calls made side by side. Each function declares its own (`LONGEST_STORAGE_SEQUENCE` in
 * lib/http/routes/ and lib/cloudformation/); tests/budgets/dynamodb-calls.test.ts runs the
 * function's operations and checks the declaration, and tests/e2e/package.test.ts checks it
 * against the function's timeout with the adapter's worst case per call (lib/dynamo/worst-case.ts).
 */
export type StorageSequence = readonly (StorageStep | readonly StorageStep[])[];
