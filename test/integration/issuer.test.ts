/**
 * `edge-authenticator/issuer` (src/issuer) against the gateway itself, in workerd: keys made by
 * `generateAppKey` and registered through the admin API, tokens minted by `mintToken` for every
 * algorithm, each accepted by the gateway and verified by jose's `jwtVerify`.
 */

import { decodeProtectedHeader, importSPKI, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { generateAppKey, IssuerError, JWS_ALGORITHMS, type JwsAlgorithm, mintToken } from "../../src/issuer/index.ts";
import {
  admin,
  gateway,
  KEY_BASE64,
  KEY_BYTES,
  nowSeconds,
  originCalls,
  toBase64,
  uniqueAppId,
  useOriginRecorder,
  withToken,
} from "../helpers.ts";

useOriginRecorder();

/** Writes the app through the admin API, as an operator would. */
async function putApp(appId: string, record: Record<string, unknown>): Promise<void> {
  const res = await admin(`/apps/${appId}`, { method: "PUT", body: JSON.stringify(record) });
  expect(res.status).toBe(201);
}

function base64ToBytes(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
}

/** What the gateway answered, and the user the origin was told about. */
async function answer(appId: string, token: string, query = "?userId=user-1") {
  const res = await gateway(`/api/v1/app/${appId}/profile${query}`, withToken(token));
  return { status: res.status, body: await res.json(), user: originCalls.at(-1)?.headers["x-auth-user-id"] ?? null };
}

describe("issuer: every algorithm, through the gateway and jose", () => {
  for (const alg of JWS_ALGORITHMS) {
    it(`${alg}: a key from generateAppKey, registered through the admin API, signs tokens both accept`, async () => {
      const appId = uniqueAppId();
      const kid = `${alg}-2026-11`;
      const generated = await generateAppKey(alg, { kid });
      expect(generated.registration).toMatchObject({ kid, alg });
      await putApp(appId, { jwtEnabled: true, keys: [generated.registration] });

      const token = await mintToken({ appId, userId: "user-1", alg, kid, key: generated.signingKey });
      expect(await answer(appId, token)).toEqual({ status: 200, body: { ok: true }, user: "user-1" });

      const registration = generated.registration as { secret?: string; publicKey?: string };
      const verificationKey =
        registration.secret === undefined
          ? await importSPKI(registration.publicKey as string, alg)
          : base64ToBytes(registration.secret);
      const { payload, protectedHeader } = await jwtVerify(token, verificationKey, { algorithms: [alg] });
      expect(protectedHeader).toEqual({ alg, typ: "JWT", kid });
      expect(payload).toEqual({ appId, userId: "user-1", iat: expect.any(Number), exp: expect.any(Number) });
      expect((payload.exp as number) - (payload.iat as number)).toBe(15 * 60);
    });
  }

  it("a token signed with another app's key of the same algorithm is refused 38 INVALID_SIGNATURE", async () => {
    const appId = uniqueAppId();
    const [registered, other] = await Promise.all([generateAppKey("ES256"), generateAppKey("ES256")]);
    await putApp(appId, { jwtEnabled: true, keys: [registered.registration] });
    const token = await mintToken({ appId, userId: "user-1", alg: "ES256", key: other.signingKey });
    expect(await answer(appId, token)).toMatchObject({
      status: 401,
      body: { code: "38", reason: "INVALID_SIGNATURE" },
    });
  });
});

describe("issuer: the app's secret, read exactly as the gateway reads it", () => {
  it("base64 (the default), in either alphabet, with or without padding", async () => {
    const appId = uniqueAppId();
    await putApp(appId, { jwtEnabled: true, secret: KEY_BASE64 });
    const urlSafe = KEY_BASE64.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
    for (const key of [KEY_BASE64, urlSafe]) {
      const token = await mintToken({ appId, userId: "user-1", key });
      expect(await answer(appId, token)).toMatchObject({ status: 200, user: "user-1" });
      await expect(jwtVerify(token, KEY_BYTES)).resolves.toBeDefined();
    }
  });

  it("utf8: the text's bytes as typed; the same text read as base64 is refused before signing", async () => {
    const appId = uniqueAppId();
    const passphrase = "correct horse battery staple, and then some more";
    await putApp(appId, { jwtEnabled: true, secret: passphrase, secretEncoding: "utf8" });
    const token = await mintToken({ appId, customerId: "c-9", key: passphrase, secretEncoding: "utf8" });
    expect(await answer(appId, token, "?customerId=c-9")).toMatchObject({ status: 200, user: "c-9" });
    await expect(jwtVerify(token, new TextEncoder().encode(passphrase))).resolves.toBeDefined();
    const refused = await mintToken({ appId, userId: "user-1", key: passphrase }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(IssuerError);
    expect(refused).toMatchObject({ code: "INVALID_KEY", option: "key" });
    expect(String((refused as Error).message)).toMatch(/base64 secret.*secretEncoding: "utf8"/);
  });

  it("key bytes, an oct JWK and a CryptoKey sign as the secret does", async () => {
    const appId = uniqueAppId();
    await putApp(appId, { jwtEnabled: true, secret: KEY_BASE64 });
    const cryptoKey = await crypto.subtle.importKey("raw", KEY_BYTES, { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
    ]);
    const jwk = { kty: "oct", k: toBase64(KEY_BYTES).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "") };
    for (const key of [KEY_BYTES, jwk, cryptoKey]) {
      const token = await mintToken({ appId, userId: "user-1", key });
      expect((await answer(appId, token)).status).toBe(200);
    }
  });
});

describe("issuer: time, issuer, audience and claims", () => {
  it('expiresIn "-5m" mints a token the gateway answers 40 TOKEN_EXPIRED, with its serverTime', async () => {
    const appId = uniqueAppId();
    await putApp(appId, { jwtEnabled: true, secret: KEY_BASE64 });
    const token = await mintToken({ appId, userId: "user-1", key: KEY_BASE64, expiresIn: "-5m" });
    const { status, body } = await answer(appId, token);
    expect({ status, body }).toEqual({
      status: 401,
      body: { code: "40", status: "Token expired", reason: "TOKEN_EXPIRED", serverTime: expect.any(Number) },
    });
    expect(Math.abs((body as { serverTime: number }).serverTime - nowSeconds())).toBeLessThanOrEqual(2);
  });

  it("issuer and audience for an app whose policy names them; without them the token is refused", async () => {
    const appId = uniqueAppId();
    const policy = { issuer: "https://backend.example", audience: ["edge", "mobile"] };
    await putApp(appId, { jwtEnabled: true, secret: KEY_BASE64, ...policy });
    const token = await mintToken({
      appId,
      userId: "user-1",
      key: KEY_BASE64,
      issuer: policy.issuer,
      audience: "edge",
    });
    expect((await answer(appId, token)).status).toBe(200);
    await expect(jwtVerify(token, KEY_BYTES, { issuer: policy.issuer, audience: "edge" })).resolves.toBeDefined();
    const bare = await mintToken({ appId, userId: "user-1", key: KEY_BASE64 });
    expect(await answer(appId, bare)).toMatchObject({ status: 401, body: { reason: "PAYLOAD_CONTENT_MISSING" } });
  });

  it("an app whose policy names users by sub: the user in claims", async () => {
    const appId = uniqueAppId();
    await putApp(appId, { jwtEnabled: true, secret: KEY_BASE64, userClaims: ["sub"] });
    const token = await mintToken({ appId, key: KEY_BASE64, claims: { sub: "u-42", nonce: "n-1" } });
    expect(await answer(appId, token, "")).toMatchObject({ status: 200, user: "u-42" });
  });

  it("an app that limits token lifetime: a token minted within it passes, a longer one is refused", async () => {
    const appId = uniqueAppId();
    await putApp(appId, { jwtEnabled: true, secret: KEY_BASE64, maxTokenLifetimeSeconds: 3600 });
    const within = await mintToken({ appId, userId: "user-1", key: KEY_BASE64, expiresIn: "1h" });
    const longer = await mintToken({ appId, userId: "user-1", key: KEY_BASE64, expiresIn: "7d" });
    expect((await answer(appId, within)).status).toBe(200);
    expect(await answer(appId, longer)).toMatchObject({ status: 401, body: { reason: "TIME_CONSTRAINT_FAILURE" } });
  });
});

describe("issuer: the header", () => {
  it("names alg, typ JWT and the kid, nothing else", async () => {
    const generated = await generateAppKey("EdDSA" satisfies JwsAlgorithm);
    const token = await mintToken({ appId: "AP1", userId: "u", alg: "EdDSA", key: generated.signingKey });
    expect(decodeProtectedHeader(token)).toEqual({ alg: "EdDSA", typ: "JWT" });
  });
});
