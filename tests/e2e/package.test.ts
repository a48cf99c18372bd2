import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { RegoEngine, TemplateFile } from "@aws/cloudformation-validate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LONGEST_STORAGE_SEQUENCE as seed } from "../../lib/cloudformation/seed-resource.ts";
import { HOLD_TIMING } from "../../lib/comet/bayeux.ts";
import { COMET_BUMP_BUDGET_MS } from "../../lib/comet/listener.ts";
import { DEADLINE_MARGIN_MS } from "../../lib/dynamo/limits.ts";
import { tableDefinitions } from "../../lib/dynamo/tables.ts";
import { worstCaseMs } from "../../lib/dynamo/worst-case.ts";
import { LONGEST_STORAGE_SEQUENCE as authorizer } from "../../lib/http/authorizer.ts";
import { LONGEST_STORAGE_SEQUENCE as admin } from "../../lib/http/routes/admin.ts";
import { LONGEST_STORAGE_SEQUENCE as agent, LISTENING_SEQUENCE as agentListening } from "../../lib/http/routes/agent.ts";
import { LONGEST_STORAGE_SEQUENCE as chat } from "../../lib/http/routes/chat.ts";
import { AFTER_HOLD_SEQUENCE, LONGEST_STORAGE_SEQUENCE as comet } from "../../lib/http/routes/comet.ts";
import { LONGEST_STORAGE_SEQUENCE as push } from "../../lib/http/routes/push.ts";
import { LONGEST_STORAGE_SEQUENCE as requestChat } from "../../lib/http/routes/request-chat.ts";
import { LONGEST_STORAGE_SEQUENCE as web } from "../../lib/http/routes/web.ts";
import { FAN_OUT_BUDGET_MS } from "../../lib/push/push.ts";
import { LONGEST_STORAGE_SEQUENCE as router } from "../../lib/work/router.ts";
import { SERVERLESS_BIN, SERVERLESS_ENV } from "../../scripts/local/processes.ts";
import { stageTableNames } from "../../scripts/local/stack.ts";

/**
 * `serverless package` with no AWS account and no network, and the CloudFormation it produces: the
 * defaults, a stage with every switch on (WAF, reserved concurrency), and one with a malformed
 * setting. The switched-on template, a superset of the default one, goes through AWS's own
 * offline CloudFormation validator.
 */
const root = fileURLToPath(new URL("../..", import.meta.url));
/** Deploy-time settings a developer's shell may hold; the test checks their defaults. */
const DEPLOY_SETTINGS = new Set(["GMS_ADMIN_API_KEY", "CORS_ALLOWED_ORIGINS", "PAGE_API_ORIGINS"]);
/** An admin key in the shell of whoever deploys: it must never reach the template. */
const SHELL_ADMIN_KEY = "an-admin-key-in-the-deploying-shell";
const SWITCHED_ON = [
  "--param=waf=true",
  "--param=wafRequestsPer5Minutes=500",
  "--param=wafOpenRequestsPer5Minutes=40",
  "--param=requestChatConcurrency=50",
  "--param=accessTokenMinutes=15",
  "--param=refreshTokenHours=8",
];
/**
 * Warnings of the validator that the framework's own resources raise, each explained in
 * docs/deploying.md: the functions' DependsOn on their roles, which the Role's GetAtt already
 * implies, and the retained function versions without an UpdateReplacePolicy.
 */
const ACCEPTED_WARNINGS = [
  { rule: "W3005", resourceType: "AWS::Lambda::Function" },
  { rule: "W3005", resourceType: "AWS::Lambda::Permission" },
  { rule: "W3011", resourceType: "AWS::Lambda::Version" },
];
const tempDirs: string[] = [];
// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is checked by assertions.
let resources: Record<string, any>;
// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is checked by assertions.
let switchedOn: Record<string, any>;
let switchedOnTemplate: string;
// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is checked by assertions.
let outputs: Record<string, any>;
let malformed: { code: number | undefined; output: string };
// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is checked by assertions.
let wafOff: Record<string, any>;

/** Runs `serverless package --stage prod` with `args` and `settings` added to a clean environment. */
async function packageService(args: readonly string[], settings: Record<string, string> = {}): Promise<string> {
  const buildFolder = `.esbuild/package-${process.pid}-${randomUUID()}`;
  const outDir = await mkdtemp(join(tmpdir(), "gms-chat-package-"));
  tempDirs.push(outDir);
  // No AWS credentials, endpoint or admin key: packaging must not need any.
  const env: NodeJS.ProcessEnv = { ...SERVERLESS_ENV, GMS_BUILD_FOLDER: buildFolder, ...settings };
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("AWS_") && !DEPLOY_SETTINGS.has(key) && !(key in env)) env[key] = value;
  }
  try {
    await promisify(execFile)(process.execPath, [SERVERLESS_BIN, "package", "--stage", "prod", "--package", outDir, ...args], {
      cwd: root,
      env,
    });
  } finally {
    await rm(join(root, buildFolder), { recursive: true, force: true });
  }
  return join(outDir, "cloudformation-template-update-stack.json");
}

async function resourcesOf(template: string) {
  return JSON.parse(await readFile(template, "utf8")).Resources;
}

async function outputsOf(template: string) {
  return JSON.parse(await readFile(template, "utf8")).Outputs;
}

beforeAll(async () => {
  // The malformed setting stops before anything is built, so it can run alongside; two builds
  // cannot (serverless-esbuild zips into the service's .serverless/).
  const refused = packageService([], { CORS_ALLOWED_ORIGINS: "https://app.example.com,app.example.com" }).then(
    () => ({ code: 0, output: "" }),
    (failure: { code?: number; stdout?: string; stderr?: string }) => ({
      code: failure.code,
      output: `${failure.stdout}${failure.stderr}`,
    }),
  );
  const defaults = await packageService([], { GMS_ADMIN_API_KEY: SHELL_ADMIN_KEY });
  resources = await resourcesOf(defaults);
  outputs = await outputsOf(defaults);
  switchedOnTemplate = await packageService(SWITCHED_ON);
  switchedOn = await resourcesOf(switchedOnTemplate);
  wafOff = await resourcesOf(await packageService(["--param=waf=false"]));
  malformed = await refused;
});
afterAll(async () => {
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
});

function ofType(type: string, from = resources) {
  return Object.entries(from).filter(([, resource]) => resource.Type === type);
}

/** Routing's queue's visibility timeout (seconds): how long a task in the router function's hands stays hidden. */
function queueVisibility(): number {
  return Number(resources.RoutingQueue?.Properties.VisibilityTimeout);
}

/** The one resource of a type, and its logical ID. */
function onlyOfType(type: string, from = resources) {
  const found = ofType(type, from);
  expect(found.map(([id]) => id)).toHaveLength(1);
  const [[id, resource]] = found as [[string, (typeof resources)[string]]];
  return { id, resource };
}

describe("serverless package", () => {
  it("declares both tables as the local stack creates them, with TTL, PITR and encryption", () => {
    const expected = tableDefinitions(stageTableNames("prod"));
    const tables = ofType("AWS::DynamoDB::Table").map(([, table]) => table.Properties);
    expect(tables).toHaveLength(expected.length);
    for (const definition of expected) {
      const table = tables.find((t) => t.TableName === definition.TableName);
      expect(table, definition.TableName).toBeDefined();
      expect(table.KeySchema).toEqual(definition.KeySchema);
      expect(table.AttributeDefinitions).toEqual(definition.AttributeDefinitions);
      expect(table.BillingMode).toBe("PAY_PER_REQUEST");
      expect(table.TimeToLiveSpecification).toEqual({ AttributeName: "expiresAt", Enabled: true });
      expect(table.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(table.SSESpecification).toEqual({ SSEEnabled: true });
    }
  });

  it("passes the same table names to the functions", () => {
    const names = stageTableNames("prod");
    for (const [, fn] of ofType("AWS::Lambda::Function")) {
      expect(fn.Properties.Environment.Variables).toMatchObject({ SESSIONS_TABLE: names.sessions, CONFIG_TABLE: names.config });
    }
  });

  it("deploys arm64 functions on a current Node.js runtime, within API Gateway's 29 s", () => {
    const functions = ofType("AWS::Lambda::Function");
    // Each function's longest sequence of storage calls, as its route family declares it.
    const sequences = {
      RequestChatLambdaFunction: requestChat,
      ChatLambdaFunction: chat,
      AgentLambdaFunction: agent,
      AdminLambdaFunction: admin,
      SeedLambdaFunction: seed,
      WebLambdaFunction: web,
      CometLambdaFunction: comet,
      // The authorizers read whether a token's sign-in ended.
      AuthorizerLambdaFunction: authorizer,
      AdminAuthorizerLambdaFunction: authorizer,
      PushLambdaFunction: push,
      RouterLambdaFunction: router,
    };
    // The functions that write events also wait, once per request, for the listeners: the WebSocket
    // fan-out (lib/push/push.ts) and the CometD bump (lib/comet/listener.ts), side by side; the
    // router for the offers it posts. The agent function's longest sequence (a change of presence)
    // posts nothing: its longest that does is declared apart.
    const listens = Math.max(FAN_OUT_BUDGET_MS, COMET_BUMP_BUDGET_MS);
    const listening: Record<string, number> = { ChatLambdaFunction: listens, RouterLambdaFunction: FAN_OUT_BUDGET_MS };
    const worstCase = (id: string) =>
      id === "AgentLambdaFunction"
        ? Math.max(worstCaseMs(agent), worstCaseMs(agentListening) + listens)
        : worstCaseMs(sequences[id as keyof typeof sequences]) + (listening[id] ?? 0);
    expect(functions.map(([id]) => id).sort()).toEqual(Object.keys(sequences).sort());
    for (const [id, fn] of functions) {
      expect(fn.Properties.Runtime).toMatch(/^nodejs(2[2-9]|[3-9]\d)\.x$/);
      expect(fn.Properties.Architectures).toEqual(["arm64"]);
      // Behind API Gateway, inside its 29 s; the router, fed by SQS, within the queue's visibility timeout.
      if (id === "RouterLambdaFunction") expect(fn.Properties.Timeout * 6).toBeLessThanOrEqual(queueVisibility());
      else expect(fn.Properties.Timeout).toBeLessThan(29);
      // Those calls must fit, with room to spare, even when each one exhausts its retries. What
      // takes more calls (an append under contention, a read past one page) starts no call that
      // could outlive the function (lib/dynamo/request-scope.ts; tests/integration/chat.test.ts).
      expect(worstCase(id), id).toBeLessThan(fn.Properties.Timeout * 1000 * 0.75);
    }
    // A held connect: its hold (which counts from the request's start), then the calls that may
    // follow its end, each exhausting its retries, still answer before the function's timeout.
    const cometTimeout = functions.find(([id]) => id === "CometLambdaFunction")?.[1].Properties.Timeout;
    expect(HOLD_TIMING.holdMs + worstCaseMs(AFTER_HOLD_SEQUENCE) + DEADLINE_MARGIN_MS).toBeLessThan(cometTimeout * 1000);
  });

  it("grants each function only the DynamoDB actions it uses, on named tables, never a wildcard", () => {
    const grants: Record<string, string[]> = {};
    for (const [id, role] of ofType("AWS::IAM::Role")) {
      for (const policy of role.Properties.Policies ?? []) {
        for (const statement of policy.PolicyDocument.Statement) {
          const actions: string[] = [statement.Action].flat();
          for (const action of actions) {
            expect(action).not.toContain("*");
            if (!action.startsWith("dynamodb:")) continue;
            const targets = [statement.Resource].flat();
            for (const target of targets) {
              expect(JSON.stringify(target)).not.toContain("*");
              // A table's ARN, or one of its indexes: "${Table.Arn}/index/name".
              const name = target["Fn::GetAtt"]?.[0] ?? String(target["Fn::Sub"]).replace(/^\$\{(\w+)\.Arn\}/, "$1");
              expect(name).toMatch(/^\w+Table(\/index\/\w+)?$/);
              grants[id] = [...(grants[id] ?? []), `${action} ${name}`];
            }
          }
        }
      }
    }
    // Presence and the admin API change an endpoint's availability: its state, roster and copies
    // (lib/dynamo/availability.ts); agents' records and routing's index of them (BatchWriteItem).
    const CONFIG_WRITER = [
      "dynamodb:GetItem ConfigTable",
      "dynamodb:BatchGetItem ConfigTable",
      "dynamodb:Query ConfigTable",
      "dynamodb:PutItem ConfigTable",
      "dynamodb:UpdateItem ConfigTable",
      "dynamodb:DeleteItem ConfigTable",
      "dynamodb:BatchWriteItem ConfigTable",
    ];
    expect(grants).toEqual({
      // request-chat reads one item of the config table: its service, with the endpoint's availability.
      RequestChatRole: ["dynamodb:GetItem ConfigTable", "dynamodb:GetItem SessionsTable", "dynamodb:PutItem SessionsTable"],
      ChatRole: [
        "dynamodb:Query SessionsTable",
        "dynamodb:GetItem SessionsTable",
        "dynamodb:PutItem SessionsTable",
        "dynamodb:UpdateItem SessionsTable",
        "dynamodb:DeleteItem SessionsTable",
        "dynamodb:BatchWriteItem SessionsTable",
        // A chat that ends frees its agent's slot; routing's index follows.
        "dynamodb:GetItem ConfigTable",
        "dynamodb:UpdateItem ConfigTable",
        "dynamodb:BatchWriteItem ConfigTable",
      ],
      AgentRole: [
        "dynamodb:Query SessionsTable",
        "dynamodb:GetItem SessionsTable",
        "dynamodb:BatchGetItem SessionsTable",
        "dynamodb:PutItem SessionsTable",
        "dynamodb:UpdateItem SessionsTable",
        "dynamodb:DeleteItem SessionsTable",
        "dynamodb:BatchWriteItem SessionsTable",
        ...CONFIG_WRITER,
      ],
      // An endpoint's queue is counted in its view.
      AdminRole: [...CONFIG_WRITER, "dynamodb:Query SessionsTable"],
      // Routing: chats' offers, the queues and offers' entries, agents' records, the index, availability.
      RouterRole: [
        "dynamodb:GetItem SessionsTable",
        "dynamodb:BatchGetItem SessionsTable",
        "dynamodb:Query SessionsTable",
        "dynamodb:PutItem SessionsTable",
        "dynamodb:UpdateItem SessionsTable",
        "dynamodb:DeleteItem SessionsTable",
        ...CONFIG_WRITER,
      ],
      // Seeding, and moving what older versions left: the config table's first layout, the queue index's chats.
      SeedRole: [
        "dynamodb:GetItem ConfigTable",
        "dynamodb:Query ConfigTable",
        "dynamodb:PutItem ConfigTable",
        "dynamodb:UpdateItem ConfigTable",
        "dynamodb:DeleteItem ConfigTable",
        "dynamodb:Scan SessionsTable/index/queue",
        "dynamodb:PutItem SessionsTable",
        "dynamodb:UpdateItem SessionsTable",
      ],
      PushRole: [
        "dynamodb:Query SessionsTable",
        "dynamodb:GetItem SessionsTable",
        "dynamodb:UpdateItem SessionsTable",
        "dynamodb:BatchWriteItem SessionsTable",
        // An agent's profile, and whether its token's sign-in ended.
        "dynamodb:GetItem ConfigTable",
      ],
      // Whether a token's sign-in ended (one item per token first seen).
      AuthorizerRole: ["dynamodb:GetItem ConfigTable"],
      AdminAuthorizerRole: ["dynamodb:GetItem ConfigTable"],
      CometRole: [
        "dynamodb:Query SessionsTable",
        "dynamodb:GetItem SessionsTable",
        "dynamodb:PutItem SessionsTable",
        "dynamodb:UpdateItem SessionsTable",
        "dynamodb:DeleteItem SessionsTable",
      ],
    });
    const roleOf = Object.fromEntries(ofType("AWS::Lambda::Function").map(([id, fn]) => [id, fn.Properties.Role["Fn::GetAtt"][0]]));
    expect(roleOf).toEqual({
      RequestChatLambdaFunction: "RequestChatRole",
      ChatLambdaFunction: "ChatRole",
      AgentLambdaFunction: "AgentRole",
      AdminLambdaFunction: "AdminRole",
      SeedLambdaFunction: "SeedRole",
      WebLambdaFunction: "WebRole",
      CometLambdaFunction: "CometRole",
      AuthorizerLambdaFunction: "AuthorizerRole",
      AdminAuthorizerLambdaFunction: "AdminAuthorizerRole",
      PushLambdaFunction: "PushRole",
      RouterLambdaFunction: "RouterRole",
    });
  });

  it("feeds the router function from routing's queue, encrypted, with a dead-letter queue, and lets only routing's senders send to it", () => {
    const queue = resources.RoutingQueue;
    expect(queue.Properties).toMatchObject({ SqsManagedSseEnabled: true, RedrivePolicy: { maxReceiveCount: 5 } });
    expect(resources.RoutingDeadLetterQueue.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
    const mapping = onlyOfType("AWS::Lambda::EventSourceMapping").resource;
    expect(mapping.Properties).toMatchObject({
      EventSourceArn: { "Fn::GetAtt": ["RoutingQueue", "Arn"] },
      FunctionName: { "Fn::GetAtt": ["RouterLambdaFunction", "Arn"] },
      BatchSize: 10,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
    const senders: string[] = [];
    for (const [id, role] of ofType("AWS::IAM::Role")) {
      for (const policy of role.Properties.Policies ?? []) {
        for (const statement of policy.PolicyDocument.Statement) {
          const actions = [statement.Action].flat() as string[];
          if (!actions.some((action) => action.startsWith("sqs:"))) continue;
          expect(statement.Resource).toEqual({ "Fn::GetAtt": ["RoutingQueue", "Arn"] });
          if (actions.includes("sqs:SendMessage")) senders.push(id);
          if (id !== "RouterRole") expect(actions).toEqual(["sqs:SendMessage"]);
        }
      }
    }
    expect(senders.sort()).toEqual(["AdminRole", "AgentRole", "ChatRole", "RouterRole"]);
    // The functions that send tasks are told the queue's URL, as CloudFormation gives it.
    for (const id of ["ChatLambdaFunction", "AgentLambdaFunction", "AdminLambdaFunction", "RouterLambdaFunction", "PushLambdaFunction"]) {
      expect(resources[id].Properties.Environment.Variables.ROUTING_QUEUE_URL, id).toEqual({ Ref: "RoutingQueue" });
    }
  });

  it("hands every request body to the functions as bytes, which they decode strictly, with no MOCK integration that would break on it", () => {
    expect(onlyOfType("AWS::ApiGateway::RestApi").resource.Properties.BinaryMediaTypes).toEqual(["*/*"]);
    for (const [id, method] of ofType("AWS::ApiGateway::Method")) expect(method.Properties.Integration.Type, id).toBe("AWS_PROXY");
  });

  it("puts an authorizer on every agent, supervisor and admin method, lets no method take the API key alone, and none on customer routes or preflights", () => {
    const methods = ofType("AWS::ApiGateway::Method").map(([, method]) => method.Properties);
    const backOffice = (m: { ResourceId: unknown }) => /Genesys1(Admin|Agent)/.test(JSON.stringify(m.ResourceId));
    const agent = (m: { ResourceId: unknown }) => /Genesys1Agent/.test(JSON.stringify(m.ResourceId));
    const authorizers = Object.fromEntries(ofType("AWS::ApiGateway::Authorizer").map(([id, a]) => [id, a.Properties]));
    // People: the token in Authorization, one result per token cached 300 s. The admin API: a token or the key, uncached.
    expect(authorizers.AuthorizerApiGatewayAuthorizer).toMatchObject({
      Type: "REQUEST",
      IdentitySource: "method.request.header.Authorization",
      AuthorizerResultTtlInSeconds: 300,
    });
    expect(authorizers.AdminAuthorizerApiGatewayAuthorizer).toMatchObject({ Type: "REQUEST", AuthorizerResultTtlInSeconds: 0 });
    for (const method of methods) {
      const where = `${method.HttpMethod} ${JSON.stringify(method.ResourceId)}`;
      // No method is opened by the API Gateway key check: the key is a credential only for the admin authorizer.
      expect(method.ApiKeyRequired, where).toBe(false);
      const secured = backOffice(method) && method.HttpMethod !== "OPTIONS";
      expect(method.AuthorizationType, where).toBe(secured ? "CUSTOM" : "NONE");
      if (secured)
        expect(method.AuthorizerId, where).toEqual({
          Ref: agent(method) ? "AuthorizerApiGatewayAuthorizer" : "AdminAuthorizerApiGatewayAuthorizer",
        });
    }
    expect(methods.filter((m) => backOffice(m) && m.HttpMethod !== "OPTIONS")).toHaveLength(12 + 13);
    // Every API resource answers the CORS preflight; the pages and their settings are plain GETs
    // without custom headers (the widget's settings may be read cross-origin), which need none.
    const pages = new Set(
      ["ApiGatewayResourceChat", "ApiGatewayResourceChatConfigjson", "ApiGatewayResourceAgent", "ApiGatewayResourceAgentConfigjson"].map(
        (id) => JSON.stringify({ Ref: id }),
      ),
    );
    expect(methods.filter((m) => pages.has(JSON.stringify(m.ResourceId))).map((m) => m.HttpMethod)).toEqual(["GET", "GET", "GET", "GET"]);
    const resources = new Set(methods.map((m) => JSON.stringify(m.ResourceId)).filter((id) => !pages.has(id)));
    const preflighted = new Set(methods.filter((m) => m.HttpMethod === "OPTIONS").map((m) => JSON.stringify(m.ResourceId)));
    expect(preflighted).toEqual(resources);
    // The key reaches the admin authorizer only: no usage plan lets API Gateway admit it alone.
    expect(ofType("AWS::ApiGateway::UsagePlanKey")).toHaveLength(0);
  });

  it("writes no admin key value into the template, even with GMS_ADMIN_API_KEY in the deploying shell: AWS generates it", async () => {
    const [[, key]] = ofType("AWS::ApiGateway::ApiKey") as [[string, { Properties: Record<string, unknown> }]];
    expect(key.Properties).not.toHaveProperty("Value");
    expect(key.Properties.Name).toBe("gms-chat-prod-admin");
    expect(JSON.stringify(resources)).not.toContain(SHELL_ADMIN_KEY);
  });

  it("gives errors made by API Gateway itself CORS headers and the GMS error shape", () => {
    const responses = ofType("AWS::ApiGateway::GatewayResponse").map(([, r]) => r.Properties);
    expect(responses.map((r) => r.ResponseType).sort()).toEqual([
      "ACCESS_DENIED",
      "AUTHORIZER_FAILURE",
      "DEFAULT_4XX",
      "DEFAULT_5XX",
      "THROTTLED",
      "UNAUTHORIZED",
    ]);
    for (const response of responses) {
      expect(response.ResponseParameters["gatewayresponse.header.Access-Control-Allow-Origin"]).toBe("method.request.header.origin");
      expect(response.ResponseParameters["gatewayresponse.header.Access-Control-Expose-Headers"]).toBe("'Retry-After,WWW-Authenticate'");
      expect(response.ResponseTemplates["application/json"]).toContain('"exception"');
    }
    // No Authorization header on an agent route: the answer the functions give to refused credentials.
    const unauthorized = responses.find((r) => r.ResponseType === "UNAUTHORIZED");
    expect(unauthorized.StatusCode).toBe("401");
    expect(unauthorized.ResponseParameters["gatewayresponse.header.WWW-Authenticate"]).toBe(
      `'Bearer realm="gms", error="invalid_request"'`,
    );
    expect(JSON.parse(unauthorized.ResponseTemplates["application/json"])).toEqual({
      message: "Sign in: send Authorization: Bearer <access token>",
      exception: "UnauthorizedException",
    });
  });

  it("answers an authorizer that failed (the pool's keys out of reach) with a 503 to retry, not a 500", () => {
    const [failed] = ofType("AWS::ApiGateway::GatewayResponse")
      .map(([, r]) => r.Properties)
      .filter((r) => r.ResponseType === "AUTHORIZER_FAILURE");
    expect(failed.StatusCode).toBe("503");
    expect(failed.ResponseParameters["gatewayresponse.header.Retry-After"]).toMatch(/^'[1-9]\d*'$/);
  });

  it("answers API Gateway's throttling with a JSON 429 that carries Retry-After and CORS", () => {
    const [throttled] = ofType("AWS::ApiGateway::GatewayResponse")
      .map(([, r]) => r.Properties)
      .filter((r) => r.ResponseType === "THROTTLED");
    expect(throttled.StatusCode).toBe("429");
    expect(throttled.ResponseParameters["gatewayresponse.header.Retry-After"]).toMatch(/^'[1-9]\d*'$/);
    expect(throttled.ResponseTemplates["application/json"]).toBe(
      '{"message":$context.error.messageString,"exception":"$context.error.responseType"}',
    );
  });

  it("throttles the whole stage, and request-chat and chat creation lower still, on a stage each deployment can update", () => {
    const deployment = onlyOfType("AWS::ApiGateway::Deployment");
    // A deployment that names a stage can only create it: every later deployment would fail.
    expect(deployment.resource.Properties.StageName).toBeUndefined();
    expect(deployment.resource.Properties.StageDescription).toBeUndefined();
    const stage = onlyOfType("AWS::ApiGateway::Stage").resource.Properties;
    expect(stage).toMatchObject({ StageName: "prod", DeploymentId: { Ref: deployment.id }, RestApiId: { Ref: "ApiGatewayRestApi" } });
    // API Gateway's method paths: each "/" of the path as "~1", after a leading "/".
    expect(stage.MethodSettings).toEqual([
      { HttpMethod: "*", ResourcePath: "/*", ThrottlingRateLimit: 200, ThrottlingBurstLimit: 400 },
      { HttpMethod: "POST", ResourcePath: "/~1genesys~11~1service~1{service}", ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
      {
        HttpMethod: "POST",
        ResourcePath: "/~1genesys~11~1service~1{service}~1ixn~1chat",
        ThrottlingRateLimit: 20,
        ThrottlingBurstLimit: 40,
      },
    ]);
  });

  it("reserves concurrency only for the functions a stage sets it for", () => {
    const reserved = (from: typeof resources) =>
      Object.fromEntries(ofType("AWS::Lambda::Function", from).map(([id, fn]) => [id, fn.Properties.ReservedConcurrentExecutions]));
    expect(Object.values(reserved(resources)).every((value) => value === undefined)).toBe(true);
    expect(reserved(switchedOn)).toEqual({
      RequestChatLambdaFunction: 50,
      ChatLambdaFunction: undefined,
      AgentLambdaFunction: undefined,
      AdminLambdaFunction: undefined,
      WebLambdaFunction: undefined,
      SeedLambdaFunction: undefined,
    });
  });

  it("admits each client address at the open routes' pace on prod by default (WAF), and at the stage's; blocking with a JSON 429; a parameter turns it off", () => {
    // The prod stage has it unless told otherwise.
    expect(onlyOfType("AWS::WAFv2::WebACL").resource.Properties.Rules.map((rule: { Name: string }) => rule.Name)).toEqual([
      "open-routes-per-client-ip",
      "rate-per-client-ip",
    ]);
    expect(Object.values(wafOff).filter((r) => r.Type.startsWith("AWS::WAFv2::"))).toEqual([]);
    const acl = onlyOfType("AWS::WAFv2::WebACL", switchedOn).resource;
    expect(acl.Properties.Scope).toBe("REGIONAL");
    expect(acl.Properties.DefaultAction).toEqual({ Allow: {} });
    const [open, any] = acl.Properties.Rules;
    // The open routes' rule comes first and counts only their calls: POST request-chat and create.
    expect(open.Priority).toBeLessThan(any.Priority);
    expect(open.Statement.RateBasedStatement).toMatchObject({ AggregateKeyType: "IP", Limit: 40 });
    const scope = open.Statement.RateBasedStatement.ScopeDownStatement.AndStatement.Statements;
    expect(scope[0].ByteMatchStatement).toMatchObject({
      FieldToMatch: { Method: {} },
      SearchString: "POST",
      PositionalConstraint: "EXACTLY",
    });
    const path = new RegExp(scope[1].RegexMatchStatement.RegexString);
    for (const opened of ["/prod/genesys/1/service/request-chat", "/genesys/1/service/3f2a/ixn/chat"]) expect(opened).toMatch(path);
    for (const other of [
      "/prod/genesys/1/service/3f2a/ixn/chat/send",
      "/prod/genesys/1/agent/anna/queue",
      "/prod/genesys/1/service/3f2a/ixn/chat/refresh",
    ]) {
      expect(other).not.toMatch(path);
    }
    expect(any.Statement.RateBasedStatement).toMatchObject({ AggregateKeyType: "IP", Limit: 500 });
    expect(any.Statement.RateBasedStatement.ScopeDownStatement).toBeUndefined();
    for (const rule of [open, any]) {
      const answer = rule.Action.Block.CustomResponse;
      expect(answer.ResponseCode).toBe(429);
      const headers = Object.fromEntries(answer.ResponseHeaders.map((h: { Name: string; Value: string }) => [h.Name, h.Value]));
      expect(headers).toMatchObject({ "Retry-After": expect.stringMatching(/^[1-9]\d*$/), "Access-Control-Allow-Origin": "*" });
      const body = acl.Properties.CustomResponseBodies[answer.CustomResponseBodyKey];
      expect(body.ContentType).toBe("APPLICATION_JSON");
      expect(Object.keys(JSON.parse(body.Content))).toEqual(["message", "exception"]);
    }

    const association = onlyOfType("AWS::WAFv2::WebACLAssociation", switchedOn).resource;
    expect(association.Properties.WebACLArn).toEqual({ "Fn::GetAtt": ["WafWebAcl", "Arn"] });
    expect(association.Properties.ResourceArn["Fn::Sub"]).toMatch(
      /:apigateway:\$\{AWS::Region\}::\/restapis\/\$\{ApiGatewayRestApi\}\/stages\/prod$/,
    );
    // The stage exists once its resource does. No usage plan: no method takes the API key alone.
    expect(association.DependsOn).toContain("ApiGatewayStage");
    expect(ofType("AWS::ApiGateway::UsagePlan")).toHaveLength(0);
  });

  it("gives the agents a user pool: username sign-in, a strong password, optional TOTP MFA, sign-up by admins only, kept when the stack goes", () => {
    const { id, resource: pool } = onlyOfType("AWS::Cognito::UserPool");
    expect(id).toBe("UserPool");
    expect(pool.DeletionPolicy).toBe("Retain");
    expect(pool.UpdateReplacePolicy).toBe("Retain");
    const properties = pool.Properties;
    expect(properties.UserPoolName).toBe("gms-chat-prod-agents");
    expect(properties.DeletionProtection).toBe("ACTIVE");
    // The username an admin chose: no email or phone as the username, nor as an alias.
    expect(properties.UsernameAttributes).toBeUndefined();
    expect(properties.AliasAttributes).toBeUndefined();
    expect(properties.UsernameConfiguration).toEqual({ CaseSensitive: false });
    expect(properties.Policies.PasswordPolicy).toMatchObject({
      RequireUppercase: true,
      RequireLowercase: true,
      RequireNumbers: true,
      RequireSymbols: true,
    });
    expect(properties.Policies.PasswordPolicy.MinimumLength).toBeGreaterThanOrEqual(12);
    expect(properties.MfaConfiguration).toBe("OPTIONAL");
    expect(properties.EnabledMfas).toEqual(["SOFTWARE_TOKEN_MFA"]);
    expect(properties.AdminCreateUserConfig).toEqual({ AllowAdminCreateUserOnly: true });
    expect(properties.AccountRecoverySetting).toEqual({ RecoveryMechanisms: [{ Name: "admin_only", Priority: 1 }] });
  });

  it("has the groups admin, supervisor and agent on that pool, kept with it", () => {
    const groups = ofType("AWS::Cognito::UserPoolGroup").map(([, group]) => group);
    expect(groups.map((group) => group.Properties.GroupName)).toEqual(["admin", "supervisor", "agent"]);
    for (const group of groups) {
      expect(group.Properties.UserPoolId).toEqual({ Ref: "UserPool" });
      expect(group.DeletionPolicy).toBe("Retain");
      expect(group.UpdateReplacePolicy).toBe("Retain");
    }
    // The lowest precedence wins when a person is in several: admin over supervisor over agent.
    const precedence = groups.map((group) => group.Properties.Precedence);
    expect([...precedence].sort((a, b) => a - b)).toEqual(precedence);
  });

  it("gives the console a public client: no secret, password (or SRP) sign-in and refresh, revocable, silent about unknown users", () => {
    const client = onlyOfType("AWS::Cognito::UserPoolClient").resource.Properties;
    expect(client.UserPoolId).toEqual({ Ref: "UserPool" });
    expect(client.GenerateSecret).toBe(false);
    expect([...client.ExplicitAuthFlows].sort()).toEqual(["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH"]);
    expect(client.EnableTokenRevocation).toBe(true);
    expect(client.PreventUserExistenceErrors).toBe("ENABLED");
    expect(client.SupportedIdentityProviders).toEqual(["COGNITO"]);
    expect(client.TokenValidityUnits).toEqual({ AccessToken: "minutes", IdToken: "minutes", RefreshToken: "hours" });
    // Tokens for a quarter to an hour, refreshed within a shift; a stage sets its own.
    expect(client).toMatchObject({ AccessTokenValidity: 30, IdTokenValidity: 30, RefreshTokenValidity: 10 });
    const switched = onlyOfType("AWS::Cognito::UserPoolClient", switchedOn).resource.Properties;
    expect(switched).toMatchObject({ AccessTokenValidity: 15, IdTokenValidity: 15, RefreshTokenValidity: 8 });
  });

  it("serves the WebSocket API from the push function, lets only the event writers, the router and it post to its connections, and outputs its address", () => {
    const routes = ofType("AWS::ApiGatewayV2::Route").map(([, route]) => route.Properties.RouteKey);
    expect(routes.sort()).toEqual(["$connect", "$default", "$disconnect"]);
    // Throttled like the REST stage, for every client together.
    expect(onlyOfType("AWS::ApiGatewayV2::Stage").resource.Properties.DefaultRouteSettings).toEqual({
      ThrottlingRateLimit: 100,
      ThrottlingBurstLimit: 200,
    });
    const posting: string[] = [];
    for (const [id, role] of ofType("AWS::IAM::Role")) {
      for (const policy of role.Properties.Policies ?? []) {
        for (const statement of policy.PolicyDocument.Statement) {
          if (![statement.Action].flat().includes("execute-api:ManageConnections")) continue;
          posting.push(id);
          expect(statement.Resource).toEqual({
            // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax, not a template string.
            "Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${WebsocketsApi}/prod/POST/@connections/*",
          });
        }
      }
    }
    expect(posting.sort()).toEqual(["AgentRole", "ChatRole", "PushRole", "RouterRole"]);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax, not a template string.
    expect(outputs.PushUrl.Value).toEqual({ "Fn::Sub": "wss://${WebsocketsApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/prod" });
    // The pages learn the same address from the web function, and no other function is told it.
    const told = ofType("AWS::Lambda::Function").filter(([, fn]) => fn.Properties.Environment?.Variables?.PUSH_URL !== undefined);
    expect(told.map(([id]) => id)).toEqual(["WebLambdaFunction"]);
    expect(resources.WebLambdaFunction.Properties.Environment.Variables.PUSH_URL).toEqual(outputs.PushUrl.Value);
  });

  it("outputs the pool id, the console's client id, the region and the issuer tokens carry", () => {
    expect(outputs.UserPoolId.Value).toEqual({ Ref: "UserPool" });
    expect(outputs.UserPoolClientId.Value).toEqual({ Ref: "UserPoolConsoleClient" });
    expect(outputs.UserPoolRegion.Value).toEqual({ Ref: "AWS::Region" });
    // Cognito's issuer, exactly as the tokens' iss: no trailing slash.
    expect(outputs.UserPoolIssuer.Value).toEqual({
      "Fn::Sub": expect.stringMatching(/^https:\/\/cognito-idp\.\$\{AWS::Region\}\.\$\{AWS::URLSuffix\}\/\$\{UserPool\}$/),
    });
  });

  it("refuses to package a malformed setting, with the parser's message", () => {
    expect(malformed.code).toBe(1);
    expect(malformed.output).toContain("CORS_ALLOWED_ORIGINS must be * or a comma-separated list of origins");
  });

  it("passes AWS's CloudFormation validator with no error and only the warnings docs/deploying.md accepts", async () => {
    const engine = new RegoEngine();
    try {
      const report = engine.validateStandard(new TemplateFile(switchedOnTemplate), {
        pseudoParameterOverrides: { accountId: "123456789012", region: "eu-west-1" },
      });
      const findings = report.diagnostics.map(
        (d) => `${d.severity} ${d.ruleId} ${d.entity?.resourceType ?? ""} ${d.entity?.logicalId ?? ""}: ${d.message}`,
      );
      expect(report.status, findings.join("\n")).toBe("OK");
      expect(findings.filter((f) => /^(ERROR|FATAL) /.test(f))).toEqual([]);
      const unaccepted = report.diagnostics.filter(
        (d) =>
          d.severity === "WARN" &&
          !ACCEPTED_WARNINGS.some((accepted) => accepted.rule === d.ruleId && accepted.resourceType === d.entity?.resourceType),
      );
      expect(unaccepted.map((d) => `${d.ruleId} ${d.entity?.logicalId}: ${d.message}`)).toEqual([]);
    } finally {
      engine.free();
    }
    const docs = await readFile(join(root, "docs/deploying.md"), "utf8");
    for (const { rule } of ACCEPTED_WARNINGS) expect(docs, `docs/deploying.md explains ${rule}`).toContain(rule);
  });

  it("passes the stage's allowed CORS origins to the functions", () => {
    for (const [, fn] of ofType("AWS::Lambda::Function")) {
      expect(fn.Properties.Environment.Variables.CORS_ALLOWED_ORIGINS).toBe("*");
    }
  });

  it("passes the stage's page API origins to the web function: none by default", () => {
    const functions = ofType("AWS::Lambda::Function").map(([, fn]) => fn.Properties);
    const web = functions.filter((fn) => fn.Environment.Variables.PAGE_API_ORIGINS !== undefined);
    expect(web.map((fn) => fn.Handler)).toEqual(["handlers/web.handler"]);
    expect(web[0].Environment.Variables.PAGE_API_ORIGINS).toBe("");
  });

  it("seeds the request-chat service through a custom resource on first deploy, waited for a minute at most", () => {
    const [[, seed]] = ofType("Custom::GmsDefaultService") as [[string, { Properties: Record<string, unknown> }]];
    expect(seed.Properties.ServiceToken).toEqual({ "Fn::GetAtt": ["SeedLambdaFunction", "Arn"] });
    // CloudFormation's default wait for an unanswered custom resource is an hour.
    const seedTimeout = resources.SeedLambdaFunction.Properties.Timeout;
    expect(seed.Properties.ServiceTimeout).toBeGreaterThan(seedTimeout);
    expect(seed.Properties.ServiceTimeout).toBeLessThanOrEqual(60);
  });
});
