import { describe, expect, it } from "vitest";
import {
  expectRejected,
  gateway,
  gatewayWith,
  invalid,
  newSession,
  originCalls,
  useOriginRecorder,
  withToken,
} from "../helpers.ts";

useOriginRecorder();

function post(token: string, contentType: string, body: BodyInit): RequestInit {
  return withToken(token, { method: "POST", headers: { "content-type": contentType }, body });
}

const BAD_REQUEST = (status: string) => ({ code: "BAD_REQUEST", status });

describe("identity in the query", () => {
  it("forwards when every named identity is the token's", async () => {
    const { appId, token } = await newSession({ customerId: "12345" });
    const res = await gateway(`/app/${appId}/x?userId=user-1&UserID2=x&customerid=12345`, withToken(token));
    expect(res.status).toBe(200);
    expect(originCalls).toHaveLength(1);
  });

  it.each([
    ["another userId", "userId=user-2"],
    ["another userId, name in another case", "USERID=user-2"],
    ["a claim the token lacks", "appUserId=user-1"],
    ["an encoded name", "%75serId=user-2"],
    ["an empty value", "userId="],
  ])("answers 38 IDENTIFIER_MISMATCH to %s", async (_, query) => {
    const { appId, token } = await newSession({ customerId: "12345" });
    await expectRejected(
      await gateway(`/app/${appId}/x?${query}`, withToken(token)),
      401,
      invalid("IDENTIFIER_MISMATCH"),
    );
  });

  it.each([
    ["userId=user-1&userId=user-2", "userId given more than once in the query"],
    ["userId=user-1&UserId=user-1", "userId given more than once in the query"],
    ["userId[]=user-2", "Identity field in bracket form in the query"],
    ["userId[0]=user-2", "Identity field in bracket form in the query"],
    ["userId=%E0%A4%A", "Invalid percent-encoding in the query"],
  ])("answers 400 to %s", async (query, status) => {
    const { appId, token } = await newSession({ customerId: "12345" });
    await expectRejected(await gateway(`/app/${appId}/x?${query}`, withToken(token)), 400, BAD_REQUEST(status));
  });
});

describe("identity in the body", () => {
  it("forwards a matching JSON body byte for byte", async () => {
    const { appId, token } = await newSession({ customerId: "12345" });
    const body = '{"userId":"user-1","customerId":12345,"text":"héllo"}';
    const res = await gateway(`/app/${appId}/x`, post(token, "application/json; charset=utf-8", body));
    expect(res.status).toBe(200);
    expect(originCalls[0]?.body).toBe(body);
    expect(originCalls[0]?.method).toBe("POST");
  });

  it.each([
    ["application/json", '{"userId":"user-2"}'],
    ["application/json", '{"appUserId":"user-1"}'],
    ["application/json", '{"customerId":12345.0}'],
    ["application/vnd.api+json", '{"UserId":"admin"}'],
    ["application/x-www-form-urlencoded", "a=1&userId=admin"],
  ])("answers 38 IDENTIFIER_MISMATCH to %s %s", async (type, body) => {
    const { appId, token } = await newSession({ customerId: "12345" });
    await expectRejected(
      await gateway(`/app/${appId}/x`, post(token, type, body)),
      401,
      invalid("IDENTIFIER_MISMATCH"),
    );
  });

  it("checks multipart form fields", async () => {
    const { appId, token } = await newSession({ customerId: "12345" });
    const form = new FormData();
    form.append("note", "hi");
    form.append("userId", "admin");
    const init = withToken(token, { method: "POST", body: form });
    await expectRejected(await gateway(`/app/${appId}/x`, init), 401, invalid("IDENTIFIER_MISMATCH"));
  });

  it.each([
    ["application/json", '{"userId":"user-1","userId":"admin"}', "userId given more than once in the body"],
    ["application/json", '{"userId":"user-1","USERID":"admin"}', "userId given more than once in the body"],
    ["application/json", '{"userId":{"$ne":null}}', "userId in the body must be a string or a number"],
    ["application/json", '{"userId":true}', "userId in the body must be a string or a number"],
    ["application/json", '{"userId":"user-1",}', "Request body is not valid JSON"],
    ["application/json", '\ufeff{"userId":"user-1"}', "Request body is not valid JSON"],
    ["application/x-www-form-urlencoded", "userId[]=admin", "Identity field in bracket form in the body"],
    ["application/json, text/plain", "{}", "More than one Content-Type"],
  ])("answers 400 to %s %s", async (type, body, status) => {
    const { appId, token } = await newSession({ customerId: "12345" });
    await expectRejected(await gateway(`/app/${appId}/x`, post(token, type, body)), 400, BAD_REQUEST(status));
  });

  it("answers 415 to a compressed body it would have to inspect", async () => {
    const { appId, token } = await newSession({ customerId: "12345" });
    const init = withToken(token, {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
      body: new Uint8Array([0x1f, 0x8b, 8, 0]),
    });
    await expectRejected(await gateway(`/app/${appId}/x`, init), 415, {
      code: "UNSUPPORTED_MEDIA_TYPE",
      status: "Request body has a Content-Encoding the gateway cannot inspect",
    });
  });

  it("answers 413 to an inspected body over MAX_BODY_BYTES", async () => {
    const { appId, token } = await newSession({ customerId: "12345" });
    const body = JSON.stringify({ userId: "user-1", pad: "x".repeat(200) });
    const res = await gatewayWith({ MAX_BODY_BYTES: "100" }, `/app/${appId}/x`, post(token, "application/json", body));
    await expectRejected(res, 413, { code: "PAYLOAD_TOO_LARGE", status: "Request body too large to inspect" });
    const stream = new Blob([body]).stream();
    const chunked = await gatewayWith({ MAX_BODY_BYTES: "100" }, `/app/${appId}/x`, {
      ...post(token, "application/json", stream),
      duplex: "half",
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(originCalls).toHaveLength(0);
  });

  it("forwards other media types and empty bodies uninspected", async () => {
    const { appId, token } = await newSession({ customerId: "12345" });
    const text = await gateway(`/app/${appId}/x`, post(token, "text/plain", '{"userId":"admin"}'));
    expect(text.status).toBe(200);
    const empty = await gateway(`/app/${appId}/x`, post(token, "application/json", ""));
    expect(empty.status).toBe(200);
    expect(originCalls.map((call) => call.body)).toEqual(['{"userId":"admin"}', ""]);
  });
});
