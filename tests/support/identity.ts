import type { LocalStack } from "../../scripts/local/launch.ts";

/** The tokens a user of the local identity provider gets on signing in (as the console does: InitiateAuth over HTTP). */
export interface SignedIn {
  readonly accessToken: string;
  readonly refreshToken: string;
  /** `Authorization: Bearer <access token>`, for the agent and admin APIs. */
  readonly authorization: Record<string, string>;
}

export function cognito(stack: LocalStack, operation: string, body: object): Promise<Response> {
  return fetch(stack.identity.endpoint, {
    method: "POST",
    headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": `AWSCognitoIdentityProviderService.${operation}` },
    body: JSON.stringify(body),
  });
}

/** Signs `username` in with USER_PASSWORD_AUTH; fails the test unless the provider answers with tokens. */
export async function signIn(stack: LocalStack, username: string, password: string): Promise<SignedIn> {
  const answer = await cognito(stack, "InitiateAuth", {
    AuthFlow: "USER_PASSWORD_AUTH",
    ClientId: stack.identity.clientId,
    AuthParameters: { USERNAME: username, PASSWORD: password },
  });
  const body = (await answer.json()) as { AuthenticationResult?: { AccessToken?: string; RefreshToken?: string } };
  const accessToken = body.AuthenticationResult?.AccessToken;
  const refreshToken = body.AuthenticationResult?.RefreshToken;
  if (answer.status !== 200 || !accessToken || !refreshToken) throw new Error(`${username} could not sign in: ${answer.status}`);
  return { accessToken, refreshToken, authorization: { authorization: `Bearer ${accessToken}` } };
}

/** The default local users (scripts/local/identity.ts). */
export const LOCAL_USERS = {
  admin: ["admin", "Admin-local-1"],
  sam: ["sam", "Sam-local-1"],
  anna: ["anna", "Anna-local-1"],
  ben: ["ben", "Ben-local-1"],
} as const;
