// src/lib: the fast paths held to the slow references, over random inputs (fast-check).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeBase64urlNative, decodeBase64urlPortable, encodeBase64url } from "../../src/lib/base64url.ts";
import { countMemberNames, hasDuplicateMember, scanJson } from "../../src/lib/json.ts";

/** A JSON string literal for `name`, sometimes with an escape where plain text would do. */
const nameLiteral = fc
  .tuple(fc.constantFrom("a", "b", "userId", "a\\", 'q"', ":", "é", "__proto__"), fc.boolean())
  .map(([name, escaped]) => {
    const literal = JSON.stringify(name);
    return escaped && name.startsWith("a") ? `"\\u0061${literal.slice(2)}` : literal;
  });

const space = fc.constantFrom("", " ", "\n\t", "\r\n ");

/** JSON text of objects and arrays whose names often repeat, with strings that look like names. */
const jsonText: fc.Arbitrary<string> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constantFrom('":"', '"\\":"', '"\\\\"', "1", "null", "true", '"x\\\\\\""'),
    tie("object"),
    tie("array"),
  ),
  object: fc
    .array(fc.tuple(nameLiteral, space, space, tie("value")), { maxLength: 5 })
    .map((members) => `{${members.map(([name, a, b, value]) => `${a}${name}${b}:${a}${value}`).join(",")}}`),
  array: fc.array(tie("value"), { maxLength: 4 }).map((items) => `[${items.join(" , ")}]`),
})).object as fc.Arbitrary<string>;

describe("hasDuplicateMember", () => {
  it("agrees with the character scanner on objects whose names repeat", () => {
    fc.assert(
      fc.property(jsonText, (text) => {
        const value = JSON.parse(text) as unknown;
        expect(hasDuplicateMember(text, value)).toBe(scanJson(text).duplicateName);
      }),
      { numRuns: 2000 },
    );
  });

  it("agrees with the character scanner on any JSON", () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        expect(hasDuplicateMember(text, JSON.parse(text) as unknown)).toBe(scanJson(text).duplicateName);
      }),
      { numRuns: 2000 },
    );
  });

  it("counts names, not strings that hold a colon or an escaped quote", () => {
    expect(countMemberNames('{"a":":","b\\"":"\\":","c" : [":"]}')).toBe(3);
    expect(hasDuplicateMember('{"a":1,"\\u0061":2}', { a: 2 })).toBe(true);
    expect(hasDuplicateMember('{"x":{"a":1},"y":{"a":1}}', { x: { a: 1 }, y: { a: 1 } })).toBe(false);
  });
});

describe("decodeBase64url: the native decoder and the portable one", () => {
  const texts = fc.oneof(
    fc.uint8Array({ maxLength: 40 }).map(encodeBase64url),
    fc.uint8Array({ minLength: 1, maxLength: 40 }).map((bytes) => {
      // The trailing-bit variant: the last character moved within its group.
      const text = encodeBase64url(bytes);
      return `${text.slice(0, -1)}${text.endsWith("A") ? "B" : "A"}`;
    }),
    fc.string({ unit: fc.constantFrom(..."AQw_-+/= \n.%é"), maxLength: 12 }),
  );

  it("agree on every text", () => {
    fc.assert(
      fc.property(texts, (text) => {
        expect(decodeBase64urlNative(text)).toEqual(decodeBase64urlPortable(text));
      }),
      { numRuns: 5000 },
    );
  });

  it("refuse padding, whitespace, the other alphabet and trailing bits", () => {
    for (const text of ["AQ==", "AQ=", "A Q", "A+Q", "A/Q", "AR", "A", "AQ\n"]) {
      expect(decodeBase64urlNative(text)).toBeNull();
      expect(decodeBase64urlPortable(text)).toBeNull();
    }
    expect(decodeBase64urlNative("AQID")).toEqual(Uint8Array.of(1, 2, 3));
  });
});
