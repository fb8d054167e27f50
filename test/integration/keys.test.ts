// Per-app keys: HMAC and public-key algorithms, kid selection, validity windows and
// rotation, key confusion, and the admin API's keys field and routes, through the Worker.
import { env } from "cloudflare:workers";
import { base64url, exportJWK, exportPKCS8, exportSPKI } from "jose";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  admin,
  captureLogs,
  claimsFor,
  enforcingRecord,
  expectRejected,
  gateway,
  invalid,
  KEY_BASE64,
  KEY_BYTES,
  kvSnapshot,
  mintHmacToken,
  mintSignedToken,
  mintToken,
  newApp,
  originCalls,
  signRaw,
  type TestKeyPair,
  testKeyBytes,
  testKeyPair,
  toBase64,
  uniqueAppId,
  useOriginRecorder,
  withToken,
} from "../helpers.ts";

useOriginRecorder();

const PUBLIC_ALGS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"] as const;
const pairs: Record<string, TestKeyPair> = {};
const others: Record<string, TestKeyPair> = {};

beforeAll(async () => {
  for (const alg of PUBLIC_ALGS) {
    pairs[alg] = await testKeyPair(alg);
    others[alg] = await testKeyPair(alg, "other");
  }
});

afterEach(() => {
  vi.useRealTimers();
});

const pair = (alg: string) => pairs[alg] as TestKeyPair;
const other = (alg: string) => others[alg] as TestKeyPair;

/** An enforcing app whose only keys are `keys` (no v1 secret). */
function keysRecord(keys: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { jwtEnabled: true, keys, ...extra };
}

async function call(appId: string, token: string): Promise<Response> {
  return gateway(`/app/${appId}/x`, withToken(token));
}

async function expectForwarded(res: Response, userId = "user-1"): Promise<void> {
  expect(res.status).toBe(200);
  expect(originCalls).toHaveLength(1);
  expect(originCalls[0]?.headers["x-auth-user-id"]).toBe(userId);
  originCalls.length = 0;
}

/** The key texts in `keys` (PEM bodies, secrets, JWK numbers): an answer must quote none. */
function keyMaterialTexts(keys: unknown[]): string[] {
  const texts: string[] = [];
  for (const key of keys as Record<string, unknown>[]) {
    if (typeof key.secret === "string") texts.push(key.secret);
    if (typeof key.publicKey === "string") {
      texts.push(...key.publicKey.split("\n").filter((line) => line.length >= 4 && !line.startsWith("-----")));
    } else if (typeof key.publicKey === "object" && key.publicKey !== null) {
      const jwk = key.publicKey as Record<string, unknown>;
      for (const name of ["n", "x", "y", "d"]) if (typeof jwk[name] === "string") texts.push(jwk[name] as string);
    }
  }
  return texts;
}

async function put(appId: string, record: unknown): Promise<Response> {
  return admin(`/apps/${appId}`, { method: "PUT", body: JSON.stringify(record) });
}

describe("public-key tokens minted by jose", () => {
  it.each(PUBLIC_ALGS)("%s: a token passes with the key as PEM SPKI and as a JWK", async (alg) => {
    for (const publicKey of [pair(alg).spki, pair(alg).jwk]) {
      const appId = await newApp(keysRecord([{ alg, publicKey }]));
      await expectForwarded(await call(appId, await mintSignedToken(claimsFor(appId), pair(alg))));
    }
  });

  it.each(PUBLIC_ALGS)("%s: a token signed by another key of the algorithm is 38 INVALID_SIGNATURE", async (alg) => {
    const appId = await newApp(keysRecord([{ alg, publicKey: pair(alg).spki }]));
    const token = await mintSignedToken(claimsFor(appId), other(alg));
    await expectRejected(await call(appId, token), 401, invalid("INVALID_SIGNATURE"));
  });

  it.each(PUBLIC_ALGS)("%s: claims are still checked after the signature", async (alg) => {
    const appId = await newApp(keysRecord([{ alg, publicKey: pair(alg).spki }]));
    const token = await mintSignedToken(claimsFor("another-app"), pair(alg));
    await expectRejected(await call(appId, token), 401, invalid("IDENTIFIER_MISMATCH"));
  });

  it.each(PUBLIC_ALGS)("%s: a signature one byte short, or empty, is 38 INVALID_SIGNATURE", async (alg) => {
    const appId = await newApp(keysRecord([{ alg, publicKey: pair(alg).spki }]));
    const token = await mintSignedToken(claimsFor(appId), pair(alg));
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const short = base64url.encode(base64url.decode(signature).subarray(1));
    for (const candidate of [`${header}.${payload}.${short}`, `${header}.${payload}.`]) {
      await expectRejected(await call(appId, candidate), 401, invalid("INVALID_SIGNATURE"));
    }
  });

  it("a token of an algorithm none of the app's keys has is 38 HEADER_TYPE_INCOMPATIBLE", async () => {
    const appId = await newApp(keysRecord([{ alg: "ES256", publicKey: pair("ES256").spki }]));
    for (const alg of ["RS256", "ES384", "EdDSA"]) {
      const token = await mintSignedToken(claimsFor(appId), pair(alg));
      await expectRejected(await call(appId, token), 401, invalid("HEADER_TYPE_INCOMPATIBLE"));
    }
  });

  it("PS256 and RS256 on one RSA key are different algorithms: the header must name the key's", async () => {
    const appId = await newApp(keysRecord([{ alg: "PS256", publicKey: pair("RS256").spki }]));
    await expectForwarded(await call(appId, await mintSignedToken(claimsFor(appId), pair("PS256"))));
    const rs256 = await mintSignedToken(claimsFor(appId), pair("RS256"));
    await expectRejected(await call(appId, rs256), 401, invalid("HEADER_TYPE_INCOMPATIBLE"));
  });
});

describe("key confusion", () => {
  /** The attack of RFC 8725 section 2.1: HS256 with the public key's text as the HMAC secret. */
  async function confused(appId: string, alg: string, publicKey: string | Record<string, unknown>, kid?: string) {
    const secret = new TextEncoder().encode(typeof publicKey === "string" ? publicKey : JSON.stringify(publicKey));
    return mintHmacToken(claimsFor(appId), secret, "HS256", kid ?? alg);
  }

  it.each(["RS256", "ES256", "EdDSA"])(
    "%s app: the same claims as HS256, signed with the public key as the secret, never pass",
    async (alg) => {
      const { spki, jwk } = pair(alg);
      const appId = await newApp(keysRecord([{ kid: alg, alg, publicKey: spki }]));
      await expectForwarded(await call(appId, await mintSignedToken(claimsFor(appId), pair(alg), alg)));
      for (const publicKey of [spki, spki.trim(), jwk]) {
        const token = await confused(appId, alg, publicKey);
        await expectRejected(await call(appId, token), 401, invalid("HEADER_TYPE_INCOMPATIBLE"));
      }
    },
  );

  it("an app with an HS256 key beside its RS256 key: the forgery meets the HMAC key, not the public key", async () => {
    const { spki } = pair("RS256");
    const appId = await newApp(
      enforcingRecord({ keys: [{ kid: "rsa", alg: "RS256", publicKey: spki }] }), // secret: KEY_BYTES
    );
    await expectForwarded(await call(appId, await mintToken(claimsFor(appId))));
    for (const kid of ["rsa", undefined]) {
      const token = await mintHmacToken(claimsFor(appId), new TextEncoder().encode(spki), "HS256", kid);
      await expectRejected(await call(appId, token), 401, invalid("INVALID_SIGNATURE"));
    }
  });
});

describe("HMAC keys", () => {
  it.each([
    ["HS256", 32],
    ["HS384", 48],
    ["HS512", 64],
  ] as const)("%s with a %i-byte key passes; another key fails", async (alg, length) => {
    const bytes = testKeyBytes(length);
    const appId = await newApp(keysRecord([{ alg, secret: toBase64(bytes) }]));
    await expectForwarded(await call(appId, await mintHmacToken(claimsFor(appId), bytes, alg)));
    const forged = await mintHmacToken(claimsFor(appId), testKeyBytes(length, 2), alg);
    await expectRejected(await call(appId, forged), 401, invalid("INVALID_SIGNATURE"));
  });

  it("a utf8 secret works as in v1", async () => {
    const secret = "a-utf8-secret-of-at-least-forty-eight-characters-ok";
    const appId = await newApp(keysRecord([{ alg: "HS384", secret, secretEncoding: "utf8" }]));
    const token = await mintHmacToken(claimsFor(appId), new TextEncoder().encode(secret), "HS384");
    await expectForwarded(await call(appId, token));
  });

  it("v1: the secret alone accepts HS256 only; HS512 is still 38 HEADER_TYPE_INCOMPATIBLE", async () => {
    const appId = await newApp();
    const token = await mintHmacToken(claimsFor(appId), testKeyBytes(64), "HS512");
    await expectRejected(await call(appId, token), 401, invalid("HEADER_TYPE_INCOMPATIBLE"));
  });
});

describe("choosing the key: kid, then alg, at most 3 tries", () => {
  const A = testKeyBytes(32, 11);
  const B = testKeyBytes(32, 12);
  const twoKeys = () =>
    keysRecord([
      { kid: "a", alg: "HS256", secret: toBase64(A) },
      { kid: "b", alg: "HS256", secret: toBase64(B) },
    ]);

  it("with a kid, only that key: the right key passes, the other key's signature fails", async () => {
    const appId = await newApp(twoKeys());
    await expectForwarded(await call(appId, await mintHmacToken(claimsFor(appId), B, "HS256", "b")));
    const verify = vi.spyOn(crypto.subtle, "verify");
    const wrong = await mintHmacToken(claimsFor(appId), A, "HS256", "b");
    await expectRejected(await call(appId, wrong), 401, invalid("INVALID_SIGNATURE"));
    expect(verify).toHaveBeenCalledTimes(1);
    verify.mockRestore();
  });

  it("an unknown kid, or a kid that is not a string, selects no key: 38 INVALID_SIGNATURE", async () => {
    const appId = await newApp(twoKeys());
    const verify = vi.spyOn(crypto.subtle, "verify");
    await expectRejected(
      await call(appId, await mintHmacToken(claimsFor(appId), A, "HS256", "c")),
      401,
      invalid("INVALID_SIGNATURE"),
    );
    const numericKid = await signRaw('{"alg":"HS256","kid":1}', JSON.stringify(claimsFor(appId)), A);
    await expectRejected(await call(appId, numericKid), 401, invalid("INVALID_SIGNATURE"));
    expect(verify).not.toHaveBeenCalled();
    verify.mockRestore();
  });

  it("without a kid, each key of the header's alg is tried", async () => {
    const appId = await newApp(twoKeys());
    await expectForwarded(await call(appId, await mintHmacToken(claimsFor(appId), A)));
    await expectForwarded(await call(appId, await mintHmacToken(claimsFor(appId), B)));
    const verify = vi.spyOn(crypto.subtle, "verify");
    const forged = await mintHmacToken(claimsFor(appId), testKeyBytes(32, 13));
    await expectRejected(await call(appId, forged), 401, invalid("INVALID_SIGNATURE"));
    expect(verify).toHaveBeenCalledTimes(2);
    verify.mockRestore();
  });

  it("v1 (no key has a kid): a token's kid selects nothing, as CONTRACT step 6 says", async () => {
    const appId = await newApp();
    await expectForwarded(await call(appId, await mintHmacToken(claimsFor(appId), KEY_BYTES, "HS256", "anything")));
  });

  it("keys of different algorithms: the header's alg picks among them", async () => {
    const appId = await newApp(
      keysRecord([
        { alg: "ES256", publicKey: pair("ES256").spki },
        { alg: "EdDSA", publicKey: pair("EdDSA").jwk },
        { alg: "HS512", secret: toBase64(testKeyBytes(64)) },
      ]),
    );
    await expectForwarded(await call(appId, await mintSignedToken(claimsFor(appId), pair("EdDSA"))));
    await expectForwarded(await call(appId, await mintSignedToken(claimsFor(appId), pair("ES256"))));
    await expectForwarded(await call(appId, await mintHmacToken(claimsFor(appId), testKeyBytes(64), "HS512")));
  });
});

describe("validity windows and rotation", () => {
  const T0 = Date.parse("2027-03-01T12:00:00Z");
  const iso = (ms: number) => new Date(ms).toISOString();
  const OLD = testKeyBytes(32, 21);

  it("old key passes until its notAfter, then fails; new key passes from its notBefore", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(T0);
    const { privateKey: _, ...newPair } = pair("ES256");
    const appId = await newApp(
      keysRecord([
        { kid: "old", alg: "HS256", secret: toBase64(OLD), notAfter: iso(T0 + 200_000) },
        { kid: "new", alg: "ES256", publicKey: newPair.spki, notBefore: iso(T0 + 100_000) },
      ]),
    );
    const claims = { ...claimsFor(appId), exp: T0 / 1000 + 86_400 };
    const oldToken = await mintHmacToken(claims, OLD, "HS256", "old");
    const newToken = await mintSignedToken(claims, pair("ES256"), "new");

    // T0: only the old key is in its window.
    await expectForwarded(await call(appId, oldToken));
    await expectRejected(await call(appId, newToken), 401, invalid("INVALID_SIGNATURE"));

    // notBefore of the new key: both pass (the overlap in which SDKs pick up new tokens).
    vi.setSystemTime(T0 + 100_000);
    await expectForwarded(await call(appId, newToken));
    await expectForwarded(await call(appId, oldToken));

    // One second before the old key's notAfter it still passes; at notAfter it fails, cached or not.
    vi.setSystemTime(T0 + 199_000);
    await expectForwarded(await call(appId, oldToken));
    vi.setSystemTime(T0 + 200_000);
    await expectRejected(await call(appId, oldToken), 401, invalid("INVALID_SIGNATURE"));
    const freshOld = await mintHmacToken({ ...claims, jti: "fresh" }, OLD, "HS256", "old");
    await expectRejected(await call(appId, freshOld), 401, invalid("INVALID_SIGNATURE"));
    await expectForwarded(await call(appId, newToken));
  });

  it("the admin API's walk-through: add the new key, then remove the old one", async () => {
    const appId = uniqueAppId();
    expect((await put(appId, enforcingRecord())).status).toBe(201); // v1: secret = KEY_BYTES
    const v1Token = await mintToken(claimsFor(appId));
    await expectForwarded(await call(appId, v1Token));

    const add = await admin(`/apps/${appId}/keys`, {
      method: "POST",
      body: JSON.stringify({ kid: "2027-03", alg: "ES256", publicKey: pair("ES256").spki }),
    });
    expect(add.status).toBe(201);
    const view = (await add.json()) as { secretFingerprint: string; keys: { kid: string; fingerprint: string }[] };
    expect(view.keys).toEqual([{ kid: "2027-03", alg: "ES256", fingerprint: expect.stringMatching(/^sha256:/) }]);
    await expectForwarded(await call(appId, await mintSignedToken(claimsFor(appId), pair("ES256"), "2027-03")));
    await expectForwarded(await call(appId, v1Token));

    // The v1 secret has no kid: it is named by its fingerprint.
    const remove = await admin(`/apps/${appId}/keys/${view.secretFingerprint}`, { method: "DELETE" });
    expect(remove.status).toBe(200);
    expect(await remove.json()).toMatchObject({ secretFingerprint: null, keys: [{ kid: "2027-03" }] });
    await expectRejected(await call(appId, v1Token), 401, invalid("HEADER_TYPE_INCOMPATIBLE"));
    await expectForwarded(await call(appId, await mintSignedToken(claimsFor(appId), pair("ES256"), "2027-03")));
  });
});

describe("the admin API", () => {
  it("shows kid, alg, window and fingerprint of each key; never a secret; PEM and JWK print alike", async () => {
    const appId = uniqueAppId();
    const secret = toBase64(testKeyBytes(48));
    const res = await put(
      appId,
      keysRecord([
        { kid: "h", alg: "HS384", secret, notBefore: "2026-01-01T00:00:00Z", notAfter: "2027-01-01T00:00:00Z" },
        { kid: "pem", alg: "RS256", publicKey: pair("RS256").spki },
      ]),
    );
    // The same key as a JWK, in another app (one app may not list one key twice).
    const jwkApp = await put(uniqueAppId(), keysRecord([{ kid: "jwk", alg: "RS256", publicKey: pair("RS256").jwk }]));
    const jwkView = (await jwkApp.json()) as { keys: { fingerprint: string }[] };
    expect(res.status).toBe(201);
    const text = await res.text();
    expect(text).not.toContain(secret);
    expect(text).not.toContain("BEGIN PUBLIC KEY");
    const view = JSON.parse(text) as { keys: { fingerprint: string }[] };
    expect(view.keys).toEqual([
      {
        kid: "h",
        alg: "HS384",
        notBefore: "2026-01-01T00:00:00Z",
        notAfter: "2027-01-01T00:00:00Z",
        fingerprint: expect.stringMatching(/^sha256:[0-9a-f]{16}$/),
      },
      { kid: "pem", alg: "RS256", fingerprint: expect.stringMatching(/^sha256:[0-9a-f]{16}$/) },
    ]);
    expect(jwkView.keys[0]?.fingerprint).toBe(view.keys[1]?.fingerprint);
    expect((await (await admin(`/apps/${appId}`)).json()) as unknown).toMatchObject({ keys: view.keys });
  });

  it("a v1 record's view has no keys field", async () => {
    const appId = uniqueAppId();
    expect(Object.keys((await (await put(appId, enforcingRecord())).json()) as object)).not.toContain("keys");
  });

  const rsa1024 = async () => {
    const weak = (await crypto.subtle.generateKey(
      { name: "RSASSA-PKCS1-v1_5", modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
      true,
      ["sign", "verify"],
    )) as CryptoKeyPair;
    return exportSPKI(weak.publicKey);
  };
  const privatePem = () => exportPKCS8(pair("ES256").privateKey);
  const privateJwk = () => exportJWK(pair("ES256").privateKey);

  it.each([
    ["a private key in PEM", async () => [{ alg: "ES256", publicKey: await privatePem() }], "keys.0.publicKey"],
    ["a private JWK", async () => [{ alg: "ES256", publicKey: await privateJwk() }], "keys.0.publicKey"],
    ["an RSA key of 1024 bits", async () => [{ alg: "RS256", publicKey: await rsa1024() }], "keys.0.publicKey"],
    ["a P-256 key for ES384", async () => [{ alg: "ES384", publicKey: pair("ES256").spki }], "keys.0.publicKey"],
    ["an RSA key for ES256", async () => [{ alg: "ES256", publicKey: pair("RS256").jwk }], "keys.0.publicKey"],
    ["an Ed25519 JWK for ES256", async () => [{ alg: "ES256", publicKey: pair("EdDSA").jwk }], "keys.0.publicKey"],
    [
      "a JWK whose alg differs",
      async () => [{ alg: "RS256", publicKey: { ...pair("PS256").jwk, alg: "PS256" } }],
      "keys.0.publicKey",
    ],
    [
      "text that is no key",
      async () => [{ alg: "RS256", publicKey: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----" }],
      "keys.0.publicKey",
    ],
    [
      "a certificate",
      async () => [{ alg: "RS256", publicKey: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----" }],
      "keys.0.publicKey",
    ],
    ["a publicKey that is a list", async () => [{ alg: "RS256", publicKey: [] }], "keys.0.publicKey"],
    ["an HS384 key of 32 bytes", async () => [{ alg: "HS384", secret: toBase64(testKeyBytes(32)) }], "keys.0.secret"],
    ["an HS512 key of 63 bytes", async () => [{ alg: "HS512", secret: toBase64(testKeyBytes(63)) }], "keys.0.secret"],
    ["an HMAC key with a publicKey", async () => [{ alg: "HS256", publicKey: pair("ES256").spki }], "keys.0.publicKey"],
    ["a public key with a secret", async () => [{ alg: "ES256", secret: KEY_BASE64 }], "keys.0.secret"],
    ["alg none", async () => [{ alg: "none", secret: KEY_BASE64 }], "keys.0.alg"],
    ["alg ES512", async () => [{ alg: "ES512", publicKey: pair("ES256").spki }], "keys.0.alg"],
    [
      "a duplicate kid",
      async () => [
        { kid: "k", alg: "HS256", secret: KEY_BASE64 },
        { kid: "k", alg: "HS256", secret: toBase64(testKeyBytes(32)) },
      ],
      "keys.1.kid",
    ],
    [
      "four keys",
      async () => Array.from({ length: 4 }, (_, i) => ({ alg: "HS256", secret: toBase64(testKeyBytes(32, i)) })),
      "keys",
    ],
    ["no keys", async () => [], "keys"],
    [
      "notAfter before notBefore",
      async () => [
        { alg: "HS256", secret: KEY_BASE64, notBefore: "2027-01-01T00:00:00Z", notAfter: "2026-01-01T00:00:00Z" },
      ],
      "keys.0.notAfter",
    ],
    [
      "a notBefore without a zone",
      async () => [{ alg: "HS256", secret: KEY_BASE64, notBefore: "2027-01-01T00:00:00" }],
      "keys.0.notBefore",
    ],
    ["an empty kid", async () => [{ kid: "", alg: "HS256", secret: KEY_BASE64 }], "keys.0.kid"],
    ["an unknown member", async () => [{ alg: "HS256", secret: KEY_BASE64, use: "sig" }], "keys.0.use"],
  ])("answers 400 to %s, naming the field, and writes nothing", async (_, keys, path) => {
    const before = await kvSnapshot();
    const written = await keys();
    const res = await put(uniqueAppId(), keysRecord(written));
    expect(res.status).toBe(400);
    const text = await res.text();
    const body = JSON.parse(text) as { errors: { path: string; message: string }[] };
    expect(body.errors.map((error) => error.path)).toContain(path);
    for (const material of keyMaterialTexts(written)) expect(text).not.toContain(material);
    expect(await kvSnapshot()).toEqual(before);
  });

  it("answers 400 to three keys beside the v1 secret (at most 3 in all)", async () => {
    const keys = Array.from({ length: 3 }, (_, i) => ({ alg: "HS256", secret: toBase64(testKeyBytes(32, i)) }));
    const res = await put(uniqueAppId(), enforcingRecord({ keys }));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ errors: [{ path: "keys" }] });
  });

  it("POST …/keys: 201 and the view; 409 CONFLICT at 3 keys or a duplicate kid; 400 for a bad key", async () => {
    const appId = uniqueAppId();
    await put(appId, keysRecord([{ kid: "a", alg: "HS256", secret: KEY_BASE64 }]));
    const post = (key: unknown) => admin(`/apps/${appId}/keys`, { method: "POST", body: JSON.stringify(key) });
    const before = await kvSnapshot();
    const duplicate = await post({ kid: "a", alg: "ES256", publicKey: pair("ES256").spki });
    expect({ status: duplicate.status, body: await duplicate.json() }).toEqual({
      status: 409,
      body: { code: "CONFLICT", status: "The app has a key with this kid" },
    });
    const bad = await post({ kid: "b", alg: "ES256", publicKey: await privatePem() });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ errors: [{ path: "publicKey" }] });
    const weak = await post({ kid: "b", alg: "HS512", secret: KEY_BASE64 });
    expect(await weak.json()).toMatchObject({ errors: [{ path: "secret" }] });
    expect(await kvSnapshot()).toEqual(before);

    expect((await post({ kid: "b", alg: "ES256", publicKey: pair("ES256").spki })).status).toBe(201);
    expect((await post({ kid: "c", alg: "EdDSA", publicKey: pair("EdDSA").jwk })).status).toBe(201);
    const full = await post({ kid: "d", alg: "HS256", secret: toBase64(testKeyBytes(32)) });
    expect({ status: full.status, body: await full.json() }).toEqual({
      status: 409,
      body: { code: "CONFLICT", status: "The app has 3 keys; remove one first" },
    });
    await expectForwarded(await call(appId, await mintSignedToken(claimsFor(appId), pair("EdDSA"), "c")));
  });

  it("POST …/keys for an unknown app is 404; other methods are 405", async () => {
    const res = await admin(`/apps/${uniqueAppId()}/keys`, {
      method: "POST",
      body: JSON.stringify({ alg: "HS256", secret: KEY_BASE64 }),
    });
    expect(res.status).toBe(404);
    expect((await admin(`/apps/${uniqueAppId()}/keys`, { method: "GET" })).status).toBe(405);
  });

  it("DELETE …/keys/{kid}: removes it at once; 404 KEY_NOT_FOUND; 409 for an enforcing app's last key", async () => {
    const appId = uniqueAppId();
    const A = testKeyBytes(32, 31);
    const B = testKeyBytes(32, 32);
    await put(
      appId,
      keysRecord([
        { kid: "a/1", alg: "HS256", secret: toBase64(A) },
        { kid: "b", alg: "HS256", secret: toBase64(B) },
      ]),
    );
    const tokenA = await mintHmacToken(claimsFor(appId), A, "HS256", "a/1");
    await expectForwarded(await call(appId, tokenA));

    const missing = await admin(`/apps/${appId}/keys/zzz`, { method: "DELETE" });
    expect({ status: missing.status, body: await missing.json() }).toEqual({
      status: 404,
      body: { code: "KEY_NOT_FOUND", status: "Key not found" },
    });
    const removed = await admin(`/apps/${appId}/keys/a%2F1`, { method: "DELETE" });
    expect(removed.status).toBe(200);
    expect(await removed.json()).toMatchObject({ keys: [{ kid: "b" }] });
    await expectRejected(await call(appId, tokenA), 401, invalid("INVALID_SIGNATURE"));

    const before = await kvSnapshot();
    const last = await admin(`/apps/${appId}/keys/b`, { method: "DELETE" });
    expect(last.status).toBe(409);
    expect(await kvSnapshot()).toEqual(before);
    expect((await admin(`/apps/${appId}`, { method: "PATCH", body: '{"jwtEnabled":false}' })).status).toBe(200);
    const now = await admin(`/apps/${appId}/keys/b`, { method: "DELETE" });
    expect(now.status).toBe(200);
    expect(Object.keys((await now.json()) as object)).not.toContain("keys");
  });

  it("logs the fingerprints of the keys it writes, never a key", async () => {
    const logs = captureLogs();
    const secret = toBase64(testKeyBytes(32, 41));
    await put(uniqueAppId(), keysRecord([{ kid: "k", alg: "HS256", secret }]));
    logs.restore();
    expect(logs.text()).not.toContain(secret);
    expect(logs.lines().find((line) => line.event === "admin_write")).toMatchObject({
      keyFingerprints: expect.stringMatching(/^sha256:[0-9a-f]{16}$/),
    });
  });

  it("lists a stored record whose public key does not import with a null fingerprint", async () => {
    const appId = uniqueAppId("AAAA");
    await env.APPS.put(`app:${appId}`, JSON.stringify(keysRecord([{ alg: "ES256", publicKey: pair("RS256").spki }])));
    const page = (await (await admin("/apps?limit=1000")).json()) as { apps: { appId: string; keys?: unknown }[] };
    expect(page.apps.find((view) => view.appId === appId)?.keys).toEqual([
      { kid: null, alg: "ES256", fingerprint: null },
    ]);
  });

  it("treats a stored record with a public key that does not import as a fault: 503, never forwarded", async () => {
    const appId = uniqueAppId();
    await env.APPS.put(`app:${appId}`, JSON.stringify(keysRecord([{ alg: "ES256", publicKey: pair("RS256").spki }])));
    const token = await mintSignedToken(claimsFor(appId), pair("ES256"));
    await expectRejected(await call(appId, token), 503, {
      code: "CONFIG_UNAVAILABLE",
      status: "App configuration unavailable",
    });
  });
});
