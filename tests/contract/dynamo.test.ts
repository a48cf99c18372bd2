import { startTestDynamo } from "../support/dynamo.ts";
import { storeContract } from "./contract.ts";

storeContract("DynamoDB (dynalite)", async () => {
  const db = await startTestDynamo();
  return { stores: db, close: () => db.close() };
});
