import { corsPolicy } from "./cors.ts";
import { pageApiOrigins } from "./page-origins.ts";

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
