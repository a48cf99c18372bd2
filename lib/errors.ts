/**
 * Every way a domain operation can fail. They carry no HTTP: `lib/http/errors.ts` maps each class
 * to its status and GMS `exception` name in one table, and a test checks that every class here has
 * its row. Messages are written for the client and never quote its input.
 */
export abstract class DomainError extends Error {
  /** Written out, not taken from the class: the deployed bundles are minified, and logs name the error. */
  abstract override readonly name: string;
}

/** Input that breaks a rule: a field's format, a limit, an unknown key. */
export class InvalidInputError extends DomainError {
  override readonly name = "InvalidInputError";
}

/** request-chat or the admin API on a name that no configured service has. */
export class UnknownServiceError extends DomainError {
  override readonly name = "UnknownServiceError";
  constructor() {
    super("No basic chat service is configured with this name");
  }
}

/** A session id that is not one, was never opened, has expired or was cancelled. */
export class UnknownSessionError extends DomainError {
  override readonly name = "UnknownSessionError";
  constructor() {
    super("No live service with this id");
  }
}

/** A chat id that no chat has, or a chat that has expired or was erased (the agent API). */
export class UnknownChatError extends DomainError {
  override readonly name = "UnknownChatError";
  constructor() {
    super("No such chat: it may have ended and expired, or been erased");
  }
}

/** No availability notification is in force and no agent is ready on the service's endpoint. */
export class NoAgentAvailableError extends DomainError {
  override readonly name = "NoAgentAvailableError";
  constructor() {
    super("No agent is available; try again later");
  }
}

/** An Idempotency-Key reused for another request, or for a session that has ended. */
export class IdempotencyConflictError extends DomainError {
  override readonly name = "IdempotencyConflictError";
}

/** A chat call that its chat's phase does not allow (before create, after the end, before accept). */
export class ChatStateError extends DomainError {
  override readonly name = "ChatStateError";
}

/** An accept that another agent won. */
export class ChatTakenError extends DomainError {
  override readonly name = "ChatTakenError";
  constructor() {
    super("Another agent accepted this chat first");
  }
}

/** An agent acting on a chat that another agent accepted. */
export class NotYourChatError extends DomainError {
  override readonly name = "NotYourChatError";
  constructor() {
    super("This chat was accepted by another agent");
  }
}

/** The admin API on an agent that has no profile. */
export class UnknownAgentError extends DomainError {
  override readonly name = "UnknownAgentError";
  constructor() {
    super("No agent profile with this id");
  }
}

/**
 * An agent going ready without a profile, or on an endpoint its profile does not name: the message
 * says what to do.
 */
export class NotAssignedError extends DomainError {
  override readonly name = "NotAssignedError";
}

/** An agent taking a chat when it holds its `maxChats` already. */
export class AgentFullError extends DomainError {
  override readonly name = "AgentFullError";
  constructor(maxChats: number) {
    super(`You hold ${maxChats} chat${maxChats === 1 ? "" : "s"} (your profile's maxChats): finish one first`);
  }
}

/**
 * An agent answering an offer it does not hold (never made, withdrawn, expired, answered), or taking
 * a chat by hand from an endpoint that offers its chats.
 */
export class NoOfferError extends DomainError {
  override readonly name = "NoOfferError";
}

/** A supervisor reading a chat on an endpoint it does not oversee (lib/http/caller.ts says which it oversees). */
export class NotSupervisedError extends DomainError {
  override readonly name = "NotSupervisedError";
  constructor() {
    super("You do not supervise this chat's endpoint");
  }
}

/** A post into a chat whose transcript has reached its caps (lib/chat/transcript.ts). */
export class TranscriptFullError extends DomainError {
  override readonly name = "TranscriptFullError";
  constructor() {
    super("This chat has reached its size limit; start a new chat to go on");
  }
}

/** Storage could not be reached, timed out or throttled; `cause` keeps the adapter's error for the log. */
export class StorageUnavailableError extends DomainError {
  override readonly name = "StorageUnavailableError";
  constructor(cause: unknown) {
    super("The service is temporarily unavailable; try again later", { cause });
  }
}
