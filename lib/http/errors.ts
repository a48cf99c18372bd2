import {
  AgentFullError,
  ChatStateError,
  ChatTakenError,
  type DomainError,
  IdempotencyConflictError,
  InvalidInputError,
  NoAgentAvailableError,
  NoOfferError,
  NotAssignedError,
  NotSupervisedError,
  NotYourChatError,
  StorageUnavailableError,
  TranscriptFullError,
  UnknownAgentError,
  UnknownChatError,
  UnknownServiceError,
  UnknownSessionError,
} from "../errors.ts";

/**
 * How every failure reaches the client: the HTTP status, the `exception` name of the GMS error body
 * (`{"message", "exception"}`) and any headers. Failures of the HTTP layer itself (a body it cannot
 * read, a path or method it does not serve) are `HttpError`s; the domain's errors (lib/errors.ts)
 * are mapped by the table below, in one place. Anything else is a bug: a 500 whose details stay in
 * the log.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly exception: string,
    message: string,
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.name = exception;
  }
}

/**
 * No valid credentials: no `Authorization: Bearer` access token (or, on the admin API, no valid
 * API key), or one that is malformed, expired, tampered with, or from another pool or client. The
 * challenge names the scheme (RFC 6750); the reason is the token check's, never the token.
 */
export class UnauthorizedError extends HttpError {
  constructor(message: string, error: "invalid_request" | "invalid_token" = "invalid_token") {
    super(401, "UnauthorizedException", message, { "WWW-Authenticate": `Bearer realm="gms", error="${error}"` });
  }
}

/** Valid credentials without the right: another agent's id, or a route the person's role does not open. */
export class AccessDeniedError extends HttpError {
  constructor(message: string) {
    super(403, "AccessDeniedException", message);
  }
}

export class BadRequestError extends HttpError {
  constructor(message: string) {
    super(400, "BadRequestException", message);
  }
}

export class NotFoundError extends HttpError {
  constructor(message: string) {
    super(404, "NotFoundException", message);
  }
}

export class MethodNotAllowedError extends HttpError {
  constructor() {
    super(405, "MethodNotAllowedException", "This method is not allowed on this path");
  }
}

export class PayloadTooLargeError extends HttpError {
  constructor(limitBytes: number) {
    super(413, "PayloadTooLargeException", `Request body exceeds the limit of ${limitBytes} bytes`);
  }
}

export class UnsupportedMediaTypeError extends HttpError {
  constructor(message = "Unsupported content type: send application/x-www-form-urlencoded, multipart/form-data or application/json") {
    super(415, "UnsupportedMediaTypeException", message);
  }
}

/** What a client sees of a failure. */
export interface ErrorAnswer {
  readonly status: number;
  readonly exception: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** After "no agent", a client should wait a little before asking again; after a storage fault, less. */
const NO_AGENT_RETRY_AFTER_SECONDS = 10;
const STORAGE_RETRY_AFTER_SECONDS = 2;

type DomainErrorClass = abstract new (...args: never[]) => DomainError;

/** Each domain error class, and how it answers (a test checks that every class of lib/errors.ts has its row). */
export const DOMAIN_ERROR_ANSWERS: ReadonlyArray<readonly [DomainErrorClass, ErrorAnswer]> = [
  [InvalidInputError, { status: 400, exception: "BadRequestException" }],
  [UnknownServiceError, { status: 404, exception: "NotFoundException" }],
  [UnknownSessionError, { status: 404, exception: "NotFoundException" }],
  [UnknownChatError, { status: 404, exception: "NotFoundException" }],
  [NotYourChatError, { status: 403, exception: "NotYourChatException" }],
  [NotSupervisedError, { status: 403, exception: "AccessDeniedException" }],
  // Its own name: the console keeps the agent signed in and shows the message (web/agent/main.ts).
  [NotAssignedError, { status: 403, exception: "NotAssignedException" }],
  [UnknownAgentError, { status: 404, exception: "NotFoundException" }],
  [AgentFullError, { status: 409, exception: "AgentFullException" }],
  [NoOfferError, { status: 409, exception: "NoOfferException" }],
  [IdempotencyConflictError, { status: 409, exception: "IdempotencyKeyConflictException" }],
  [ChatStateError, { status: 409, exception: "InvalidChatStateException" }],
  [ChatTakenError, { status: 409, exception: "ChatAlreadyAcceptedException" }],
  [TranscriptFullError, { status: 409, exception: "ChatTranscriptFullException" }],
  [
    NoAgentAvailableError,
    { status: 503, exception: "NoAgentAvailableException", headers: { "Retry-After": String(NO_AGENT_RETRY_AFTER_SECONDS) } },
  ],
  [
    StorageUnavailableError,
    { status: 503, exception: "StorageUnavailableException", headers: { "Retry-After": String(STORAGE_RETRY_AFTER_SECONDS) } },
  ],
];

/** The answer to a failure and the message the client may see: 5xx details never leave the server. */
export function errorAnswer(error: unknown): ErrorAnswer & { readonly message: string } {
  if (error instanceof HttpError)
    return {
      status: error.status,
      exception: error.exception,
      message: error.message,
      ...(error.headers ? { headers: error.headers } : {}),
    };
  for (const [type, answer] of DOMAIN_ERROR_ANSWERS) {
    if (error instanceof type) return { ...answer, message: error.message };
  }
  return { status: 500, exception: "InternalServerException", message: "Internal server error" };
}
