/**
 * Every way a domain operation can fail. They carry no HTTP: `lib/http/errors.ts` maps each class
 * to its status and GMS `exception` name in one table, and a test checks that every class here has
 * its row. Messages are written for the client and never quote its input.
 */
export abstract class DomainError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input that breaks a rule: a field's format, a limit, an unknown key. */
export class InvalidInputError extends DomainError {}

/** request-chat or the admin API on a name that no configured service has. */
export class UnknownServiceError extends DomainError {
  constructor() {
    super("No basic chat service is configured with this name");
  }
}

/** A session id that is not one, was never opened, has expired or was cancelled. */
export class UnknownSessionError extends DomainError {
  constructor() {
    super("No live service with this id");
  }
}

/** No availability notification is in force and no agent is ready on the service's endpoint. */
export class NoAgentAvailableError extends DomainError {
  constructor() {
    super("No agent is available; try again later");
  }
}

/** An Idempotency-Key reused for another request, or for a session that has ended. */
export class IdempotencyConflictError extends DomainError {}

/** A chat call that its chat's phase does not allow (before create, after the end, before accept). */
export class ChatStateError extends DomainError {}

/** An accept that another agent won. */
export class ChatTakenError extends DomainError {
  constructor() {
    super("Another agent accepted this chat first");
  }
}

/** An agent acting on a chat that another agent accepted. */
export class NotYourChatError extends DomainError {
  constructor() {
    super("This chat was accepted by another agent");
  }
}

/** Storage could not be reached, timed out or throttled; `cause` keeps the adapter's error for the log. */
export class StorageUnavailableError extends DomainError {
  constructor(cause: unknown) {
    super("The service is temporarily unavailable; try again later", { cause });
  }
}
