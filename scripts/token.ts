/**
 * npm run -s token -- --app <appId> --user <id> [--exp 1h | -5m] [--alg ALG] [--kid KID]
 *                  [--secret S --encoding base64|utf8 | --key private.pem] [--claim name=value …]
 *
 * Prints a signed token for one app. HMAC (HS256/384/512): with --secret, or else the app's key
 * read from the local KV that `npm start` uses (the key with --kid, or the first of --alg).
 * Public-key algorithms (RS256/384/512, PS256, ES256/384, EdDSA): --key names a private key file,
 * PEM PKCS#8 or a private JWK. The token is the only thing written to stdout. Minting is the
 * issuer's `mintToken` (`edge-authenticator/issuer`), the one code path for every token.
 */

import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import {
  IssuerError,
  isHmacAlgorithm,
  JWS_ALGORITHMS,
  type JwsAlgorithm,
  type MintTokenOptions,
  mintToken,
  type SecretEncoding,
  type SigningKeyInput,
} from "../src/issuer/index.ts";
import { readLocalRecord } from "./lib/local-kv.ts";

const USAGE = `usage: npm run -s token -- --app <appId> --user <id> [--exp 1h | --exp -5m | --exp none]
                      [--app-user <id>] [--customer <id>] [--claim name=value ...]
                      [--alg HS256|HS384|HS512|RS256|RS384|RS512|PS256|ES256|ES384|EdDSA] [--kid <kid>]
                      [--secret <secret> --encoding base64|utf8 | --key <private key file>]`;

function encodingOf(value: unknown): SecretEncoding {
  if (value === undefined || value === "base64") return "base64";
  if (value === "utf8") return "utf8";
  throw new Error("--encoding must be base64 or utf8");
}

/** How the token is signed: what `mintToken` takes as `alg`, `key`, `secretEncoding`. */
interface Signer {
  readonly alg: JwsAlgorithm;
  readonly key: SigningKeyInput;
  readonly secretEncoding?: SecretEncoding;
}

/** The HMAC key for `alg`/`kid` from the app's record in local KV: one of `keys`, or `secret`. */
async function signerFromLocalKv(
  appId: string,
  alg: JwsAlgorithm | undefined,
  kid: string | undefined,
): Promise<{ signer: Signer; kid?: string }> {
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
      alg: key.alg as JwsAlgorithm,
      key: key.secret as string,
      secretEncoding: encodingOf(key.secretEncoding),
    };
    const keyKid = kid ?? (typeof key.kid === "string" ? key.kid : undefined);
    return keyKid === undefined ? { signer } : { signer, kid: keyKid };
  }
  if (typeof record.secret === "string" && kid === undefined && (alg === undefined || alg === "HS256")) {
    return { signer: { alg: "HS256", key: record.secret, secretEncoding: encodingOf(record.secretEncoding) } };
  }
  throw new Error(
    `app ${appId} has no HMAC key${kid ? ` with kid ${kid}` : ""}${alg ? ` for ${alg}` : ""}; ` +
      "public keys sign with --key <private key file>",
  );
}

function parseAlgorithm(text: string): JwsAlgorithm {
  if (!(JWS_ALGORITHMS as readonly string[]).includes(text)) {
    throw new Error(`--alg must be one of ${JWS_ALGORITHMS.join(", ")}`);
  }
  return text as JwsAlgorithm;
}

/** The command-line flag for each option of `mintToken`, for its error messages. */
const FLAGS: Readonly<Record<string, string>> = {
  appId: "--app",
  userId: "--user",
  appUserId: "--app-user",
  customerId: "--customer",
  claims: "--claim",
  expiresIn: "--exp",
  alg: "--alg",
  kid: "--kid",
  secretEncoding: "--encoding",
};

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
  const user = {
    ...(values.user ? { userId: values.user } : {}),
    ...(values["app-user"] ? { appUserId: values["app-user"] } : {}),
    ...(values.customer ? { customerId: values.customer } : {}),
  };
  const claims: Record<string, unknown> = {};
  for (const pair of values.claim ?? []) {
    const equals = pair.indexOf("=");
    if (equals < 1) throw new Error(`--claim must be name=value, not ${pair}`);
    claims[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  if (!appId || Object.keys(user).length + Object.keys(claims).length === 0) {
    throw new Error(`--app and one of --user, --app-user, --customer, --claim are required\n${USAGE}`);
  }
  const alg = values.alg === undefined ? undefined : parseAlgorithm(values.alg);
  if (values.key !== undefined && values.secret !== undefined) throw new Error("--key and --secret exclude each other");

  let signer: Signer;
  let kid = values.kid;
  if (values.key !== undefined) {
    if (alg === undefined || isHmacAlgorithm(alg)) throw new Error("--key needs --alg, a public-key algorithm");
    signer = { alg, key: readFileSync(values.key, "utf8") };
  } else if (values.secret !== undefined) {
    const hmac = alg ?? "HS256";
    if (!isHmacAlgorithm(hmac)) throw new Error(`${hmac} signs with a private key: pass --key <file>`);
    signer = { alg: hmac, key: values.secret, secretEncoding: encodingOf(values.encoding) };
  } else {
    if (alg !== undefined && !isHmacAlgorithm(alg))
      throw new Error(`${alg} signs with a private key: pass --key <file>`);
    ({ signer, kid } = await signerFromLocalKv(appId, alg, kid));
  }
  const options = {
    appId,
    ...user,
    ...(Object.keys(claims).length > 0 ? { claims } : {}),
    ...signer,
    ...(kid === undefined ? {} : { kid }),
    expiresIn: values.exp === "none" ? null : values.exp,
  } as MintTokenOptions;
  try {
    console.log(await mintToken(options));
  } catch (error) {
    if (!(error instanceof IssuerError)) throw error;
    const flag = error.option === "key" ? (values.key === undefined ? "--secret" : "--key") : FLAGS[error.option];
    throw new Error(flag === undefined ? error.message : `${flag}: ${error.message}`);
  }
}

main().catch((error: unknown) => {
  console.error(`token: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
