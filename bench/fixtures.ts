import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { chatIdOf } from "../lib/session/ids.ts";
import { httpEvent } from "../scripts/local/events.ts";

/**
 * What the benchmark sends each function: one representative request per route family, and the
 * items a DynamoDB stand-in answers with so that each request takes its normal, successful path.
 */
export const SESSION_ID = "6f1c2b1e-0c0a-4b8e-9d6a-2f7f0e6b5a41";
/** Where the session is kept, and what agents name its chat by (lib/session/ids.ts). */
export const CHAT_ID = chatIdOf(SESSION_ID);
const now = Math.floor(Date.now() / 1000);

function event(overrides: Partial<APIGatewayProxyEvent>, authorizer?: Record<string, string>): APIGatewayProxyEvent {
  return httpEvent({
    headers: { "content-type": "application/x-www-form-urlencoded" },
    requestContext: { requestId: "bench", ...(authorizer === undefined ? {} : { authorizer }) } as APIGatewayProxyEvent["requestContext"],
    ...overrides,
  });
}

/** What the authorizers (lib/http/authorizer.ts) pass on: a signed-in agent for an hour, a machine caller with the key. */
const AGENT = { outcome: "person", userId: "sub-anna", username: "anna", groups: "agent", exp: String(now + 3600) };
const MACHINE = { outcome: "machine" };

const form = "firstName=Anna&lastName=Smith&email=anna%40example.com&subject=Billing&orderId=A-17";

const requestChat = {
  label: "POST request-chat",
  event: event({ resource: "/genesys/1/service/{service}", pathParameters: { service: "request-chat" }, body: form }),
};

export const REQUESTS: Record<string, { label: string; event: APIGatewayProxyEvent }> = {
  // The baseline answers the same request.
  baseline: requestChat,
  requestChat,
  chat: {
    label: "POST refresh (2 new events)",
    event: event({
      resource: "/genesys/1/service/{service}/ixn/chat/refresh",
      pathParameters: { service: SESSION_ID },
      body: "transcriptPosition=1",
    }),
  },
  agent: {
    label: "GET queue (1 waiting)",
    event: event(
      {
        resource: "/genesys/1/agent/{agentId}/queue",
        httpMethod: "GET",
        pathParameters: { agentId: "anna" },
        queryStringParameters: { endpoint: "gms_builtin" },
      },
      AGENT,
    ),
  },
  admin: {
    label: "GET service",
    event: event({ resource: "/genesys/1/admin/services/{name}", httpMethod: "GET", pathParameters: { name: "request-chat" } }, MACHINE),
  },
  web: { label: "GET /chat/ (widget page)", event: event({ resource: "/chat", path: "/chat/", httpMethod: "GET" }) },
};

type AttributeMap = Record<string, AttributeValue>;
const S = (value: string): AttributeValue => ({ S: value });
const N = (value: number): AttributeValue => ({ N: String(value) });

/** The service, with the copy of its endpoint's availability that request-chat reads (lib/dynamo/config-store.ts). */
const service: AttributeMap = {
  pk: S("service#request-chat"),
  sk: S("service"),
  name: S("request-chat"),
  ttlSeconds: N(3600),
  chatEndpoint: S("gms_builtin"),
  updatedAt: S("2026-11-25T10:00:00.000Z"),
  availability: { M: { readyUntil: N(0), notification: { M: { available: { BOOL: true }, updatedAt: S("2026-11-25T10:00:00.000Z") } } } },
  version: N(1),
};
const data = { M: { firstName: S("Anna"), lastName: S("Smith"), email: S("anna@example.com"), orderId: S("A-17") } };
const session: AttributeMap = {
  id: S(CHAT_ID),
  sk: S("session"),
  sessionId: S(SESSION_ID),
  serviceName: S("request-chat"),
  chatEndpoint: S("gms_builtin"),
  data,
  createdAt: S("2026-11-25T10:00:00.000Z"),
  ttlSeconds: N(3600),
  expiresAt: N(now + 86_400),
};
const state: AttributeMap = {
  id: S(CHAT_ID),
  sk: S("state"),
  sessionId: S(SESSION_ID),
  chatSessionId: S("A7C7F3CC37B18260"),
  phase: S("WAITING"),
  startedAt: S("2026-11-25T10:00:00.000Z"),
  endpoint: S("gms_builtin"),
  customerNickname: S("Anna Smith"),
  customer: { M: { firstName: S("Anna"), lastName: S("Smith"), subject: S("Billing") } },
  attachedData: data,
  userId: S("3D2C1B0A99887766"),
  secureKey: S("0f9e8d7c6b5a49382716051423324150"),
  queuedAt: S("2026-11-25T10:00:00.000Z"),
  expiresAt: N(now + 86_400),
  lastPosition: N(3),
};
/** The chat's entry in its endpoint's queue (lib/dynamo/routing-store.ts). */
const waiting: AttributeMap = {
  id: S("waiting#gms_builtin"),
  sk: S(`2026-11-25T10:00:00.000Z#${CHAT_ID}`),
  chatId: S(CHAT_ID),
  queuedAt: S("2026-11-25T10:00:00.000Z"),
  chatSessionId: S("A7C7F3CC37B18260"),
  nickname: S("Anna Smith"),
  customer: { M: { firstName: S("Anna"), lastName: S("Smith"), subject: S("Billing") } },
  startedAt: S("2026-11-25T10:00:00.000Z"),
  expiresAt: N(now + 86_400),
};
const eventItem = (position: number, text: string): AttributeMap => ({
  id: S(CHAT_ID),
  sk: S(`e#${String(position).padStart(10, "0")}`),
  position: N(position),
  type: S("Message.Text"),
  nickname: S("Anna Smith"),
  text: S(text),
  party: S("CLIENT"),
  offset: N(position * 5),
  at: S("2026-11-25T10:00:10.000Z"),
  expiresAt: N(now + 86_400),
});

/** The items a seeded DynamoDB holds, as PutItem inputs (table by role). */
export const SEED_ITEMS: { table: "config" | "sessions"; item: AttributeMap }[] = [
  { table: "config", item: service },
  { table: "sessions", item: session },
  { table: "sessions", item: state },
  { table: "sessions", item: waiting },
  { table: "sessions", item: eventItem(1, "Hello, I have a question about my bill.") },
  { table: "sessions", item: eventItem(2, "It was charged twice this month.") },
  { table: "sessions", item: eventItem(3, "Order A-17.") },
];

/** The DynamoDB stand-in's answer to one call: what the seeded table would return. */
export function standInAnswer(
  operation: string,
  input: { TableName?: string; ExpressionAttributeValues?: Record<string, AttributeValue> },
): unknown {
  const configTable = String(input.TableName).endsWith("-config");
  switch (operation) {
    case "Query":
      if (input.ExpressionAttributeValues?.[":id"]?.S?.startsWith("waiting#")) return { Items: [waiting], Count: 1, ScannedCount: 1 };
      if (configTable) return { Items: [], Count: 0, ScannedCount: 0 };
      return {
        Items: [eventItem(2, "It was charged twice this month."), eventItem(3, "Order A-17."), session, state],
        Count: 4,
        ScannedCount: 4,
      };
    case "GetItem":
      return configTable ? { Item: service } : {};
    default:
      return {};
  }
}
