import { consoleClientId, consoleIdentityEndpoint, consoleRegion, consoleUserPoolId } from "./console-identity.ts";
import { corsPolicy } from "./cors.ts";
import { pageApiOrigins } from "./page-origins.ts";
import { pushUrl } from "./push-url.ts";

/**
 * A stage's setting that the functions read from their environment, with the parser they read it
 * with (it throws a message naming the setting and the form it must take).
 */
export interface StageSetting {
  readonly name: string;
  readonly parse: (value: string | undefined) => unknown;
}

/**
 * Every such setting. `serverless package` and `deploy` (and `npm start`) run each parser on the
 * resolved configuration (scripts/deploy/plugin.ts), so a malformed value fails the deployment
 * rather than the running stage. A new setting is one line here.
 */
export const STAGE_SETTINGS: readonly StageSetting[] = [
  { name: "CORS_ALLOWED_ORIGINS", parse: corsPolicy },
  { name: "PAGE_API_ORIGINS", parse: pageApiOrigins },
  // The console's sign-in (the web function). A deployed pool's ids are CloudFormation references,
  // which exist only once deployed: the plugin leaves those out here, and the function checks all
  // four together at its init (consoleIdentityFromEnv).
  { name: "CONSOLE_IDENTITY_REGION", parse: consoleRegion },
  { name: "CONSOLE_USER_POOL_ID", parse: consoleUserPoolId },
  { name: "CONSOLE_CLIENT_ID", parse: consoleClientId },
  { name: "CONSOLE_IDENTITY_ENDPOINT", parse: consoleIdentityEndpoint },
  // The pages' push address (the web function): deployed, a reference to the WebSocket API, checked
  // at the function's init; under `npm start`, serverless-offline's WebSocket port.
  { name: "PUSH_URL", parse: pushUrl },
];

/** The parsers' messages for the malformed settings of one function's environment, each naming its setting. */
export function settingProblems(environment: Readonly<Record<string, string | undefined>>): string[] {
  const problems: string[] = [];
  for (const setting of STAGE_SETTINGS) {
    try {
      setting.parse(environment[setting.name]);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      problems.push(message.includes(setting.name) ? message : `${setting.name}: ${message}`);
    }
  }
  return problems;
}
