import { describe, expect, it } from "vitest";
import { storageFailure } from "../../lib/dynamo/client.ts";
import { StorageUnavailableError } from "../../lib/errors.ts";

function awsError(name: string): Error {
  return Object.assign(new Error("from AWS"), { name, $metadata: { httpStatusCode: 400, attempts: 3 } });
}

describe("storageFailure", () => {
  it.each([
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "InternalServerError",
    "TimeoutError",
    "ResourceNotFoundException",
  ])("turns %s from DynamoDB or the network into a 503", (name) => {
    const mapped = storageFailure(awsError(name));
    expect(mapped).toBeInstanceOf(StorageUnavailableError);
    expect((mapped as StorageUnavailableError).cause).toMatchObject({ name });
  });

  it.each(["ValidationException", "ConditionalCheckFailedException"])("keeps %s a bug (500)", (name) => {
    const error = awsError(name);
    expect(storageFailure(error)).toBe(error);
  });

  it("keeps errors thrown before anything was sent a bug (500)", () => {
    const error = new TypeError("Cannot convert object to primitive value");
    expect(storageFailure(error)).toBe(error);
  });
});
