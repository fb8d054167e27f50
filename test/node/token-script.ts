// `npm run token` (scripts/token.ts) and the issuer it mints with (src/issuer, the package's
// `edge-authenticator/issuer`) on Node: every algorithm signs a token that jose verifies with the
// matching public key, with the kid and claims asked for.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createSecretKey, generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { decodeProtectedHeader, jwtVerify } from "jose";
import { mintToken } from "../../src/issuer/index.ts";

const run = promisify(execFile);
const TOKEN_SCRIPT = fileURLToPath(new URL("../../scripts/token.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "token-script-"));

type KeyGen = () => ReturnType<typeof generateKeyPairSync>;
const PUBLIC: Record<string, KeyGen> = {
  RS256: () => generateKeyPairSync("rsa", { modulusLength: 2048 }),
  PS256: () => generateKeyPairSync("rsa", { modulusLength: 2048 }),
  ES256: () => generateKeyPairSync("ec", { namedCurve: "P-256" }),
  ES384: () => generateKeyPairSync("ec", { namedCurve: "P-384" }),
  EdDSA: () => generateKeyPairSync("ed25519"),
};

const claims = { sub: "u-42" };

describe("mintToken on Node", () => {
  for (const [alg, generate] of Object.entries(PUBLIC)) {
    it(`${alg}: a PKCS#8 PEM or a private JWK signs a token jose verifies with the public key`, async () => {
      const { privateKey, publicKey } = generate();
      const pem = privateKey.export({ type: "pkcs8", format: "pem" }) as string;
      const jwk = JSON.stringify(privateKey.export({ format: "jwk" }));
      for (const text of [pem, jwk]) {
        const token = await mintToken({
          appId: "AP1",
          userId: "u-42",
          claims,
          expiresIn: 60,
          kid: "k1",
          alg: alg as "RS256",
          key: text,
        });
        const { payload } = await jwtVerify(token, publicKey, { algorithms: [alg] });
        assert.deepEqual(decodeProtectedHeader(token), { alg, typ: "JWT", kid: "k1" });
        assert.equal(payload.appId, "AP1");
        assert.equal(payload.sub, "u-42");
        assert.equal((payload.exp as number) - (payload.iat as number), 60);
      }
    });
  }

  for (const [alg, bytes] of [
    ["HS256", 32],
    ["HS384", 48],
    ["HS512", 64],
  ] as const) {
    it(`${alg}: a secret of ${bytes} bytes signs; one byte less is refused`, async () => {
      const key = randomBytes(bytes);
      const token = await mintToken({
        appId: "AP1",
        userId: "u-42",
        expiresIn: null,
        alg,
        key: key.toString("base64"),
        secretEncoding: "base64",
      });
      const { payload } = await jwtVerify(token, createSecretKey(key), { algorithms: [alg] });
      assert.equal(payload.exp, undefined);
      await assert.rejects(
        mintToken({ appId: "AP1", userId: "u-42", alg, key: key.subarray(1).toString("base64") }),
        /at least/,
      );
    });
  }

  it("a Node KeyObject signs as its PEM does", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const token = await mintToken({ appId: "AP1", userId: "u-42", alg: "ES256", key: privateKey });
    const { payload } = await jwtVerify(token, publicKey, { algorithms: ["ES256"] });
    assert.equal(payload.userId, "u-42");
  });

  it("refuses a public key where a private key is needed", async () => {
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const spki = publicKey.export({ type: "spki", format: "pem" }) as string;
    await assert.rejects(mintToken({ appId: "A", userId: "u-42", alg: "ES256", key: spki }), /PKCS#8/);
  });
});

describe("npm run token (the command line)", () => {
  it("--alg ES256 --key private.pem --kid --claim prints only the token", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const file = join(dir, "es256.pem");
    writeFileSync(file, privateKey.export({ type: "pkcs8", format: "pem" }));
    const { stdout } = await run(process.execPath, [
      TOKEN_SCRIPT,
      ...["--app", "AP1", "--claim", "sub=u-7", "--alg", "ES256", "--key", file, "--kid", "2026-11", "--exp", "15m"],
    ]);
    const token = stdout.trim();
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const { payload, protectedHeader } = await jwtVerify(token, publicKey, { algorithms: ["ES256"] });
    assert.equal(protectedHeader.kid, "2026-11");
    assert.equal(payload.sub, "u-7");
  });

  it("--exp -5m mints a token that expired five minutes ago (a negative duration)", async () => {
    const secret = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 7 + 1) & 0xff)).toString("base64");
    const before = Math.floor(Date.now() / 1000);
    const { stdout } = await run(process.execPath, [
      TOKEN_SCRIPT,
      ...["--app", "AP1", "--user", "u-1", "--secret", secret, "--exp", "-5m"],
    ]);
    const token = stdout.trim();
    await assert.rejects(
      jwtVerify(token, createSecretKey(Buffer.from(secret, "base64")), { algorithms: ["HS256"] }),
      /"exp" claim timestamp check failed/,
    );
    const payload = JSON.parse(Buffer.from(token.split(".")[1] as string, "base64url").toString()) as {
      iat: number;
      exp: number;
    };
    assert.ok(Math.abs(payload.exp - (before - 300)) <= 2);
    assert.ok(payload.iat < payload.exp);
  });

  it("--encoding utf8 --exp none signs with the text's bytes and sets no exp", async () => {
    const passphrase = "a passphrase of more than thirty-two characters";
    const { stdout } = await run(process.execPath, [
      TOKEN_SCRIPT,
      ...["--app", "AP1", "--customer", "c-1", "--secret", passphrase, "--encoding", "utf8", "--exp", "none"],
    ]);
    const { payload } = await jwtVerify(stdout.trim(), new TextEncoder().encode(passphrase), { algorithms: ["HS256"] });
    assert.deepEqual(Object.keys(payload), ["appId", "customerId", "iat"]);
  });

  it("exits 1 naming the flag at fault: a short --secret, a bad --exp", async () => {
    const bytes = (length: number) => Buffer.from(Array.from({ length }, (_, i) => i + 1)).toString("base64");
    for (const [args, message] of [
      [["--secret", bytes(16)], /^token: --secret: key must be at least 32 bytes\n$/],
      [["--secret", bytes(32), "--exp", "soon"], /^token: --exp: expiresIn must be a duration/],
    ] as const) {
      // The outcome only: a failed command's error would quote its arguments, the secret among them.
      const outcome = await run(process.execPath, [TOKEN_SCRIPT, "--app", "AP1", "--user", "u", ...args]).then(
        ({ stdout }) => ({ code: 0, stdout, stderr: "" }),
        (error: { code?: number; stdout?: string; stderr?: string }) => error,
      );
      assert.deepEqual({ code: outcome.code, stdout: outcome.stdout }, { code: 1, stdout: "" });
      assert.match(outcome.stderr ?? "", message);
    }
  });

  it("exits 1 with a message for a public-key algorithm without --key", async () => {
    await assert.rejects(
      run(process.execPath, [TOKEN_SCRIPT, "--app", "AP1", "--user", "u", "--alg", "RS256", "--secret", "x"]),
      (error: { code?: number; stderr?: string }) => error.code === 1 && /--key/.test(error.stderr ?? ""),
    );
  });
});
