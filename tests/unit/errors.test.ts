import { describe, expect, it } from "vitest";
import * as domain from "../../lib/errors.ts";
import { DOMAIN_ERROR_ANSWERS, errorAnswer, HttpError, PayloadTooLargeError } from "../../lib/http/errors.ts";

/** The one table that maps the domain's failures to HTTP answers. */
describe("errorAnswer", () => {
  const classes = Object.values(domain).filter((value) => typeof value === "function" && value.prototype instanceof domain.DomainError);

  it("has a row for every error class of the domain", () => {
    expect(classes.length).toBeGreaterThan(5);
    const unmapped = classes.filter((type) => !DOMAIN_ERROR_ANSWERS.some(([mapped]) => mapped === type));
    expect(unmapped.map((type) => type.name)).toEqual([]);
  });

  it.each([
    [new domain.InvalidInputError("message must be text"), 400, "BadRequestException", {}],
    [new domain.UnknownServiceError(), 404, "NotFoundException", {}],
    [new domain.UnknownSessionError(), 404, "NotFoundException", {}],
    [new domain.NotYourChatError(), 403, "NotYourChatException", {}],
    [new domain.IdempotencyConflictError("used before"), 409, "IdempotencyKeyConflictException", {}],
    [new domain.ChatStateError("ended"), 409, "InvalidChatStateException", {}],
    [new domain.ChatTakenError(), 409, "ChatAlreadyAcceptedException", {}],
    [new domain.NoAgentAvailableError(), 503, "NoAgentAvailableException", { "Retry-After": "10" }],
    [new domain.StorageUnavailableError(new Error("timeout")), 503, "StorageUnavailableException", { "Retry-After": "2" }],
  ])("answers %s with its status, exception and message", (error, status, exception, headers) => {
    expect(errorAnswer(error)).toEqual({
      status,
      exception,
      message: error.message,
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
    });
  });

  it("answers the HTTP layer's own errors as they say", () => {
    expect(errorAnswer(new PayloadTooLargeError(10))).toEqual({
      status: 413,
      exception: "PayloadTooLargeException",
      message: "Request body exceeds the limit of 10 bytes",
    });
    expect(new PayloadTooLargeError(10)).toBeInstanceOf(HttpError);
  });

  it("answers anything else as a 500 that tells nothing", () => {
    expect(errorAnswer(new TypeError("secret detail"))).toEqual({
      status: 500,
      exception: "InternalServerException",
      message: "Internal server error",
    });
    expect(errorAnswer("a string")).toMatchObject({ status: 500 });
  });
});
