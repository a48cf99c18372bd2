/**
 * The request-chat handler a user would write first, to compare against: parse the form, put the
 * session with a TTL, answer the create-URL. No configuration, no availability check, no validation.
 * It exists only for `npm run bench`.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import { v4 as uuidv4 } from "uuid";

const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));

export const handler = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  const body = event.isBase64Encoded ? Buffer.from(event.body ?? "", "base64").toString() : (event.body ?? "");
  const data = Object.fromEntries(new URLSearchParams(body));
  const id = uuidv4();
  await client.send(
    new PutCommand({
      TableName: process.env.SESSIONS_TABLE,
      Item: { id, sk: "session", data, createdAt: new Date().toISOString(), expiresAt: Math.floor(Date.now() / 1000) + 3600 },
    }),
  );
  return {
    statusCode: 200,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ "_chatIxnAPI-CREATE-URL": `/genesys/1/service/${id}/ixn/chat`, _id: id }),
  };
};
