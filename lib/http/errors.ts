/**
 * Typed errors a request can end in. Each carries the HTTP status and the `exception` name of the
 * GMS error body (`{"message", "exception"}`); `lib/http/respond.ts` maps them to responses in one
 * place. Messages are written for the client and never contain raw input.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly exception: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = exception;
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
  constructor(
    message = "Unsupported content type: send application/x-www-form-urlencoded, multipart/form-data or application/json",
  ) {
    super(415, "UnsupportedMediaTypeException", message);
  }
}

class ServiceUnavailableError extends HttpError {
  constructor(exception: string, message: string, retryAfterSeconds: number, options?: ErrorOptions) {
    super(503, exception, message, { "Retry-After": String(retryAfterSeconds) }, options);
  }
}

/** 503 when no agent-availability notification is in force for the service's chat endpoint. */
const NO_AGENT_RETRY_AFTER_SECONDS = 10;
export class NoAgentAvailableError extends ServiceUnavailableError {
  constructor() {
    super("NoAgentAvailableException", "No agent is available; try again later", NO_AGENT_RETRY_AFTER_SECONDS);
  }
}

/** 503 when DynamoDB cannot be reached, times out or throttles; `cause` keeps the SDK error for the log. */
const STORAGE_RETRY_AFTER_SECONDS = 2;
export class StorageUnavailableError extends ServiceUnavailableError {
  constructor(cause: unknown) {
    super(
      "StorageUnavailableException",
      "The service is temporarily unavailable; try again later",
      STORAGE_RETRY_AFTER_SECONDS,
      { cause },
    );
  }
}
