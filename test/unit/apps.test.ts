import { describe, expect, it } from "vitest";
import { readStoredRecord } from "../../src/apps/checks.ts";
import { deriveKeyBytes } from "../../src/apps/secret.ts";
import { type AppRecordSource, AppStore } from "../../src/apps/store.ts";
import { GatewayError } from "../../src/errors.ts";
import { V1_POLICY } from "../../src/token/policy.ts";
import { KEY_BASE64, KEY_BYTES } from "../helpers.ts";

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const urlsafe = (text: string) => text.replaceAll("+", "-").replaceAll("/", "_");

describe("deriveKeyBytes", () => {
  it("decodes base64 in either alphabet, padded or not", () => {
    const bytes = Uint8Array.from({ length: 40 }, (_, i) => (i * 251 + 3) & 0xff); // has + and / chars
    const standard = b64(bytes);
    expect(standard).toMatch(/[+/]/);
    for (const text of [
      standard,
      standard.replace(/=+$/, ""),
      urlsafe(standard),
      urlsafe(standard).replace(/=+$/, ""),
    ]) {
      expect(deriveKeyBytes(text, "base64")).toEqual({ bytes });
    }
  });

  it("takes a utf8 secret's bytes as typed", () => {
    expect(deriveKeyBytes(KEY_BASE64, "utf8")).toEqual({ bytes: new TextEncoder().encode(KEY_BASE64) });
  });

  it.each([
    ["19 bytes", b64(new Uint8Array(19).map((_, i) => i + 1)), "base64"],
    ["31 bytes", b64(new Uint8Array(31).map((_, i) => i + 1)), "base64"],
    ["one byte repeated", b64(new Uint8Array(32).fill(7)), "base64"],
    ["mixed alphabets", `${b64(KEY_BYTES).slice(0, 20)}+-${b64(KEY_BYTES).slice(22)}`, "base64"],
    ["whitespace", `${KEY_BASE64.slice(0, 10)} ${KEY_BASE64.slice(10)}`, "base64"],
    ["a line break", `${KEY_BASE64.slice(0, 10)}\n${KEY_BASE64.slice(10)}`, "base64"],
    ["wrong padding", `${KEY_BASE64.replace(/=+$/, "")}==`, "base64"],
    ["padding in the middle", `${KEY_BASE64.slice(0, 8)}=${KEY_BASE64.slice(9)}`, "base64"],
    ["non-canonical trailing bits", `${KEY_BASE64.slice(0, -2)}B=`, "base64"],
    ["not base64", "this is not base64 at all, not at all!", "base64"],
    ["a PEM block", "-----BEGIN PUBLIC KEY-----MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", "utf8"],
    ["JSON", '{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ"}', "utf8"],
    ["leading whitespace", ` ${KEY_BASE64}`, "utf8"],
    ["trailing whitespace", `${KEY_BASE64}\t`, "utf8"],
    ["a control character", `${KEY_BASE64}\u0007x`, "utf8"],
    ["a short utf8 secret", "short-secret-of-31-characters!!", "utf8"],
  ] as const)("refuses %s", (_, secret, encoding) => {
    expect(deriveKeyBytes(secret, encoding)).toEqual({ error: expect.any(String) });
  });

  it("never puts the secret in its error message", () => {
    const secret = "leading-space-secret-that-is-long-enough";
    const derived = deriveKeyBytes(` ${secret}`, "utf8");
    expect(derived).toEqual({ error: expect.any(String) });
    expect(JSON.stringify(derived)).not.toContain(secret);
  });
});

describe("readStoredRecord", () => {
  it("applies the defaults of CONTRACT section 2", () => {
    expect(readStoredRecord(JSON.stringify({ jwtEnabled: true, secret: KEY_BASE64 })).checked).toEqual({
      enforcement: "enforce",
      jwksUri: null,
      revocations: null,
      keys: [
        {
          path: "secret",
          kid: null,
          material: { kind: "hmac", alg: "HS256", bytes: KEY_BYTES },
          notBefore: null,
          notAfter: null,
        },
      ],
      clockToleranceSeconds: 60,
      policy: V1_POLICY,
    });
    expect(readStoredRecord('{"jwtEnabled":false}')).toMatchObject({ checked: { enforcement: "off", keys: [] } });
  });

  it.each([
    ["not JSON", "{", "", "is not JSON"],
    ["an array", "[]", "", "is not a JSON object"],
    ["no jwtEnabled", "{}", "jwtEnabled", "is required"],
    ["jwtEnabled as a string", '{"jwtEnabled":"true"}', "jwtEnabled", "must be a boolean"],
    [
      "JWT on without a secret",
      '{"jwtEnabled":true}',
      "secret",
      "is required when jwtEnabled is true (or give keys or jwksUri)",
    ],
    [
      "an unknown field",
      JSON.stringify({ jwtEnabled: true, secret: KEY_BASE64, extra: 1 }),
      "extra",
      "is not a field of an app record",
    ],
    [
      "a bad encoding",
      JSON.stringify({ jwtEnabled: true, secret: KEY_BASE64, secretEncoding: "hex" }),
      "secretEncoding",
      'must be "base64" or "utf8"',
    ],
    [
      "tolerance 301",
      JSON.stringify({ jwtEnabled: true, secret: KEY_BASE64, clockToleranceSeconds: 301 }),
      "clockToleranceSeconds",
      "must be from 0 to 300",
    ],
    [
      "tolerance 1.5",
      JSON.stringify({ jwtEnabled: true, secret: KEY_BASE64, clockToleranceSeconds: 1.5 }),
      "clockToleranceSeconds",
      "must be a whole number",
    ],
    [
      "a short key",
      JSON.stringify({ jwtEnabled: true, secret: btoa("short") }),
      "secret",
      "key must be at least 32 bytes",
    ],
    [
      "a revocation that is not a time",
      JSON.stringify({ jwtEnabled: true, secret: KEY_BASE64, revocations: { u: "2026-11-30" } }),
      "revocations",
      "must map user ids (1 to 256 characters) to Unix seconds",
    ],
    [
      "a revocation of an empty user id",
      JSON.stringify({ jwtEnabled: true, secret: KEY_BASE64, revocations: { "": 1 } }),
      "revocations",
      "must map user ids (1 to 256 characters) to Unix seconds",
    ],
  ])("finds %s a problem, naming the field, and checks nothing further", (_, text, path, message) => {
    const read = readStoredRecord(text);
    expect(read.checked).toBeNull();
    expect(read.problems).toContainEqual({ path, message });
  });

  it("keeps every revoked user, those named like an object's prototype members too", () => {
    const text = `{"jwtEnabled":true,"secret":"${KEY_BASE64}","revocations":{"__proto__":1,"constructor":2,"u":3}}`;
    const read = readStoredRecord(text);
    expect(read.problems).toEqual([]);
    expect(Object.entries(read.record.revocations ?? {})).toEqual([
      ["__proto__", 1],
      ["constructor", 2],
      ["u", 3],
    ]);
    expect(read.checked?.revocations).toEqual(
      new Map([
        ["__proto__", 1],
        ["constructor", 2],
        ["u", 3],
      ]),
    );
    expect(Object.getPrototypeOf(read.record.revocations)).toBe(Object.prototype);
  });

  it("keeps the fields that pass, for the view of a broken record", () => {
    const read = readStoredRecord(JSON.stringify({ jwtEnabled: true, secret: KEY_BASE64, clockToleranceSeconds: 999 }));
    expect(read.record).toEqual({ jwtEnabled: true, secret: KEY_BASE64 });
    expect(read.raw).toMatchObject({ clockToleranceSeconds: 999 });
  });
});

/** A KV stand-in that counts reads and can fail. */
function countingSource(records: Record<string, string>) {
  const source = {
    reads: 0,
    fail: false,
    async get(key: string): Promise<string | null> {
      source.reads += 1;
      await Promise.resolve();
      if (source.fail) throw new Error("KV unavailable");
      return records[key] ?? null;
    },
  };
  return source satisfies AppRecordSource;
}

describe("AppStore", () => {
  const record = JSON.stringify({ jwtEnabled: true, secret: KEY_BASE64, clockToleranceSeconds: 5 });

  it("resolves a record with its imported key", async () => {
    const store = new AppStore(countingSource({ "app:A": record }), { ttlMs: 60_000 });
    const app = await store.get("A");
    expect(app).toMatchObject({ appId: "A", enforcement: "enforce", clockToleranceSeconds: 5 });
    expect(app?.keyring?.keys).toHaveLength(1);
    expect(app?.keyring?.keys[0]?.cryptoKey.algorithm).toMatchObject({ name: "HMAC", hash: { name: "SHA-256" } });
  });

  it("reads KV once per app per period, for known and unknown apps, also concurrently", async () => {
    let now = 1_000;
    const source = countingSource({ "app:A": record });
    const store = new AppStore(source, { ttlMs: 60_000, now: () => now });
    await Promise.all(Array.from({ length: 100 }, () => store.get("A")));
    for (let i = 0; i < 100; i++) expect(await store.get("missing")).toBeNull();
    expect(source.reads).toBe(2);
    now += 59_999;
    await store.get("A");
    expect(source.reads).toBe(2);
    now += 1;
    await store.get("A");
    await store.get("missing");
    expect(source.reads).toBe(4);
  });

  it("never caches a fault, and answers it as 503 CONFIG_UNAVAILABLE", async () => {
    const source = countingSource({ "app:A": record, "app:B": '{"jwtEnabled":true}' });
    const store = new AppStore(source, { ttlMs: 60_000 });
    source.fail = true;
    await expect(store.get("A")).rejects.toMatchObject({
      kind: "CONFIG_UNAVAILABLE",
      options: { detail: "kv_unavailable" },
    });
    source.fail = false;
    expect(await store.get("A")).not.toBeNull();
    const error = await store.get("B").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ kind: "CONFIG_UNAVAILABLE", options: { detail: "record_invalid" } });
    expect(source.reads).toBe(3);
  });

  it("stays within its bound, evicting the least recently used app", async () => {
    const source = countingSource({});
    const store = new AppStore(source, { ttlMs: 60_000, maxEntries: 3 });
    for (const id of ["a", "b", "c"]) await store.get(id);
    await store.get("a"); // a is now the most recent
    await store.get("d"); // evicts b
    expect(store.size).toBe(3);
    const before = source.reads;
    await store.get("a");
    expect(source.reads).toBe(before);
    await store.get("b");
    expect(source.reads).toBe(before + 1);
  });

  it("reads again after invalidate", async () => {
    const source = countingSource({ "app:A": record });
    const store = new AppStore(source, { ttlMs: 60_000 });
    await store.get("A");
    store.invalidate("A");
    await store.get("A");
    expect(source.reads).toBe(2);
  });
});
