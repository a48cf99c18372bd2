import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { settingProblems } from "../../lib/http/settings.ts";
import { identitySettingProblems } from "../../lib/identity/config.ts";

/**
 * The service's own Serverless Framework plugin (serverless.yml lists it as scripts/deploy/plugin.cjs):
 *
 * - `serverless package` and `deploy` (and `npm start`) check every stage setting of
 *   lib/http/settings.ts, and the identity settings of lib/identity/config.ts, with the parser the functions use, so a malformed value stops the
 *   deployment with the parser's message instead of breaking the running stage.
 * - Stage throttling: the framework creates API Gateway's stage through its deployment resource,
 *   whose logical ID changes on every deployment, and a deployment cannot change a stage that
 *   exists; this makes the stage a resource of its own (`ApiGatewayStage`, pointed at each new
 *   deployment) with `custom.stage.throttling` as its method settings, and makes what waited for
 *   the deployment, and the resources named in `custom.stage.dependents` (the WAF association, on
 *   stages that have it), wait for the stage.
 * - `${number:...}` variables, for the stage's numbers (params) in `resources`.
 * - serverless-offline: the admin key's value (GMS_ADMIN_API_KEY, which `npm start` sets) is given
 *   to the local admin authorizer only, never to a template; the authorizers get the local identity
 *   provider's issuer, keys and client, and run on every request (see configureOffline); the Lambda invoke API listens on a Unix socket in a
 *   private folder, not on a TCP port that web pages could reach.
 */

type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; DependsOn?: string | string[] }> };

interface Throttle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

interface StageConfig {
  readonly throttling: Throttle & { readonly methods?: readonly (Throttle & { readonly method: string; readonly path: string })[] };
  readonly dependents?: readonly string[];
}

interface HttpEvent {
  readonly http?: {
    readonly method: string;
    readonly path: string;
    readonly authorizer?: string | { name?: string; identitySource?: string; resultTtlInSeconds?: number };
  };
}

interface Serverless {
  readonly service: {
    readonly custom: { readonly stage: StageConfig };
    readonly provider: {
      readonly environment?: Record<string, unknown>;
      readonly compiledCloudFormationTemplate: Template;
    };
    readonly functions: Record<string, { environment?: Record<string, unknown>; readonly events?: readonly HttpEvent[] }>;
  };
  readonly classes: { readonly Error: new (message: string) => Error };
}

/** The authorizers' view of the user pool, which `npm start` sets from its local identity provider. */
const IDENTITY_VARIABLES = ["IDENTITY_ISSUER", "IDENTITY_JWKS_URI", "IDENTITY_CLIENT_ID"] as const;

/** The API's stage (see configureStage). */
const STAGE_ID = "ApiGatewayStage";

export default class GmsChatPlugin {
  readonly hooks: Record<string, () => void>;
  /**
   * `${number:${param:x}}`: a stage's number as a number. Values given with `--param` are text,
   * which the framework's schema turns into numbers for its own keys but not inside `resources`.
   */
  readonly configurationVariablesSources = {
    number: {
      resolve: ({ address }: { address: string | number }) => {
        if (!/^\d+(\.\d+)?$/.test(String(address).trim())) this.fail(`"${address}" is not a number, where serverless.yml expects one`);
        return { value: Number(address) };
      },
    },
  };

  constructor(
    private readonly serverless: Serverless,
    private readonly options: Record<string, unknown>,
  ) {
    this.hooks = {
      "before:package:initialize": () => this.checkSettings(),
      "before:deploy:function:initialize": () => this.checkSettings(),
      "after:aws:package:finalize:mergeCustomProviderResources": () => this.configureStage(),
      "before:offline:start:init": () => {
        this.configureOffline();
        this.checkSettings();
      },
    };
  }

  private fail(message: string): never {
    throw new this.serverless.classes.Error(message);
  }

  private checkSettings(): void {
    const { provider, functions } = this.serverless.service;
    const problems = new Set<string>();
    for (const fn of Object.values(functions)) {
      // A CloudFormation reference (`!Ref UserPool`) has a value only once deployed: it is left out
      // here, and the function checks it at its init.
      const environment = Object.fromEntries(
        Object.entries({ ...provider.environment, ...fn.environment })
          // CloudFormation intrinsics (the user pool's issuer and client) are known only once deployed.
          .filter(([, value]) => typeof value !== "object" || value === null)
          .map(([name, value]) => [name, value == null ? undefined : String(value)]),
      );
      // The identity settings are the identity adapter's (lib/identity/config.ts), which the edge's
      // list may not import; they are checked together, as the three name one pool and client.
      for (const problem of [...settingProblems(environment), ...identitySettingProblems(environment)]) problems.add(problem);
    }
    if (problems.size > 0) this.fail(`Invalid stage settings:\n  ${[...problems].join("\n  ")}`);
  }

  private configureStage(): void {
    const { custom, functions, provider } = this.serverless.service;
    const resources = provider.compiledCloudFormationTemplate.Resources;
    const deployments = Object.keys(resources).filter((id) => resources[id]?.Type === "AWS::ApiGateway::Deployment");
    if (deployments.length !== 1) this.fail(`Expected one API Gateway deployment in the template, found ${deployments.length}`);
    const [deploymentId] = deployments as [string];
    const deployment = resources[deploymentId] as { Properties: Record<string, unknown> };
    const { StageName: stageName, RestApiId: restApiId } = deployment.Properties;
    if (typeof stageName !== "string") this.fail("Expected the API Gateway deployment to name its stage");

    // The framework drops the leading "/" of event paths as it compiles them.
    const route = (method: string, path: string) => `${method.toUpperCase()} /${path.replace(/^\//, "")}`;
    const routes = new Set(
      Object.values(functions).flatMap((fn) =>
        (fn.events ?? []).flatMap((event) => (event.http ? [route(event.http.method, event.http.path)] : [])),
      ),
    );
    const { rateLimit, burstLimit, methods = [] } = custom.stage.throttling;
    // The stage as a resource of its own, pointed at each new deployment: a deployment can describe
    // a stage only when it creates it, and CloudFormation refuses a StageDescription for a stage
    // that exists, which every deployment after the first would meet.
    delete deployment.Properties.StageName;
    resources[STAGE_ID] = {
      Type: "AWS::ApiGateway::Stage",
      Properties: {
        RestApiId: restApiId,
        StageName: stageName,
        DeploymentId: { Ref: deploymentId },
        MethodSettings: [
          // "*" and "/*": every method of the stage, unless a later entry names it.
          { HttpMethod: "*", ResourcePath: "/*", ThrottlingRateLimit: rateLimit, ThrottlingBurstLimit: burstLimit },
          ...methods.map(({ method, path, ...throttle }) => {
            if (!routes.has(route(method, path))) this.fail(`custom.stage.throttling: ${method} ${path} is not a route of the API`);
            // API Gateway's method paths escape each "/" as "~1" after a leading "/".
            return {
              HttpMethod: method.toUpperCase(),
              ResourcePath: `/${path.replaceAll("/", "~1")}`,
              ThrottlingRateLimit: throttle.rateLimit,
              ThrottlingBurstLimit: throttle.burstLimit,
            };
          }),
        ],
      },
    };

    // A method names its authorizer by Ref already; the framework's DependsOn on it repeats that.
    for (const resource of Object.values(resources)) {
      const authorizerId = (resource.Properties?.AuthorizerId as { Ref?: string } | undefined)?.Ref;
      if (resource.Type !== "AWS::ApiGateway::Method" || authorizerId === undefined || resource.DependsOn === undefined) continue;
      const dependsOn = [resource.DependsOn].flat().filter((id) => id !== authorizerId);
      if (dependsOn.length === 0) delete resource.DependsOn;
      else resource.DependsOn = dependsOn;
    }

    // What waited for the deployment to have its stage (the usage plan of the admin key), and
    // what attaches to the stage (the WAF association), waits for the stage.
    for (const [id, resource] of Object.entries(resources)) {
      const dependsOn = [resource.DependsOn ?? []].flat();
      if (id !== STAGE_ID && (dependsOn.includes(deploymentId) || custom.stage.dependents?.includes(id))) {
        resource.DependsOn = [...new Set([...dependsOn, STAGE_ID])];
      }
    }
  }

  private configureOffline(): void {
    const { functions } = this.serverless.service;
    const authorizers = new Set<string>();
    for (const fn of Object.values(functions)) {
      // The authorizers always answer (lib/http/authorizer.ts); serverless-offline would answer a
      // request without the identity source itself, with its own body and no CORS, so locally the
      // authorizer runs on every request, uncached, and the function gives the one 401.
      for (const event of fn.events ?? []) {
        const authorizer = event.http?.authorizer;
        if (typeof authorizer === "object") {
          delete authorizer.identitySource;
          authorizer.resultTtlInSeconds = 0;
          if (authorizer.name !== undefined) authorizers.add(authorizer.name);
        }
      }
      // The pool's intrinsics mean nothing to serverless-offline ("[object Object]"): the local
      // identity provider's plain values instead, and the local key in place of the key's id.
      const environment = fn.environment;
      if (environment === undefined) continue;
      for (const name of IDENTITY_VARIABLES) {
        if (typeof environment[name] === "object") environment[name] = process.env[name] ?? "";
      }
      // The WebSocket API's addresses: serverless-offline's WebSocket port (`npm start` sets both).
      // `npm start` names them (its WebSocket port's door, scripts/local/websocket.ts), with the
      // secret its Management API asks for; a bare `serverless offline` serves them itself.
      const websocketPort = process.env.WEBSOCKET_PORT ?? this.options.websocketPort ?? 3001;
      if (typeof environment.PUSH_MANAGEMENT_URL === "object") {
        environment.PUSH_MANAGEMENT_URL = process.env.PUSH_MANAGEMENT_URL ?? `http://localhost:${websocketPort}`;
      }
      if (environment.PUSH_MANAGEMENT_URL !== undefined && process.env.PUSH_MANAGEMENT_SECRET) {
        environment.PUSH_MANAGEMENT_SECRET = process.env.PUSH_MANAGEMENT_SECRET;
      }
      if (typeof environment.PUSH_URL === "object") environment.PUSH_URL = process.env.PUSH_URL ?? `ws://localhost:${websocketPort}`;
      if (typeof environment.ADMIN_API_KEY_ID === "object") {
        delete environment.ADMIN_API_KEY_ID;
        environment.ADMIN_API_KEY = process.env.GMS_ADMIN_API_KEY ?? "";
      }
    }
    // serverless-offline answers an authorizer's failure with its own bare 401, where API Gateway's
    // AUTHORIZER_FAILURE answer is a 503 to retry: uncached, an authorizer may hand a failure to the
    // function instead (lib/http/authorizer.ts), which answers that 503.
    for (const name of authorizers) {
      const fn = functions[name];
      if (fn !== undefined) fn.environment = { ...fn.environment, AUTHORIZER_UNCACHED: "true" };
    }
    // `npm start` passes its own socket (scripts/local/processes.ts); this covers a bare `serverless offline`.
    if (this.options.lambdaPort === undefined) {
      const folder = mkdtempSync(join(tmpdir(), "gms-chat-lambda-"));
      process.once("exit", () => rmSync(folder, { recursive: true, force: true }));
      this.options.lambdaPort = join(folder, "invoke.sock");
    }
  }
}
