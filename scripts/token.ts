/**
 * npm run -s token -- --app <appId> --user <id> [--exp 1h | -5m] [--alg ALG] [--kid KID]
 *                  [--secret S --encoding base64|utf8 | --key private.pem] [--claim name=value …]
 *
 * Prints a signed token for one app. HMAC (HS256/384/512): with --secret, or else the app's key
 * read from the local KV that `npm start` uses (the key with --kid, or the first of --alg).
 * Public-key algorithms (RS256/384/512, PS256, ES256/384, EdDSA): --key names a private key file,
 * PEM PKCS#8 or a private JWK. The token is the only thing written to stdout.
 */

import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { SecretEncoding } from "../src/apps/secret.ts";
import { type HmacAlgorithm, isHmacAlgorithm } from "../src/token/algorithms.ts";
import { readLocalRecord } from "./lib/local-kv.ts";
import { mintAppToken, parseAlgorithm, parseDuration, type Signer } from "./lib/mint.ts";

const USAGE = `usage: npm run -s token -- --app <appId> --user <id> [--exp 1h | --exp -5m | --exp none]
                      [--app-user <id>] [--customer <id>] [--claim name=value ...]
                      [--alg HS256|HS384|HS512|RS256|RS384|RS512|PS256|ES256|ES384|EdDSA] [--kid <kid>]
                      [--secret <secret> --encoding base64|utf8 | --key <private key file>]`;

function encodingOf(value: unknown): SecretEncoding {
  if (value === undefined || value === "base64") return "base64";
  if (value === "utf8") return "utf8";
  throw new Error("--encoding must be base64 or utf8");
}

/** The HMAC key for `alg`/`kid` from the app's record in local KV: one of `keys`, or `secret`. */
async function signerFromLocalKv(appId: string, alg: string | undefined, kid: string | undefined) {
  const record = await readLocalRecord(appId);
  if (!record) throw new Error(`no app ${appId} in local KV; run npm start once, or pass --secret or --key`);
  const keys = Array.isArray(record.keys) ? (record.keys as Record<string, unknown>[]) : [];
  const key = keys.find(
    (candidate) =>
      typeof candidate.secret === "string" &&
      (kid === undefined || candidate.kid === kid) &&
      (alg === undefined || candidate.alg === alg),
  );
  if (key) {
    const signer: Signer = {
      alg: key.alg as HmacAlgorithm,
      secret: key.secret as string,
      encoding: encodingOf(key.secretEncoding),
    };
    return { signer, kid: kid ?? (typeof key.kid === "string" ? key.kid : undefined) };
  }
  if (typeof record.secret === "string" && kid === undefined && (alg === undefined || alg === "HS256")) {
    return { signer: { alg: "HS256", secret: record.secret, encoding: encodingOf(record.secretEncoding) } as Signer };
  }
  throw new Error(
    `app ${appId} has no HMAC key${kid ? ` with kid ${kid}` : ""}${alg ? ` for ${alg}` : ""}; ` +
      "public keys sign with --key <private key file>",
  );
}

/**
 * The arguments, with `--exp -5m` read as `--exp=-5m`: `parseArgs` takes a value that starts with
 * `-` for another option and refuses it.
 */
function joinNegativeDurations(args: readonly string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const next = args[i + 1];
    if (args[i] === "--exp" && next !== undefined && /^-\d/.test(next)) {
      joined.push(`--exp=${next}`);
      i++;
    } else joined.push(args[i] as string);
  }
  return joined;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: joinNegativeDurations(process.argv.slice(2)),
    options: {
      app: { type: "string" },
      user: { type: "string" },
      "app-user": { type: "string" },
      customer: { type: "string" },
      claim: { type: "string", multiple: true },
      exp: { type: "string", default: "1h" },
      alg: { type: "string" },
      kid: { type: "string" },
      key: { type: "string" },
      secret: { type: "string" },
      encoding: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const appId = values.app;
  const claims: Record<string, unknown> = {};
  if (values.user) claims.userId = values.user;
  if (values["app-user"]) claims.appUserId = values["app-user"];
  if (values.customer) claims.customerId = values.customer;
  for (const pair of values.claim ?? []) {
    const equals = pair.indexOf("=");
    if (equals < 1) throw new Error(`--claim must be name=value, not ${pair}`);
    claims[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  if (!appId || Object.keys(claims).length === 0) {
    throw new Error(`--app and one of --user, --app-user, --customer, --claim are required\n${USAGE}`);
  }
  const alg = values.alg === undefined ? undefined : parseAlgorithm(values.alg);
  if (values.key !== undefined && values.secret !== undefined) throw new Error("--key and --secret exclude each other");

  let signer: Signer;
  let kid = values.kid;
  if (values.key !== undefined) {
    if (alg === undefined || isHmacAlgorithm(alg)) throw new Error("--key needs --alg, a public-key algorithm");
    signer = { alg, privateKey: readFileSync(values.key, "utf8") };
  } else if (values.secret !== undefined) {
    const hmac = alg ?? "HS256";
    if (!isHmacAlgorithm(hmac)) throw new Error(`${hmac} signs with a private key: pass --key <file>`);
    signer = { alg: hmac, secret: values.secret, encoding: encodingOf(values.encoding) };
  } else {
    if (alg !== undefined && !isHmacAlgorithm(alg))
      throw new Error(`${alg} signs with a private key: pass --key <file>`);
    ({ signer, kid } = await signerFromLocalKv(appId, alg, kid));
  }
  const lifetimeSeconds = values.exp === "none" ? null : parseDuration(values.exp);
  console.log(await mintAppToken({ appId, claims, lifetimeSeconds, ...(kid === undefined ? {} : { kid }) }, signer));
}

main().catch((error: unknown) => {
  console.error(`token: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
