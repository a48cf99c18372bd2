import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { corsPolicy } from "../../lib/http/cors.ts";
import { decodeFields } from "../../lib/http/decode.ts";
import { HttpError } from "../../lib/http/errors.ts";
import { adminHandler } from "../../lib/http/routes/admin.ts";
import { requestChatHandler } from "../../lib/http/routes/request-chat.ts";
import { MemoryAgentStore } from "../../lib/memory/agent-store.ts";
import { MemoryConfigStore } from "../../lib/memory/config-store.ts";
import { MemorySessionStore } from "../../lib/memory/session-store.ts";
import { memoryStores } from "../../lib/memory/stores.ts";
import { chatIdOf } from "../../lib/session/ids.ts";
import { expectGmsAnswer, generatedRequest as request } from "../support/arbitraries.ts";
import { testService } from "../support/service.ts";

/**
 * Whatever arrives (see tests/support/arbitraries.ts), the handlers answer: never a thrown error,
 * never a 500, and every error in the GMS JSON shape.
 */
const RUNS = 10_000;
const now = new Date("2026-11-25T10:00:00Z");

let config: MemoryConfigStore;
let sessions: MemorySessionStore;

beforeAll(async () => {
  vi.spyOn(console, "log").mockImplementation(() => {});
  config = new MemoryConfigStore(new MemoryAgentStore());
  sessions = new MemorySessionStore();
  const updatedAt = now.toISOString();
  await config.putService({ name: "request-chat", ttlSeconds: 3600, chatEndpoint: "gms_builtin", updatedAt });
  await config.putService({ name: "closed", ttlSeconds: 3600, chatEndpoint: "nobody", updatedAt });
  await config.putNotification({ endpoint: "gms_builtin", available: true, updatedAt });
});
afterAll(() => {
  vi.restoreAllMocks();
});

describe(`generated requests (${RUNS} runs each)`, () => {
  it("decodeFields either yields string fields or throws a 4xx HttpError", async () => {
    await fc.assert(
      fc.asyncProperty(request, async (event) => {
        try {
          const fields = await decodeFields(event);
          for (const v of Object.values(fields)) expect(typeof v).toBe("string");
        } catch (error) {
          expect(error).toBeInstanceOf(HttpError);
          expect((error as HttpError).status).toBeGreaterThanOrEqual(400);
          expect((error as HttpError).status).toBeLessThan(500);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("request-chat never throws, never answers 500, and shapes every error", async () => {
    const handler = requestChatHandler({ config, sessions, now: () => now, cors: corsPolicy("*") });
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (event) => {
        const response = await handler(event);
        statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
        expectGmsAnswer(response);
        if (response.statusCode === 200) {
          const { _id } = JSON.parse(response.body);
          expect(await sessions.get(chatIdOf(_id))).toBeDefined();
        }
      }),
      { numRuns: RUNS },
    );
    // The generators reach every outcome, not only the first validation step.
    expect([...statuses.keys()].sort()).toEqual(expect.arrayContaining([200, 400, 404, 413, 415, 503]));
  });

  it("the admin API never throws, never answers 500, and shapes every error", async () => {
    const handler = adminHandler({ ...testService(memoryStores(), { now: () => now }), cors: corsPolicy("*") });
    const routes = fc.constantFrom(
      ["/genesys/1/admin/services/{name}", "PUT", "name"],
      ["/genesys/1/admin/availability/{endpoint}", "PUT", "endpoint"],
      ["/genesys/1/admin/services/{name}", "DELETE", "name"],
      ["/genesys/1/admin/availability/{endpoint}", "GET", "endpoint"],
      ["/genesys/1/admin/endpoints/{endpoint}", "PUT", "endpoint"],
      ["/genesys/1/admin/endpoints/{endpoint}", "GET", "endpoint"],
      ["/genesys/1/admin/agents/{agentId}", "PUT", "agentId"],
      ["/genesys/1/admin/agents/{agentId}", "GET", "agentId"],
      ["/genesys/1/admin/agents/{agentId}", "DELETE", "agentId"],
      ["/genesys/1/admin/agents", "GET", "none"],
    );
    await fc.assert(
      fc.asyncProperty(request, routes, async (event, [resource, method, param]) => {
        const target = event.pathParameters?.service ?? "";
        const response = await handler({ ...event, resource, httpMethod: method, pathParameters: { [param]: target } });
        expectGmsAnswer(response);
      }),
      { numRuns: RUNS },
    );
  });
});
