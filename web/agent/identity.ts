/**
 * The console's sign-in, on Cognito's own JSON protocol (no SDK): the same calls go to Amazon
 * Cognito deployed and to the local identity provider under `npm start`, whichever
 * `/agent/config.json` names. Passwords and tokens go there and nowhere else (the page's CSP allows
 * no other origin besides its own).
 */
export interface IdentityConfig {
  readonly region: string;
  readonly userPoolId: string;
  readonly clientId: string;
  /** Set where the identity provider is not Cognito itself (locally). */
  readonly endpoint?: string;
}

/** A signed-in agent's tokens. Kept in this tab only (session storage or memory), never in localStorage. */
export interface Tokens {
  /** The token's `username` claim: the agent id in the API's URLs. */
  readonly username: string;
  readonly accessToken: string;
  readonly refreshToken: string;
  /** When the access token expires, in ms since the epoch (this browser's clock). */
  readonly expiresAt: number;
}

/** The identity provider said no; `type` is its exception name (`NotAuthorizedException`...). */
export class SignInError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export type SignInAnswer =
  | { readonly tokens: Tokens }
  /** A temporary password: the user must choose a new one (`setNewPassword`) before signing in. */
  | { readonly newPasswordRequired: { readonly username: string; readonly session: string } };

interface AuthenticationResult {
  readonly AccessToken?: string;
  readonly RefreshToken?: string;
  readonly ExpiresIn?: number;
}

interface AuthAnswer {
  readonly AuthenticationResult?: AuthenticationResult;
  readonly ChallengeName?: string;
  readonly Session?: string;
}

const INCORRECT = "The user name or password is incorrect.";
const MESSAGES: Record<string, string> = {
  NotAuthorizedException: INCORRECT,
  UserNotFoundException: INCORRECT,
  PasswordResetRequiredException: "Your password must be reset: ask an administrator.",
  UserNotConfirmedException: "Your account is not confirmed yet: ask an administrator.",
  TooManyRequestsException: "Too many attempts: wait a moment and try again.",
  LimitExceededException: "Too many attempts: wait a moment and try again.",
};

export class Identity {
  constructor(private readonly config: IdentityConfig) {}

  private get url(): string {
    return `${this.config.endpoint ?? `https://cognito-idp.${this.config.region}.amazonaws.com`}/`;
  }

  /** One call of Cognito's JSON protocol; a refusal throws a SignInError with a message for the agent. */
  private async call<T>(operation: string, body: Record<string, unknown>, keepalive = false): Promise<T> {
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: "POST",
        headers: {
          "Content-Type": "application/x-amz-json-1.1",
          "X-Amz-Target": `AWSCognitoIdentityProviderService.${operation}`,
        },
        body: JSON.stringify({ ClientId: this.config.clientId, ...body }),
        keepalive,
      });
    } catch {
      throw new SignInError("NetworkError", "The sign-in service could not be reached.");
    }
    const answer = (await response.json().catch(() => ({}))) as { __type?: unknown; message?: unknown };
    if (response.ok) return answer as T;
    // `__type` may come as `prefix#NotAuthorizedException`.
    const type = String(answer.__type ?? `Http${response.status}`).replace(/^.*#/, "");
    const message =
      MESSAGES[type] ?? (typeof answer.message === "string" ? answer.message : `The sign-in service answered ${response.status}.`);
    throw new SignInError(type, message);
  }

  async signIn(username: string, password: string): Promise<SignInAnswer> {
    const answer = await this.call<AuthAnswer>("InitiateAuth", {
      AuthFlow: "USER_PASSWORD_AUTH",
      AuthParameters: { USERNAME: username, PASSWORD: password },
    }).catch((error: unknown) => {
      // Some Cognito-compatible providers say InvalidPasswordException for a wrong password here.
      if (error instanceof SignInError && error.type === "InvalidPasswordException") throw new SignInError(error.type, INCORRECT);
      throw error;
    });
    return this.signedIn(answer, username, undefined);
  }

  /** Answers NEW_PASSWORD_REQUIRED with the password the user chose. */
  async setNewPassword(username: string, session: string, newPassword: string): Promise<SignInAnswer> {
    const answer = await this.call<AuthAnswer>("RespondToAuthChallenge", {
      ChallengeName: "NEW_PASSWORD_REQUIRED",
      Session: session,
      ChallengeResponses: { USERNAME: username, NEW_PASSWORD: newPassword },
    });
    return this.signedIn(answer, username, undefined);
  }

  /** New tokens from the refresh token (which Cognito does not renew: the old one is kept). */
  async refresh(tokens: Tokens): Promise<Tokens> {
    const answer = await this.call<AuthAnswer>("InitiateAuth", {
      AuthFlow: "REFRESH_TOKEN_AUTH",
      AuthParameters: { REFRESH_TOKEN: tokens.refreshToken },
    });
    const signedIn = this.signedIn(answer, tokens.username, tokens.refreshToken);
    if (!("tokens" in signedIn)) throw new SignInError("ChallengeException", "Please sign in again.");
    return signedIn.tokens;
  }

  /** Revokes the refresh token (and the tokens made from it): sent even as the page goes away. */
  revoke(tokens: Tokens): Promise<void> {
    return this.call<unknown>("RevokeToken", { Token: tokens.refreshToken }, true).then(() => undefined);
  }

  private signedIn(answer: AuthAnswer, username: string, refreshToken: string | undefined): SignInAnswer {
    if (answer.ChallengeName === "NEW_PASSWORD_REQUIRED" && answer.Session !== undefined)
      return { newPasswordRequired: { username, session: answer.Session } };
    const result = answer.AuthenticationResult;
    const accessToken = result?.AccessToken;
    const refresh = result?.RefreshToken ?? refreshToken;
    if (accessToken === undefined || refresh === undefined) {
      throw new SignInError(answer.ChallengeName ?? "UnexpectedAnswer", "This sign-in needs a step the console does not offer.");
    }
    const claims = payload(accessToken);
    // From ExpiresIn, on this browser's clock (the token's `exp` is on the server's).
    const expiresAt = Date.now() + (result?.ExpiresIn ?? 3600) * 1000;
    return {
      tokens: {
        username: typeof claims.username === "string" ? claims.username : username,
        accessToken,
        refreshToken: refresh,
        expiresAt,
      },
    };
  }
}

/** A JWT's claims, read without checking its signature (the API checks it; the console only reads its own). */
function payload(token: string): Record<string, unknown> {
  try {
    const part = (token.split(".")[1] ?? "").replace(/-/g, "+").replace(/_/g, "/");
    const claims: unknown = JSON.parse(atob(part.padEnd(Math.ceil(part.length / 4) * 4, "=")));
    return claims !== null && typeof claims === "object" ? (claims as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
