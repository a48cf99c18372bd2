import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LONGEST_STORAGE_SEQUENCE as seed } from "../../lib/cloudformation/seed-resource.ts";
import { tableDefinitions } from "../../lib/dynamo/tables.ts";
import { worstCaseMs } from "../../lib/dynamo/worst-case.ts";
import { LONGEST_STORAGE_SEQUENCE as admin } from "../../lib/http/routes/admin.ts";
import { LONGEST_STORAGE_SEQUENCE as agent } from "../../lib/http/routes/agent.ts";
import { LONGEST_STORAGE_SEQUENCE as chat } from "../../lib/http/routes/chat.ts";
import { LONGEST_STORAGE_SEQUENCE as requestChat } from "../../lib/http/routes/request-chat.ts";
import { LONGEST_STORAGE_SEQUENCE as web } from "../../lib/http/routes/web.ts";
import { SERVERLESS_BIN, SERVERLESS_ENV } from "../../scripts/local/processes.ts";
import { stageTableNames } from "../../scripts/local/stack.ts";

/** `serverless package` with no AWS account and no network, and the CloudFormation it produces. */
const root = fileURLToPath(new URL("../..", import.meta.url));
/** Deploy-time settings a developer's shell may hold; the test checks their defaults. */
const DEPLOY_SETTINGS = new Set(["GMS_ADMIN_API_KEY", "CORS_ALLOWED_ORIGINS", "PAGE_API_ORIGINS"]);
let outDir: string;
// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is checked by assertions.
let resources: Record<string, any>;

beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), "gms-chat-package-"));
  const buildFolder = `.esbuild/package-${process.pid}`;
  // No AWS credentials, endpoint or admin key: packaging must not need any.
  const env: NodeJS.ProcessEnv = { ...SERVERLESS_ENV, GMS_BUILD_FOLDER: buildFolder };
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("AWS_") && !DEPLOY_SETTINGS.has(key) && !(key in env)) env[key] = value;
  }
  await promisify(execFile)(process.execPath, [SERVERLESS_BIN, "package", "--stage", "prod", "--package", outDir], {
    cwd: root,
    env,
  });
  await rm(join(root, buildFolder), { recursive: true, force: true });
  resources = JSON.parse(await readFile(join(outDir, "cloudformation-template-update-stack.json"), "utf8")).Resources;
});
afterAll(async () => {
  await rm(outDir, { recursive: true, force: true });
});

function ofType(type: string) {
  return Object.entries(resources).filter(([, resource]) => resource.Type === type);
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
    };
    expect(functions.map(([id]) => id).sort()).toEqual(Object.keys(sequences).sort());
    for (const [id, fn] of functions) {
      expect(fn.Properties.Runtime).toMatch(/^nodejs(2[2-9]|[3-9]\d)\.x$/);
      expect(fn.Properties.Architectures).toEqual(["arm64"]);
      expect(fn.Properties.Timeout).toBeLessThan(29);
      // Those calls must fit, with room to spare, even when each one exhausts its retries. What
      // takes more calls (an append under contention, a read past one page) starts no call that
      // could outlive the function (lib/dynamo/request-scope.ts; tests/integration/chat.test.ts).
      expect(worstCaseMs(sequences[id as keyof typeof sequences]), id).toBeLessThan(fn.Properties.Timeout * 1000 * 0.75);
    }
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
    expect(grants).toEqual({
      RequestChatRole: ["dynamodb:Query ConfigTable", "dynamodb:GetItem SessionsTable", "dynamodb:PutItem SessionsTable"],
      ChatRole: ["dynamodb:Query SessionsTable", "dynamodb:PutItem SessionsTable", "dynamodb:UpdateItem SessionsTable"],
      AgentRole: [
        "dynamodb:Query SessionsTable",
        "dynamodb:PutItem SessionsTable",
        "dynamodb:UpdateItem SessionsTable",
        "dynamodb:Query SessionsTable/index/queue",
        "dynamodb:GetItem ConfigTable",
        "dynamodb:PutItem ConfigTable",
        "dynamodb:DeleteItem ConfigTable",
      ],
      AdminRole: [
        "dynamodb:GetItem ConfigTable",
        "dynamodb:PutItem ConfigTable",
        "dynamodb:DeleteItem ConfigTable",
        "dynamodb:Query ConfigTable",
      ],
      SeedRole: ["dynamodb:PutItem ConfigTable"],
    });
    const roleOf = Object.fromEntries(ofType("AWS::Lambda::Function").map(([id, fn]) => [id, fn.Properties.Role["Fn::GetAtt"][0]]));
    expect(roleOf).toEqual({
      RequestChatLambdaFunction: "RequestChatRole",
      ChatLambdaFunction: "ChatRole",
      AgentLambdaFunction: "AgentRole",
      AdminLambdaFunction: "AdminRole",
      SeedLambdaFunction: "SeedRole",
      WebLambdaFunction: "WebRole",
    });
  });

  it("requires the API key on every admin and agent method, and on no customer route or preflight", () => {
    const methods = ofType("AWS::ApiGateway::Method").map(([, method]) => method.Properties);
    const backOffice = (m: { ResourceId: unknown }) => /Genesys1(Admin|Agent)/.test(JSON.stringify(m.ResourceId));
    for (const method of methods) {
      expect(method.ApiKeyRequired, `${method.HttpMethod} ${JSON.stringify(method.ResourceId)}`).toBe(
        backOffice(method) && method.HttpMethod !== "OPTIONS",
      );
    }
    expect(methods.filter((m) => backOffice(m) && m.HttpMethod !== "OPTIONS")).toHaveLength(6 + 8);
    // Every API resource answers the CORS preflight; the pages are plain GETs that need none.
    const pages = new Set(["ApiGatewayResourceChat", "ApiGatewayResourceAgent"].map((id) => JSON.stringify({ Ref: id })));
    expect(methods.filter((m) => pages.has(JSON.stringify(m.ResourceId))).map((m) => m.HttpMethod)).toEqual(["GET", "GET"]);
    const resources = new Set(methods.map((m) => JSON.stringify(m.ResourceId)).filter((id) => !pages.has(id)));
    const preflighted = new Set(methods.filter((m) => m.HttpMethod === "OPTIONS").map((m) => JSON.stringify(m.ResourceId)));
    expect(preflighted).toEqual(resources);
    const [[, key]] = ofType("AWS::ApiGateway::ApiKey") as [[string, { Properties: Record<string, unknown> }]];
    // No value in the template: AWS generates the key unless GMS_ADMIN_API_KEY is set at deploy time.
    expect(key.Properties).not.toHaveProperty("Value");
    expect(ofType("AWS::ApiGateway::UsagePlanKey")).toHaveLength(1);
  });

  it("gives errors made by API Gateway itself CORS headers and the GMS error shape", () => {
    const responses = ofType("AWS::ApiGateway::GatewayResponse").map(([, r]) => r.Properties);
    expect(responses.map((r) => r.ResponseType).sort()).toEqual(["DEFAULT_4XX", "DEFAULT_5XX"]);
    for (const response of responses) {
      expect(response.ResponseParameters["gatewayresponse.header.Access-Control-Allow-Origin"]).toBeDefined();
      expect(response.ResponseTemplates["application/json"]).toContain('"exception"');
    }
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

  it("seeds the request-chat service through a custom resource on first deploy", () => {
    const [[, seed]] = ofType("Custom::GmsDefaultService") as [[string, { Properties: Record<string, unknown> }]];
    expect(seed.Properties.ServiceToken).toEqual({ "Fn::GetAtt": ["SeedLambdaFunction", "Arn"] });
  });
});
