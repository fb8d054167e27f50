// The claim names an app may choose: appIdClaim, userClaims and requestBindings,
// through the Worker and through the admin API.
import { describe, expect, it } from "vitest";
import {
  admin,
  claimsFor,
  enforcingRecord,
  expectFieldRefused,
  expectRejected,
  gateway,
  invalid,
  mintToken,
  newApp,
  nowSeconds,
  originCalls,
  uniqueAppId,
  useOriginRecorder,
  withToken,
} from "../helpers.ts";

useOriginRecorder();

/** A fresh enforcing app with `fields` added, and a call with a token of exactly `claims`. */
async function appWith(fields: Record<string, unknown>) {
  const appId = await newApp(enforcingRecord(fields));
  const call = async (claims: Record<string, unknown>, path = "/x", init: RequestInit = {}) =>
    gateway(`/app/${appId}${path}`, withToken(await mintToken(claims), init));
  const times = { iat: nowSeconds(), exp: nowSeconds() + 3600 };
  return { appId, call, times };
}

function forwardedUser(): string | undefined {
  expect(originCalls).toHaveLength(1);
  return originCalls[0]?.headers["x-auth-user-id"];
}

const json = (body: unknown): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

describe("userClaims", () => {
  it('["sub"]: the user is sub; userId alone no longer names one', async () => {
    const { appId, call, times } = await appWith({ userClaims: ["sub"] });
    expect((await call({ appId, sub: "u-7", userId: "ignored", ...times })).status).toBe(200);
    expect(forwardedUser()).toBe("u-7");
    originCalls.length = 0;
    await expectRejected(await call({ appId, userId: "u-7", ...times }), 401, invalid("PAYLOAD_CONTENT_MISSING"));
  });

  it.each([
    ["a number", 7],
    ["empty", ""],
    ["a list", ["u-7"]],
  ])("a user claim that is %s is 38 PAYLOAD_CONTENT_MISSING", async (_, sub) => {
    const { appId, call, times } = await appWith({ userClaims: ["sub"] });
    await expectRejected(await call({ appId, sub, ...times }), 401, invalid("PAYLOAD_CONTENT_MISSING"));
  });

  it("the first present claim in the app's order is X-Auth-User-Id", async () => {
    const { appId, call, times } = await appWith({ userClaims: ["customerId", "userId"] });
    expect((await call({ appId, userId: "u", customerId: "c", ...times })).status).toBe(200);
    expect(forwardedUser()).toBe("c");
    originCalls.length = 0;
    expect((await call({ appId, userId: "u", ...times })).status).toBe(200);
    expect(forwardedUser()).toBe("u");
  });

  it("a claim left out of userClaims is not an identity: appUserId alone is refused", async () => {
    const { appId, call, times } = await appWith({ userClaims: ["userId"] });
    await expectRejected(await call({ appId, appUserId: "a", ...times }), 401, invalid("PAYLOAD_CONTENT_MISSING"));
  });
});

describe("appIdClaim", () => {
  it('"tenant": the tenant claim must be the path appId, and appId is just another claim', async () => {
    const { appId, call, times } = await appWith({ appIdClaim: "tenant" });
    expect((await call({ tenant: appId, appId: "other", userId: "u", ...times })).status).toBe(200);
    originCalls.length = 0;
    await expectRejected(
      await call({ tenant: "other", appId, userId: "u", ...times }),
      401,
      invalid("IDENTIFIER_MISMATCH"),
    );
    await expectRejected(await call({ appId, userId: "u", ...times }), 401, invalid("PAYLOAD_CONTENT_MISSING"));
  });

  it("null with an issuer (Dotdigital style): no app claim; iss binds the token to the app", async () => {
    const { call, times } = await appWith({ appIdClaim: null, issuer: "https://backend.example", userClaims: ["sub"] });
    expect((await call({ iss: "https://backend.example", sub: "u", ...times })).status).toBe(200);
    expect(forwardedUser()).toBe("u");
    originCalls.length = 0;
    await expectRejected(
      await call({ iss: "https://evil.example", sub: "u", ...times }),
      401,
      invalid("IDENTIFIER_MISMATCH"),
    );
    await expectRejected(await call({ sub: "u", ...times }), 401, invalid("PAYLOAD_CONTENT_MISSING"));
  });

  it("null: a token for another app of the same issuer passes only if its audience does", async () => {
    const { call, times } = await appWith({ appIdClaim: null, audience: "app-a" });
    expect((await call({ aud: "app-a", userId: "u", ...times })).status).toBe(200);
    originCalls.length = 0;
    await expectRejected(await call({ aud: "app-b", userId: "u", ...times }), 401, invalid("IDENTIFIER_MISMATCH"));
  });
});

describe("requestBindings", () => {
  it('{"userId":"sub"}: the request field userId must equal sub', async () => {
    const fields = { userClaims: ["sub"], requestBindings: { userId: "sub" } };
    const { appId, call, times } = await appWith(fields);
    const claims = { appId, sub: "u-7", ...times };
    expect((await call(claims, "/x?userId=u-7")).status).toBe(200);
    originCalls.length = 0;
    await expectRejected(await call(claims, "/x?userId=u-8"), 401, invalid("IDENTIFIER_MISMATCH"));
    await expectRejected(await call(claims, "/x", json({ USERID: "u-8" })), 401, invalid("IDENTIFIER_MISMATCH"));
    await expectRejected(await call(claims, "/x?userId[]=u-7"), 400, {
      code: "BAD_REQUEST",
      status: "Identity field in bracket form in the query",
    });
  });

  it("binds only the fields it names: customerId is the origin's business then", async () => {
    const { appId, call, times } = await appWith({ requestBindings: { userId: "userId" } });
    const res = await call({ appId, userId: "u", customerId: "c", ...times }, "/x?customerId=someone-else");
    expect(res.status).toBe(200);
    expect(originCalls[0]?.url).toContain("customerId=someone-else");
  });

  it("a custom field binds to a custom claim, in the query and in bodies", async () => {
    const { appId, call, times } = await appWith({ requestBindings: { account: "acct" } });
    const claims = { appId, userId: "u", acct: "A1", ...times };
    expect((await call(claims, "/x?account=A1")).status).toBe(200);
    originCalls.length = 0;
    await expectRejected(await call(claims, "/x?Account=A2"), 401, invalid("IDENTIFIER_MISMATCH"));
    await expectRejected(await call(claims, "/x", json({ account: "A2" })), 401, invalid("IDENTIFIER_MISMATCH"));
    // A token without the claim cannot vouch for any value of the field.
    await expectRejected(
      await call({ appId, userId: "u", ...times }, "/x?account=A1"),
      401,
      invalid("IDENTIFIER_MISMATCH"),
    );
  });

  it("{}: nothing is bound, and the body streams to the origin unread and unchanged", async () => {
    const { appId, call, times } = await appWith({ requestBindings: {} });
    const body = '{"userId":"someone-else","userId":"twice"}';
    const res = await call({ appId, userId: "u", ...times }, "/x?userId=other", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    expect(res.status).toBe(200);
    expect(originCalls[0]?.body).toBe(body);
  });

  it("the default still binds userId, appUserId and customerId", async () => {
    const { appId, call, times } = await appWith({});
    await expectRejected(
      await call({ appId, userId: "u", ...times }, "/x?customerId=c"),
      401,
      invalid("IDENTIFIER_MISMATCH"),
    );
  });
});

describe("the admin API", () => {
  it("stores the three fields and shows them in the view", async () => {
    const appId = uniqueAppId();
    const fields = {
      appIdClaim: null,
      audience: "sdk",
      userClaims: ["sub", "userId"],
      requestBindings: { userId: "sub", account: "acct" },
    };
    const res = await admin(`/apps/${appId}`, { method: "PUT", body: JSON.stringify(enforcingRecord(fields)) });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ appId, ...fields });
    const read = await admin(`/apps/${appId}`);
    expect(await read.json()).toMatchObject(fields);
  });

  it.each([
    ["appIdClaim", ""],
    ["appIdClaim", 5],
    ["appIdClaim", "__proto__"],
    ["appIdClaim", "x\u0000"],
    ["appIdClaim", "c".repeat(129)],
    ["userClaims", []],
    ["userClaims", "sub"],
    ["userClaims", ["sub", "sub"]],
    ["userClaims", ["a", "b", "c", "d", "e", "f"]],
    ["userClaims", [""]],
    ["requestBindings", []],
    ["requestBindings", { "user id": "sub" }],
    ["requestBindings", { "userId[]": "sub" }],
    ["requestBindings", { userId: "" }],
    ["requestBindings", { userId: 1 }],
    ["requestBindings", { userId: "sub", USERID: "sub" }],
    ["requestBindings", { a: "a", b: "b", c: "c", d: "d", e: "e", f: "f" }],
  ])("answers 400 to %s = %j, naming the field, and writes nothing", expectFieldRefused);

  it("refuses appIdClaim null without an issuer or audience: nothing would bind tokens to the app", async () => {
    const appId = uniqueAppId();
    const res = await admin(`/apps/${appId}`, {
      method: "PUT",
      body: JSON.stringify(enforcingRecord({ appIdClaim: null })),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ errors: [{ path: "appIdClaim" }] });
  });

  it("a PATCH changes the claims at once: a token that passed is refused after it", async () => {
    const appId = uniqueAppId();
    await admin(`/apps/${appId}`, { method: "PUT", body: JSON.stringify(enforcingRecord()) });
    const token = await mintToken(claimsFor(appId));
    expect((await gateway(`/app/${appId}/x`, withToken(token))).status).toBe(200);
    originCalls.length = 0;
    const patch = await admin(`/apps/${appId}`, { method: "PATCH", body: JSON.stringify({ userClaims: ["sub"] }) });
    expect(patch.status).toBe(200);
    await expectRejected(await gateway(`/app/${appId}/x`, withToken(token)), 401, invalid("PAYLOAD_CONTENT_MISSING"));
  });
});
