/**
 * Tokens exactly as the vendors' sample code makes them (the pages in ../shared/seeds: imiconnect's
 * "Setup JWT", Dotdigital's "Create a JWT" with its jjwt, Swift/Objective-C and jsrsasign samples,
 * MoEngage's "JWT authentication"), each accepted by the record recipe of docs/migrating.md and
 * refused without it, with the wire answer and the log line's `detail` the page documents. The
 * recipes are the PUT bodies of docs/migrating.md: the last test holds the page to them.
 */

import { SignJWT } from "jose";
import { KJUR } from "jsrsasign";
import { describe, expect, it } from "vitest";
import migratingPage from "../../docs/migrating.md?raw";
import {
  admin,
  captureLogs,
  expectRejected,
  gateway,
  INVALID,
  invalid,
  nowSeconds,
  originCalls,
  signRaw,
  testKeyPair,
  toBase64,
  uniqueAppId,
  useOriginRecorder,
  withToken,
} from "../helpers.ts";

useOriginRecorder();

type Json = Record<string, unknown>;

const encoder = new TextEncoder();
const DAY_SECONDS = 86_400;
const DAY_MS = DAY_SECONDS * 1000;

// ---------------------------------------------------------------------------------------------
// The recipes (docs/migrating.md shows them with the placeholders of `PLACEHOLDERS`)
// ---------------------------------------------------------------------------------------------

/** imiconnect: the v1 record. The secret is base64 of at least 32 bytes, and the key is those bytes. */
function imiconnectRecipe(secret: string): Json {
  return { jwtEnabled: true, secret };
}

/** imiconnect, for a backend that signs with the base64 text itself (the "secret base64 encode" box unticked). */
function imiconnectTypedRecipe(secret: string): Json {
  return { jwtEnabled: true, secret, secretEncoding: "utf8" };
}

const DD_ISSUER = "https://api.comapi.com/defaultauth";
const DD_AUDIENCE = "https://api.comapi.com";

/** Dotdigital, day one: every one of its samples passes unchanged. */
function dotdigitalRecipe(secret: string): Json {
  return {
    enforcement: "enforce",
    secret,
    secretEncoding: "utf8",
    issuer: DD_ISSUER,
    audience: DD_AUDIENCE,
    appIdClaim: null,
    userClaims: ["sub"],
    requestBindings: { userId: "sub" },
    requireNonce: true,
    acceptMillisecondTimestamps: true,
  };
}

/** Dotdigital, later: the PATCH once the backend sends seconds (31 days: see the lifetime tests). */
const DOTDIGITAL_TIGHTEN: Json = {
  acceptMillisecondTimestamps: false,
  requireExp: true,
  maxTokenLifetimeSeconds: 31 * DAY_SECONDS,
};

const MOE_ISSUER = "https://backend.example.com";

/** MoEngage: the app's RSA public key (the private key stays on its server), the user as `sub`. */
function moengageRecipe(publicKey: string): Json {
  return {
    enforcement: "enforce",
    keys: [{ alg: "RS256", publicKey }],
    issuer: MOE_ISSUER,
    appIdClaim: null,
    userClaims: ["sub"],
    requestBindings: { userId: "sub" },
    requireExp: true,
  };
}

/** The stand-ins docs/migrating.md writes where a test puts a real secret or key. */
const PLACEHOLDERS = {
  base64Secret: "YOUR-BASE64-SECRET",
  sharedSecret: "YOUR-SHARED-SECRET",
  /** jq's `$pem` (the PEM file read with `--rawfile`), quoted so the page's body parses as JSON. */
  pem: "$pem",
} as const;

/** The bodies docs/migrating.md sends, in its order. */
const DOCUMENTED_BODIES: Json[] = [
  imiconnectRecipe(PLACEHOLDERS.base64Secret),
  imiconnectTypedRecipe(PLACEHOLDERS.base64Secret),
  dotdigitalRecipe(PLACEHOLDERS.sharedSecret),
  DOTDIGITAL_TIGHTEN,
  moengageRecipe(PLACEHOLDERS.pem),
];

// ---------------------------------------------------------------------------------------------
// Calling the gateway
// ---------------------------------------------------------------------------------------------

/** Writes `record` through the admin API (`201`) and answers the new appId and the view. */
async function putApp(record: Json, prefix = "VS"): Promise<{ appId: string; view: Json }> {
  const appId = uniqueAppId(prefix);
  const res = await admin(`/apps/${appId}`, { method: "PUT", body: JSON.stringify(record) });
  const view = (await res.json()) as Json;
  expect({ status: res.status, view }).toMatchObject({ status: 201 });
  return { appId, view };
}

/** A PUT the admin API refuses: its `400` answer. */
async function putRefused(record: Json): Promise<Json> {
  const res = await admin(`/apps/${uniqueAppId("VS")}`, { method: "PUT", body: JSON.stringify(record) });
  expect(res.status).toBe(400);
  return (await res.json()) as Json;
}

/** A challenge nonce from the gateway, as an SDK asks for one before it has a token. */
async function newNonce(appId: string): Promise<string> {
  const res = await gateway(`/.well-known/edge-authenticator/apps/${appId}/nonce`, { method: "POST" });
  const body = (await res.json()) as { nonce: string; expiresIn: number; required: boolean };
  expect({ status: res.status, expiresIn: body.expiresIn, required: body.required }).toEqual({
    status: 200,
    expiresIn: 300,
    required: true,
  });
  return body.nonce;
}

/** Sends `token` to an SDK route of `appId`. */
function call(appId: string, token: string, path = "/push/session", init: RequestInit = {}): Promise<Response> {
  return gateway(`/app/${appId}${path}`, withToken(token, init));
}

/** The request was forwarded, for user `user`. */
async function expectForwarded(res: Response, user: string): Promise<void> {
  expect({ status: res.status, forwarded: originCalls.length }).toEqual({ status: 200, forwarded: 1 });
  expect(originCalls[0]?.headers["x-auth-user-id"]).toBe(user);
  await res.body?.cancel();
  originCalls.length = 0;
}

/**
 * `send` is refused with exactly `status` and `body` on the wire (never forwarded), and logs one
 * `rejected` line whose `detail` is `detail`; the detail itself never reaches the wire.
 */
async function expectRefused(send: () => Promise<Response>, status: number, body: Json, detail: string) {
  const logs = captureLogs();
  let res: Response;
  try {
    res = await send();
  } finally {
    logs.restore();
  }
  const text = await res.clone().text();
  await expectRejected(res, status, body);
  expect(text).not.toContain(detail);
  expect(logs.lines().filter((line) => line.event === "rejected")).toEqual([
    expect.objectContaining({ code: body.code, ...(body.reason ? { reason: body.reason } : {}), detail }),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Minting as the samples do
// ---------------------------------------------------------------------------------------------

/** Java's `String.hashCode`. */
function javaStringHash(text: string): number {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (Math.imul(31, hash) + text.charCodeAt(i)) | 0;
  return hash;
}

/**
 * The order a `java.util.HashMap` iterates (and Jackson serializes) its entries: by bucket,
 * `(h ^ h >>> 16) & (capacity − 1)` with the default capacity 16 (fewer than 13 entries), then
 * in insertion order within a bucket. jjwt 0.9 wraps the sample's maps as they are, so this is
 * the order of the header's and the payload's members.
 */
function javaHashMapOrder(entries: [string, unknown][]): [string, unknown][] {
  const bucket = (name: string) => {
    const hash = javaStringHash(name);
    return (hash ^ (hash >>> 16)) & 15;
  };
  return entries
    .map((entry, index) => ({ entry, index, bucket: bucket(entry[0]) }))
    .sort((a, b) => a.bucket - b.bucket || a.index - b.index)
    .map(({ entry }) => entry);
}

/** `android.util.Base64.encodeToString(data, Base64.DEFAULT)`: lines of 76 characters, each ending in `\n`. */
function androidBase64Default(bytes: Uint8Array): string {
  return `${(toBase64(bytes).match(/.{1,76}/g) ?? []).join("\n")}\n`;
}

/** What jjwt's `signWith(alg, String base64EncodedSecretKey)` signs with: the text base64-decoded (line breaks skipped). */
function jjwtKeyBytes(base64EncodedSecretKey: string): Uint8Array {
  return Uint8Array.from(atob(base64EncodedSecretKey.replace(/\s/g, "")), (char) => char.charCodeAt(0));
}

interface AndroidToken {
  readonly token: string;
  readonly headerJson: string;
  readonly payloadJson: string;
}

/**
 * Dotdigital's Android sample (jjwt): header `{typ}` plus jjwt's `alg`, claims `nonce`, `sub`,
 * `aud`, `iss`, `iat` = `System.currentTimeMillis()` and `exp` = another call to it plus
 * `TimeUnit.DAYS.toMillis(30)`, both Java `long`s of milliseconds; signed with the secret's
 * UTF-8 bytes, base64-encoded by the sample and decoded again by jjwt.
 */
async function mintAndroid(
  secret: string,
  claims: { nonce?: string; sub: string; aud?: string; iss?: string },
  nowMs = Date.now(),
): Promise<AndroidToken> {
  const base64Secret = androidBase64Default(encoder.encode(secret));
  const header: [string, unknown][] = [["typ", "JWT"]];
  header.push(["alg", "HS256"]);
  const payload: [string, unknown][] = [];
  if (claims.nonce !== undefined) payload.push(["nonce", claims.nonce]);
  payload.push(["sub", claims.sub]);
  payload.push(["aud", claims.aud ?? DD_AUDIENCE]);
  payload.push(["iss", claims.iss ?? DD_ISSUER]);
  payload.push(["iat", nowMs]);
  // The sample reads the clock again for exp: a millisecond may have passed.
  payload.push(["exp", nowMs + 1 + 30 * DAY_MS]);
  const headerJson = JSON.stringify(Object.fromEntries(javaHashMapOrder(header)));
  const payloadJson = JSON.stringify(Object.fromEntries(javaHashMapOrder(payload)));
  return { token: await signRaw(headerJson, payloadJson, jjwtKeyBytes(base64Secret)), headerJson, payloadJson };
}

/**
 * Dotdigital's iOS sample (Objective-C and Swift `JWT`): `iat` and `exp` are `timeIntervalSince1970`,
 * doubles with microseconds; exp is 30 calendar days later (`lifetimeSeconds`: 30 days ± an hour
 * across a daylight saving change); the key is `secret.data(using: .utf8)`. NSDictionary has no
 * member order; this one is the literal's.
 */
function mintIos(
  secret: string,
  claims: { nonce: string; sub: string },
  lifetimeSeconds = 30 * DAY_SECONDS,
): Promise<string> {
  const iat = nowSeconds() - 1 + 0.123456;
  const headerJson = JSON.stringify({ typ: "JWT", alg: "HS256" });
  const payloadJson = JSON.stringify({
    nonce: claims.nonce,
    sub: claims.sub,
    iss: DD_ISSUER,
    aud: DD_AUDIENCE,
    iat,
    exp: iat + lifetimeSeconds,
  });
  expect(payloadJson).toMatch(/"iat":\d{10}\.\d+,"exp":\d{10}\.\d+\}$/);
  return signRaw(headerJson, payloadJson, encoder.encode(secret));
}

/**
 * Dotdigital's JavaScript sample, with the npm package jsrsasign itself: `KJUR.jws.JWS.sign` over
 * `JSON.stringify`'d header and payload, `IntDate` seconds, exp a day later. `key` is what the
 * sample passes: `{utf8: secret}` as Dotdigital says, or the bare string (the hex pitfall).
 */
function mintJsrsasign(key: string | { utf8: string }, claims: { nonce: string; sub: string }): string {
  const oHeader = { alg: "HS256", typ: "JWT" };
  const tNow = KJUR.jws.IntDate.get("now");
  const tEnd = KJUR.jws.IntDate.get("now + 1day");
  const oPayload = { sub: claims.sub, nonce: claims.nonce, aud: DD_AUDIENCE, iss: DD_ISSUER, iat: tNow, exp: tEnd };
  return KJUR.jws.JWS.sign("HS256", JSON.stringify(oHeader), JSON.stringify(oPayload), key);
}

// ---------------------------------------------------------------------------------------------
// imiconnect
// ---------------------------------------------------------------------------------------------

describe("imiconnect (Setup JWT): appId and userId claims, a base64 secret of 32 bytes or more", () => {
  const keyBytes = Uint8Array.from({ length: 32 }, (_, i) => (i * 73 + 41) & 0xff);
  const secret = toBase64(keyBytes);
  const SAMPLE_USER = "67deb017-5038-4832-a6b9-aa7e00987b6f";
  const HEADER = '{"alg":"HS256","typ":"JWT"}';

  /** The page's sample payload, member for member, with `exp` (and the user) as given. */
  function samplePayload(appId: string, exp: number, user: Json = { userId: SAMPLE_USER }): string {
    return JSON.stringify({ exp, appId, ...user });
  }

  it("the sample token passes the default v1 record, on the sample's route with its body", async () => {
    const { appId, view } = await putApp(imiconnectRecipe(secret), "TR");
    expect(view).toMatchObject({ enforcement: "enforce", secretEncoding: "base64" });
    const token = await signRaw(HEADER, samplePayload(appId, nowSeconds() + 3600, { userId: "2315" }), keyBytes);
    const body = JSON.stringify({ clientId: `${appId}/2315/v2_22315c49b793ad39`, userId: "2315" });
    const init = { method: "POST", headers: { "content-type": "application/json" }, body };
    await expectForwarded(await gateway(`/rtmsAPI/api/v1/app/${appId}/setuserid`, withToken(token, init)), "2315");
    // The body naming another user than the token is refused.
    const other = { ...init, body: JSON.stringify({ clientId: `${appId}/2316/x`, userId: "2316" }) };
    await expectRefused(
      () => gateway(`/rtmsAPI/api/v1/app/${appId}/setuserid`, withToken(token, other)),
      401,
      invalid("IDENTIFIER_MISMATCH"),
      "user_mismatch_json",
    );
  });

  it("appUserId or customerId instead of userId pass as well (the page's 'either appUserId or customerId')", async () => {
    const { appId } = await putApp(imiconnectRecipe(secret), "TR");
    for (const user of [{ appUserId: "a-1" }, { customerId: "c-1" }]) {
      const token = await signRaw(HEADER, samplePayload(appId, nowSeconds() + 3600, user), keyBytes);
      await expectForwarded(await call(appId, token), Object.values(user)[0] as string);
    }
  });

  it("the page's own sample exp (1584525821, March 2020) is 40 TOKEN_EXPIRED, detail exp_passed", async () => {
    const { appId } = await putApp(imiconnectRecipe(secret), "TR");
    const token = await signRaw(HEADER, samplePayload(appId, 1584525821), keyBytes);
    const logs = captureLogs();
    let res: Response;
    try {
      res = await call(appId, token);
    } finally {
      logs.restore();
    }
    const body = (await res.json()) as { serverTime: number };
    expect({ status: res.status, body }).toEqual({
      status: 401,
      body: { code: "40", status: "Token expired", reason: "TOKEN_EXPIRED", serverTime: expect.any(Number) },
    });
    expect(Math.abs(body.serverTime - nowSeconds())).toBeLessThanOrEqual(1);
    expect(logs.lines().find((line) => line.event === "rejected")).toMatchObject({ detail: "exp_passed" });
  });

  it("a payload without userId, appUserId or customerId is 38 PAYLOAD_CONTENT_MISSING, detail user_claim_missing", async () => {
    const { appId } = await putApp(imiconnectRecipe(secret), "TR");
    const token = await signRaw(HEADER, samplePayload(appId, nowSeconds() + 3600, {}), keyBytes);
    await expectRefused(() => call(appId, token), 401, invalid("PAYLOAD_CONTENT_MISSING"), "user_claim_missing");
  });

  it("another app's appId is 38 IDENTIFIER_MISMATCH, detail app_id_mismatch", async () => {
    const { appId } = await putApp(imiconnectRecipe(secret), "TR");
    const token = await signRaw(HEADER, samplePayload("TR21063826", nowSeconds() + 3600), keyBytes);
    await expectRefused(() => call(appId, token), 401, invalid("IDENTIFIER_MISMATCH"), "app_id_mismatch");
  });

  it("a backend signing with the base64 text as typed needs secretEncoding utf8; else signature_mismatch", async () => {
    const typed = await putApp(imiconnectTypedRecipe(secret), "TR");
    const token = (appId: string) => signRaw(HEADER, samplePayload(appId, nowSeconds() + 3600), encoder.encode(secret));
    await expectForwarded(await call(typed.appId, await token(typed.appId)), SAMPLE_USER);
    const decoded = await putApp(imiconnectRecipe(secret), "TR");
    await expectRefused(
      async () => call(decoded.appId, await token(decoded.appId)),
      401,
      invalid("INVALID_SIGNATURE"),
      "signature_mismatch",
    );
  });

  it("a secret under 32 bytes before encoding is refused by the admin API, as the page requires", async () => {
    expect(await putRefused(imiconnectRecipe(toBase64(keyBytes.subarray(0, 31))))).toEqual({
      code: "BAD_REQUEST",
      status: "Invalid request",
      errors: [{ path: "secret", message: "key must be at least 32 bytes" }],
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Dotdigital
// ---------------------------------------------------------------------------------------------

/** A shared secret as typed into a push notification profile: not base64 (`:`, `.`, `!`). */
const DD_SECRET = "dd-push:Shared.secret/for-the-demo-app!";
/** Another, made only of base64 letters: it decodes as base64, to other bytes than its UTF-8. */
const DD_LETTERS_SECRET = "PushProfileSharedSecretForTheDemoApp2026xyz0";

describe("Dotdigital Android sample (jjwt): milliseconds, and the key the base64 round trip gives back", () => {
  it("is minted as jjwt writes it: the HashMap member order, Java longs of milliseconds", async () => {
    const nowMs = 1_796_000_000_123;
    const { headerJson, payloadJson } = await mintAndroid(DD_SECRET, { nonce: "n", sub: "u-7" }, nowMs);
    expect(headerJson).toBe('{"typ":"JWT","alg":"HS256"}');
    expect(payloadJson).toBe(
      `{"sub":"u-7","aud":"${DD_AUDIENCE}","iss":"${DD_ISSUER}","exp":${nowMs + 1 + 30 * DAY_MS},"nonce":"n","iat":${nowMs}}`,
    );
    // jjwt decodes the sample's base64Secret back to the secret's UTF-8 bytes: that is the key.
    expect(jjwtKeyBytes(androidBase64Default(encoder.encode(DD_SECRET)))).toEqual(encoder.encode(DD_SECRET));
  });

  it("passes the recipe with a nonce from the gateway; the SDK repeating its token passes too", async () => {
    const { appId } = await putApp(dotdigitalRecipe(DD_SECRET));
    const { token } = await mintAndroid(DD_SECRET, { nonce: await newNonce(appId), sub: "u-7" });
    await expectForwarded(await call(appId, token), "u-7");
    await expectForwarded(await call(appId, token, "/push/profile"), "u-7");
  });

  it("without acceptMillisecondTimestamps: 38 TIME_CONSTRAINT_FAILURE, detail timestamp_in_milliseconds", async () => {
    const { acceptMillisecondTimestamps: _, ...record } = dotdigitalRecipe(DD_SECRET);
    const { appId } = await putApp(record);
    const { token } = await mintAndroid(DD_SECRET, { nonce: await newNonce(appId), sub: "u-7" });
    await expectRefused(() => call(appId, token), 401, invalid("TIME_CONSTRAINT_FAILURE"), "timestamp_in_milliseconds");
  });

  it("without secretEncoding utf8, a secret that is no base64 is refused by the admin API with the hint", async () => {
    const { secretEncoding: _, ...record } = dotdigitalRecipe(DD_SECRET);
    expect(await putRefused(record)).toEqual({
      code: "BAD_REQUEST",
      status: "Invalid request",
      errors: [
        {
          path: "secret",
          message:
            'base64 secret must use one alphabet, standard or URL-safe, and padding only at the end (if this is a passphrase or hex string, set secretEncoding: "utf8")',
        },
      ],
    });
  });

  it("without secretEncoding utf8, a secret of base64 letters decodes to other bytes: signature_mismatch", async () => {
    const { secretEncoding: _, ...record } = dotdigitalRecipe(DD_LETTERS_SECRET);
    const { appId } = await putApp(record);
    const { token } = await mintAndroid(DD_LETTERS_SECRET, { nonce: await newNonce(appId), sub: "u-7" });
    await expectRefused(() => call(appId, token), 401, invalid("INVALID_SIGNATURE"), "signature_mismatch");
  });

  it("the sample's base64Secret stored as base64 is the same key (one fingerprint); with Android's line break it is refused", async () => {
    const base64Secret = androidBase64Default(encoder.encode(DD_SECRET));
    const typed = await putApp(dotdigitalRecipe(DD_SECRET));
    const decoded = await putApp({
      ...dotdigitalRecipe(base64Secret.trimEnd()),
      secretEncoding: "base64",
    });
    expect(decoded.view.secretFingerprint).toBe(typed.view.secretFingerprint);
    const { token } = await mintAndroid(DD_SECRET, { nonce: await newNonce(decoded.appId), sub: "u-7" });
    await expectForwarded(await call(decoded.appId, token), "u-7");
    expect(await putRefused({ ...dotdigitalRecipe(base64Secret), secretEncoding: "base64" })).toMatchObject({
      errors: [{ path: "secret", message: expect.stringMatching(/^base64 secret must not contain whitespace/) }],
    });
  });
});

describe("Dotdigital claims: iss, aud, sub, nonce (the record recipe, field by field)", () => {
  it("without appIdClaim null: 38 PAYLOAD_CONTENT_MISSING, detail app_id_claim_missing", async () => {
    const { appIdClaim: _, ...record } = dotdigitalRecipe(DD_SECRET);
    const { appId } = await putApp(record);
    const { token } = await mintAndroid(DD_SECRET, { nonce: await newNonce(appId), sub: "u-7" });
    await expectRefused(() => call(appId, token), 401, invalid("PAYLOAD_CONTENT_MISSING"), "app_id_claim_missing");
  });

  it('without userClaims ["sub"]: 38 PAYLOAD_CONTENT_MISSING, detail user_claim_missing', async () => {
    const { userClaims: _, ...record } = dotdigitalRecipe(DD_SECRET);
    const { appId } = await putApp(record);
    const { token } = await mintAndroid(DD_SECRET, { nonce: await newNonce(appId), sub: "u-7" });
    await expectRefused(() => call(appId, token), 401, invalid("PAYLOAD_CONTENT_MISSING"), "user_claim_missing");
  });

  it("appIdClaim null without issuer and audience is refused by the admin API", async () => {
    const { issuer: _i, audience: _a, ...record } = dotdigitalRecipe(DD_SECRET);
    expect(await putRefused(record)).toMatchObject({ code: "BAD_REQUEST", errors: [{ path: "appIdClaim" }] });
  });

  it("another profile's iss or aud is 38 IDENTIFIER_MISMATCH, detail iss_mismatch / aud_mismatch", async () => {
    const { appId } = await putApp(dotdigitalRecipe(DD_SECRET));
    const iss = "https://api.comapi.com/otherauth";
    const aud = "https://api.example.com";
    await expectRefused(
      async () => call(appId, (await mintAndroid(DD_SECRET, { nonce: await newNonce(appId), sub: "u-7", iss })).token),
      401,
      invalid("IDENTIFIER_MISMATCH"),
      "iss_mismatch",
    );
    await expectRefused(
      async () => call(appId, (await mintAndroid(DD_SECRET, { nonce: await newNonce(appId), sub: "u-7", aud })).token),
      401,
      invalid("IDENTIFIER_MISMATCH"),
      "aud_mismatch",
    );
  });

  it('requestBindings {"userId":"sub"}: the request may name its own user; without it, that is user_mismatch_query', async () => {
    const { appId } = await putApp(dotdigitalRecipe(DD_SECRET));
    const { token } = await mintAndroid(DD_SECRET, { nonce: await newNonce(appId), sub: "u-7" });
    await expectForwarded(await call(appId, token, "/push/profile?userId=u-7"), "u-7");
    await expectRefused(
      () => call(appId, token, "/push/profile?userId=u-8"),
      401,
      invalid("IDENTIFIER_MISMATCH"),
      "user_mismatch_query",
    );
    const { requestBindings: _, ...record } = dotdigitalRecipe(DD_SECRET);
    const unbound = await putApp(record);
    const other = await mintAndroid(DD_SECRET, { nonce: await newNonce(unbound.appId), sub: "u-7" });
    await expectRefused(
      () => call(unbound.appId, other.token, "/push/profile?userId=u-7"),
      401,
      invalid("IDENTIFIER_MISMATCH"),
      "user_mismatch_query",
    );
  });

  it("requireNonce: a token without a nonce is 38 PAYLOAD_CONTENT_MISSING, detail nonce_missing", async () => {
    const { appId } = await putApp(dotdigitalRecipe(DD_SECRET));
    const { token } = await mintAndroid(DD_SECRET, { sub: "u-7" });
    await expectRefused(() => call(appId, token), 401, invalid("PAYLOAD_CONTENT_MISSING"), "nonce_missing");
  });

  it("requireNonce: a nonce this gateway did not issue for the app is 38 IDENTIFIER_MISMATCH, detail nonce_invalid", async () => {
    const { appId } = await putApp(dotdigitalRecipe(DD_SECRET));
    const other = await putApp(dotdigitalRecipe(DD_SECRET));
    // Dotdigital's own servers' nonce, and a nonce this gateway issued for another app.
    for (const nonce of [crypto.randomUUID(), await newNonce(other.appId)]) {
      const { token } = await mintAndroid(DD_SECRET, { nonce, sub: "u-7" });
      await expectRefused(() => call(appId, token), 401, invalid("IDENTIFIER_MISMATCH"), "nonce_invalid");
    }
  });

  it("requireNonce: a second token with the same nonce is 38 IDENTIFIER_MISMATCH, detail nonce_reused", async () => {
    const { appId } = await putApp(dotdigitalRecipe(DD_SECRET));
    const nonce = await newNonce(appId);
    await expectForwarded(await call(appId, (await mintAndroid(DD_SECRET, { nonce, sub: "u-7" })).token), "u-7");
    const { token } = await mintAndroid(DD_SECRET, { nonce, sub: "u-8" });
    await expectRefused(() => call(appId, token), 401, invalid("IDENTIFIER_MISMATCH"), "nonce_reused");
  });

  it("without requireNonce, a token minted ahead of time with any nonce, or none, passes: what the setting is for", async () => {
    const { requireNonce: _, ...record } = dotdigitalRecipe(DD_SECRET);
    const { appId } = await putApp(record);
    for (const claims of [{ nonce: "made-up-in-advance", sub: "u-7" }, { sub: "u-7" }]) {
      await expectForwarded(await call(appId, (await mintAndroid(DD_SECRET, claims)).token), "u-7");
    }
  });
});

describe("Dotdigital iOS sample (JWT for Swift and Objective-C): fractional seconds", () => {
  it("passes the recipe: fractional seconds are read as they are", async () => {
    const { appId } = await putApp(dotdigitalRecipe(DD_SECRET));
    await expectForwarded(
      await call(appId, await mintIos(DD_SECRET, { nonce: await newNonce(appId), sub: "u-7" })),
      "u-7",
    );
  });

  it("needs no acceptMillisecondTimestamps: it passes the tightened record too", async () => {
    const { appId } = await putApp({ ...dotdigitalRecipe(DD_SECRET), ...DOTDIGITAL_TIGHTEN });
    await expectForwarded(
      await call(appId, await mintIos(DD_SECRET, { nonce: await newNonce(appId), sub: "u-7" })),
      "u-7",
    );
  });

  it("the sample's base64SecretKey is the secret's UTF-8 bytes: the secret stored as base64 is signature_mismatch", async () => {
    const { secretEncoding: _, ...record } = dotdigitalRecipe(DD_LETTERS_SECRET);
    const { appId } = await putApp(record);
    const token = await mintIos(DD_LETTERS_SECRET, { nonce: await newNonce(appId), sub: "u-7" });
    await expectRefused(() => call(appId, token), 401, invalid("INVALID_SIGNATURE"), "signature_mismatch");
  });
});

describe("Dotdigital JavaScript sample (the npm package jsrsasign)", () => {
  /** 32 bytes written as 64 hex digits: what `openssl rand -hex 32` prints. */
  const HEX_SECRET = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  const hexBytes = Uint8Array.from(HEX_SECRET.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));

  it("{utf8: secret} passes the recipe, and the tightened record (it sends seconds)", async () => {
    for (const record of [dotdigitalRecipe(DD_SECRET), { ...dotdigitalRecipe(DD_SECRET), ...DOTDIGITAL_TIGHTEN }]) {
      const { appId } = await putApp(record);
      const token = mintJsrsasign({ utf8: DD_SECRET }, { nonce: await newNonce(appId), sub: "u-7" });
      expect(JSON.parse(atob(token.split(".")[0] as string))).toEqual({ alg: "HS256", typ: "JWT" });
      await expectForwarded(await call(appId, token), "u-7");
    }
  });

  it("the hex pitfall: a hex secret passed bare becomes the bytes it spells: 38 INVALID_SIGNATURE, signature_mismatch", async () => {
    const { appId } = await putApp(dotdigitalRecipe(HEX_SECRET));
    const bare = mintJsrsasign(HEX_SECRET, { nonce: await newNonce(appId), sub: "u-7" });
    await expectRefused(() => call(appId, bare), 401, invalid("INVALID_SIGNATURE"), "signature_mismatch");
    // The same secret with {utf8: …}, as Dotdigital says: passes.
    const cast = mintJsrsasign({ utf8: HEX_SECRET }, { nonce: await newNonce(appId), sub: "u-7" });
    await expectForwarded(await call(appId, cast), "u-7");
  });

  it("an app whose deployed JavaScript passes the hex bare: store the bytes it spells, as base64", async () => {
    const { appId } = await putApp({ ...dotdigitalRecipe(toBase64(hexBytes)), secretEncoding: "base64" });
    const bare = mintJsrsasign(HEX_SECRET, { nonce: await newNonce(appId), sub: "u-7" });
    await expectForwarded(await call(appId, bare), "u-7");
  });

  it("a hex secret stored as base64 (the default) warns, and then neither kind of token verifies", async () => {
    const { secretEncoding: _, ...record } = dotdigitalRecipe(HEX_SECRET);
    const { appId, view } = await putApp(record);
    expect(view.warnings).toEqual([
      {
        path: "secret",
        message:
          'looks like hex but is read as base64; if this is a passphrase or hex string, set secretEncoding: "utf8"',
      },
    ]);
    for (const key of [HEX_SECRET, { utf8: HEX_SECRET }]) {
      const token = mintJsrsasign(key, { nonce: await newNonce(appId), sub: "u-7" });
      await expectRefused(() => call(appId, token), 401, invalid("INVALID_SIGNATURE"), "signature_mismatch");
    }
  });

  it("a secret with non-ASCII letters passed bare is signed with Latin-1 bytes, not UTF-8: signature_mismatch", async () => {
    const secret = "Geheimnis-für-das-Push-Profil-2026";
    const { appId } = await putApp(dotdigitalRecipe(secret));
    const bare = mintJsrsasign(secret, { nonce: await newNonce(appId), sub: "u-7" });
    await expectRefused(() => call(appId, bare), 401, invalid("INVALID_SIGNATURE"), "signature_mismatch");
    const cast = mintJsrsasign({ utf8: secret }, { nonce: await newNonce(appId), sub: "u-7" });
    await expectForwarded(await call(appId, cast), "u-7");
  });
});

describe("Dotdigital, tightened later (the PATCH of docs/migrating.md)", () => {
  it("once applied, a token in milliseconds is refused again (timestamp_in_milliseconds): patch after the backend sends seconds", async () => {
    const { appId } = await putApp(dotdigitalRecipe(DD_SECRET));
    const before = await mintAndroid(DD_SECRET, { nonce: await newNonce(appId), sub: "u-7" });
    await expectForwarded(await call(appId, before.token), "u-7");
    const patch = await admin(`/apps/${appId}`, { method: "PATCH", body: JSON.stringify(DOTDIGITAL_TIGHTEN) });
    expect(await patch.json()).toMatchObject(DOTDIGITAL_TIGHTEN);
    await expectRefused(
      () => call(appId, before.token),
      401,
      invalid("TIME_CONSTRAINT_FAILURE"),
      "timestamp_in_milliseconds",
    );
  });

  it("31 days, not 30: 30 calendar days across a daylight saving change is 30 days and an hour", async () => {
    const { appId } = await putApp({ ...dotdigitalRecipe(DD_SECRET), ...DOTDIGITAL_TIGHTEN });
    const autumn = 30 * DAY_SECONDS + 3600;
    await expectForwarded(
      await call(appId, await mintIos(DD_SECRET, { nonce: await newNonce(appId), sub: "u-7" }, autumn)),
      "u-7",
    );
    const strict = await putApp({
      ...dotdigitalRecipe(DD_SECRET),
      ...DOTDIGITAL_TIGHTEN,
      maxTokenLifetimeSeconds: 30 * DAY_SECONDS,
    });
    const token = await mintIos(DD_SECRET, { nonce: await newNonce(strict.appId), sub: "u-7" }, autumn);
    await expectRefused(() => call(strict.appId, token), 401, invalid("TIME_CONSTRAINT_FAILURE"), "lifetime_too_long");
  });

  it("31 days, not 30: the Android sample reads the clock twice, so exp − iat is 30 days and a millisecond", async () => {
    const lifetime = (days: number) => ({
      ...dotdigitalRecipe(DD_SECRET),
      maxTokenLifetimeSeconds: days * DAY_SECONDS,
    });
    const thirtyOne = await putApp(lifetime(31));
    const ok = await mintAndroid(DD_SECRET, { nonce: await newNonce(thirtyOne.appId), sub: "u-7" });
    await expectForwarded(await call(thirtyOne.appId, ok.token), "u-7");
    const thirty = await putApp(lifetime(30));
    const { token } = await mintAndroid(DD_SECRET, { nonce: await newNonce(thirty.appId), sub: "u-7" });
    await expectRefused(() => call(thirty.appId, token), 401, invalid("TIME_CONSTRAINT_FAILURE"), "lifetime_too_long");
  });
});

// ---------------------------------------------------------------------------------------------
// MoEngage
// ---------------------------------------------------------------------------------------------

describe("MoEngage (JWT authentication): an RSA key pair, the user identifier as sub", () => {
  /** What the app's server signs with its private key: `sub` (the SDK's userIdentifier), `iat`, `exp`, and here `iss`. */
  async function mintMoengage(claims: Json, variant = ""): Promise<string> {
    const pair = await testKeyPair("RS256", variant);
    const iat = nowSeconds();
    return new SignJWT({ sub: "u-42", iat, exp: iat + 3600, ...claims })
      .setProtectedHeader({ alg: "RS256", typ: "JWT" })
      .sign(pair.privateKey);
  }

  it("passes the recipe with the public key, once the token names its issuer", async () => {
    const { appId } = await putApp(moengageRecipe((await testKeyPair("RS256")).spki));
    await expectForwarded(await call(appId, await mintMoengage({ iss: MOE_ISSUER })), "u-42");
  });

  it("the token as made for MoEngage (sub, iat, exp only): iss_missing under the recipe, app_id_claim_missing without appIdClaim null", async () => {
    const pem = (await testKeyPair("RS256")).spki;
    const { appId } = await putApp(moengageRecipe(pem));
    const token = await mintMoengage({});
    await expectRefused(() => call(appId, token), 401, invalid("PAYLOAD_CONTENT_MISSING"), "iss_missing");
    const { issuer: _i, appIdClaim: _a, ...record } = moengageRecipe(pem);
    const bound = await putApp(record);
    await expectRefused(
      () => call(bound.appId, token),
      401,
      invalid("PAYLOAD_CONTENT_MISSING"),
      "app_id_claim_missing",
    );
  });

  it("without its public key (a secret only): 38 HEADER_TYPE_INCOMPATIBLE, detail alg_not_in_keys", async () => {
    const { keys: _, ...record } = moengageRecipe("");
    const { appId } = await putApp({ ...record, secret: toBase64(Uint8Array.from({ length: 32 }, (_, i) => i + 1)) });
    const token = await mintMoengage({ iss: MOE_ISSUER });
    await expectRefused(() => call(appId, token), 401, invalid("HEADER_TYPE_INCOMPATIBLE"), "alg_not_in_keys");
  });

  it('without userClaims ["sub"]: 38 PAYLOAD_CONTENT_MISSING, detail user_claim_missing', async () => {
    const { userClaims: _, ...record } = moengageRecipe((await testKeyPair("RS256")).spki);
    const { appId } = await putApp(record);
    const token = await mintMoengage({ iss: MOE_ISSUER });
    await expectRefused(() => call(appId, token), 401, invalid("PAYLOAD_CONTENT_MISSING"), "user_claim_missing");
  });

  it("requireExp: a token without exp is 38 PAYLOAD_CONTENT_MISSING, detail exp_missing", async () => {
    const { appId } = await putApp(moengageRecipe((await testKeyPair("RS256")).spki));
    const token = await mintMoengage({ iss: MOE_ISSUER, exp: undefined });
    await expectRefused(() => call(appId, token), 401, invalid("PAYLOAD_CONTENT_MISSING"), "exp_missing");
  });

  it("signed by another private key (another app's, or an old one): 38 INVALID_SIGNATURE, detail signature_mismatch", async () => {
    const { appId } = await putApp(moengageRecipe((await testKeyPair("RS256")).spki));
    const token = await mintMoengage({ iss: MOE_ISSUER }, "other");
    await expectRefused(() => call(appId, token), 401, invalid("INVALID_SIGNATURE"), "signature_mismatch");
  });
});

// ---------------------------------------------------------------------------------------------
// The page
// ---------------------------------------------------------------------------------------------

describe("docs/migrating.md", () => {
  it("sends exactly the recipes these tests use, in order", () => {
    const blocks = [...migratingPage.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) => match[1] as string);
    const bodies = blocks.flatMap((block) =>
      [...block.matchAll(/'(\{[\s\S]*?\})'/g)].map((match) =>
        JSON.parse((match[1] as string).replaceAll("$pem", JSON.stringify(PLACEHOLDERS.pem))),
      ),
    );
    expect(bodies).toEqual(DOCUMENTED_BODIES);
  });

  it("names the answers and details these tests assert", () => {
    for (const detail of [
      "timestamp_in_milliseconds",
      "signature_mismatch",
      "app_id_claim_missing",
      "user_claim_missing",
      "nonce_missing",
      "nonce_invalid",
      "nonce_reused",
      "iss_missing",
      "alg_not_in_keys",
      "lifetime_too_long",
      "user_mismatch_query",
      "exp_missing",
    ]) {
      expect(migratingPage).toContain(`\`${detail}\``);
    }
    expect(migratingPage).toContain(INVALID);
  });
});
