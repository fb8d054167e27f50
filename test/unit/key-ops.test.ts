import { describe, expect, it } from "vitest";
import { addKey, mergePatch, removeKey, replaceRecord } from "../../src/apps/key-ops.ts";
import type { AppRecord, KeyRecord } from "../../src/apps/schema.ts";
import type { KeyFingerprints } from "../../src/apps/view.ts";
import { KEY_BASE64 } from "../helpers.ts";

const NOW = "2026-11-30T12:00:00.000Z";
const CREATED = "2026-01-01T00:00:00.000Z";
const hmac = (kid: string | undefined, secret = KEY_BASE64): KeyRecord =>
  kid === undefined ? { alg: "HS256", secret } : { kid, alg: "HS256", secret };
const prints = (secret: string | null, keys: (string | null)[]): KeyFingerprints => ({ secret, keys });

describe("replaceRecord", () => {
  it("keeps the creation time of the app it replaces, and sets both times for a new one", () => {
    expect(replaceRecord({ jwtEnabled: false, createdAt: CREATED }, { jwtEnabled: true, secret: "s" }, NOW)).toEqual({
      jwtEnabled: true,
      secret: "s",
      createdAt: CREATED,
      updatedAt: NOW,
    });
    expect(replaceRecord(null, { jwtEnabled: false }, NOW)).toEqual({
      jwtEnabled: false,
      createdAt: NOW,
      updatedAt: NOW,
    });
  });
});

describe("mergePatch", () => {
  const stored: AppRecord = { jwtEnabled: true, enforcement: "enforce", secret: "s", createdAt: CREATED };

  it("puts the given fields over the stored ones", () => {
    expect(mergePatch(stored, { clockToleranceSeconds: 5 }, NOW)).toEqual({
      ...stored,
      clockToleranceSeconds: 5,
      updatedAt: NOW,
    });
  });

  it("lets a v1 jwtEnabled replace a stored enforcement", () => {
    expect(mergePatch(stored, { jwtEnabled: false }, NOW)).toEqual({
      jwtEnabled: false,
      secret: "s",
      createdAt: CREATED,
      updatedAt: NOW,
    });
  });

  it("sets a stored jwtEnabled to match a new enforcement", () => {
    expect(mergePatch(stored, { enforcement: "off" }, NOW)).toMatchObject({ jwtEnabled: false, enforcement: "off" });
    expect(mergePatch(stored, { enforcement: "report" }, NOW)).toMatchObject({
      jwtEnabled: true,
      enforcement: "report",
    });
    expect(mergePatch({ enforcement: "off" }, { enforcement: "report" }, NOW)).not.toHaveProperty("jwtEnabled");
  });

  it("leaves the stored record unchanged", () => {
    const before = structuredClone(stored);
    mergePatch(stored, { jwtEnabled: false }, NOW);
    expect(stored).toEqual(before);
  });
});

describe("addKey", () => {
  it("appends the key", () => {
    expect(addKey({ jwtEnabled: true, keys: [hmac("a")] }, hmac("b"), NOW)).toEqual({
      record: { jwtEnabled: true, keys: [hmac("a"), hmac("b")], updatedAt: NOW },
    });
  });

  it("refuses a fourth key, the v1 secret counted", () => {
    expect(addKey({ jwtEnabled: true, secret: "s", keys: [hmac("a"), hmac("b")] }, hmac("c"), NOW)).toEqual({
      conflict: "The app has 3 keys; remove one first",
    });
    expect(addKey({ jwtEnabled: true, keys: [hmac("a"), hmac("b")] }, hmac("c"), NOW)).toHaveProperty("record");
  });

  it("refuses a kid the app has", () => {
    expect(addKey({ jwtEnabled: true, keys: [hmac("a")] }, hmac("a"), NOW)).toEqual({
      conflict: "The app has a key with this kid",
    });
  });
});

describe("removeKey", () => {
  const A = "sha256:aaaaaaaaaaaaaaaa";
  const S = "sha256:5555555555555555";

  it("removes a key by its kid, and drops keys when it was the last of them", () => {
    expect(removeKey({ jwtEnabled: true, keys: [hmac("a"), hmac("b")] }, "b", prints(null, [A, A]), NOW)).toEqual({
      record: { jwtEnabled: true, keys: [hmac("a")], updatedAt: NOW },
    });
    expect(removeKey({ jwtEnabled: true, secret: "s", keys: [hmac("a")] }, "a", prints(S, [A]), NOW)).toEqual({
      record: { jwtEnabled: true, secret: "s", updatedAt: NOW },
    });
  });

  it("removes a key without a kid, or the v1 secret with its encoding, by fingerprint", () => {
    const record: AppRecord = { jwtEnabled: true, secret: "s", secretEncoding: "utf8", keys: [hmac(undefined)] };
    expect(removeKey(record, A, prints(S, [A]), NOW)).toEqual({
      record: { jwtEnabled: true, secret: "s", secretEncoding: "utf8", updatedAt: NOW },
    });
    expect(removeKey(record, S, prints(S, [A]), NOW)).toEqual({
      record: { jwtEnabled: true, keys: [hmac(undefined)], updatedAt: NOW },
    });
  });

  it("answers not found for an unknown kid or fingerprint", () => {
    const record: AppRecord = { jwtEnabled: true, keys: [hmac("a"), hmac("b")] };
    expect(removeKey(record, "c", prints(null, [A, A]), NOW)).toEqual({ notFound: true });
    expect(removeKey(record, "sha256:0000000000000000", prints(null, [A, A]), NOW)).toEqual({ notFound: true });
  });

  it("keeps the last key of an app that checks tokens, and lets an app with enforcement off lose it", () => {
    expect(removeKey({ jwtEnabled: true, keys: [hmac("a")] }, "a", prints(null, [A]), NOW)).toEqual({
      conflict: "The app checks tokens and this is its last key; add another first, or turn enforcement off",
    });
    expect(removeKey({ enforcement: "report", secret: "s" }, S, prints(S, []), NOW)).toHaveProperty("conflict");
    expect(removeKey({ jwtEnabled: false, keys: [hmac("a")] }, "a", prints(null, [A]), NOW)).toEqual({
      record: { jwtEnabled: false, updatedAt: NOW },
    });
  });
});
