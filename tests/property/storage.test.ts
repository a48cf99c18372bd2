import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { corsPolicy } from "../../lib/http/cors.ts";
import { requestChatHandler } from "../../lib/routes/request-chat.ts";
import { decodeFields } from "../../lib/http/decode.ts";
import { expectGmsAnswer, generatedRequest, plausibleRequest } from "../support/arbitraries.ts";
import { startTestDynamo, type TestDynamo } from "../support/dynamo.ts";

/**
 * The same generated requests through the real DynamoDB adapters on dynalite: whatever the
 * validation lets through must also be storable (marshalling, attribute names, sizes), and what is
 * stored must read back as it was sent.
 */
const RUNS = 1_000;
const now = new Date("2026-11-25T10:00:00Z");
let db: TestDynamo;

beforeAll(async () => {
  vi.spyOn(console, "log").mockImplementation(() => {});
  db = await startTestDynamo();
  const updatedAt = now.toISOString();
  await db.config.putService({ name: "request-chat", ttlSeconds: 3600, chatEndpoint: "gms_builtin", updatedAt });
  await db.config.putService({ name: "closed", ttlSeconds: 3600, chatEndpoint: "nobody", updatedAt });
  await db.config.putNotification({ endpoint: "gms_builtin", available: true, updatedAt });
});
afterAll(async () => {
  vi.restoreAllMocks();
  await db?.close();
});

describe(`generated requests against dynalite (${RUNS} runs each)`, () => {
  const handler = () => requestChatHandler({ config: db.config, sessions: db.sessions, now: () => now, cors: corsPolicy("*") });

  it("never answer 500", async () => {
    const requestChat = handler();
    await fc.assert(
      fc.asyncProperty(generatedRequest, async (event) => expectGmsAnswer(await requestChat(event))),
      { numRuns: RUNS },
    );
  });

  it("store every accepted request's context data exactly as sent", async () => {
    const requestChat = handler();
    let stored = 0;
    await fc.assert(
      fc.asyncProperty(plausibleRequest, async (event) => {
        const response = await requestChat(event);
        expectGmsAnswer(response);
        if (response.statusCode !== 200) return;
        const sent = Object.fromEntries(Object.entries(await decodeFields(event)).filter(([key]) => !key.startsWith("_")));
        const session = await db.sessions.get(JSON.parse(response.body)._id);
        expect(session?.data).toEqual(sent);
        stored += 1;
      }),
      { numRuns: RUNS },
    );
    expect(stored).toBeGreaterThan(RUNS / 2);
  });
});
