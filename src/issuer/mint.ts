/**
 * `mintToken`: the token an app backend gives its SDK, shaped as the gateway checks it (CONTRACT
 * section 3): `appId`, the user (`userId`, `appUserId` or `customerId`), `iat` and `exp`, signed
 * by jose with the app's key. The order is fixed: check every option, then import the key, then
 * sign; nothing is signed from an option that breaks a rule.
 */

import { SignJWT } from "jose";
import type { SecretEncoding } from "../lib/secret-key.ts";
import { isJwsAlgorithm, type JwsAlgorithm } from "./algorithms.ts";
import { parseDuration } from "./duration.ts";
import { IssuerError } from "./errors.ts";
import { importSigningKey, type SigningKeyInput } from "./signing-key.ts";

/** CONTRACT section 1: the appId the gateway accepts in a path. */
const APP_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** The admin API's rule for a kid: 1–128 characters, no control characters. */
const KID = /^[^\p{Cc}]{1,128}$/u;
const USER_CLAIMS = ["userId", "appUserId", "customerId"] as const;
const DEFAULT_EXPIRES_IN = "15m";
/** How long before its `exp` a token minted already expired (negative `expiresIn`) says it was issued. */
const EXPIRED_TOKEN_LIFETIME_SECONDS = 900;

/**
 * Who the token is for: at least one of the claims the gateway names users by. An app whose
 * token policy names users by another claim (`userClaims: ["sub"]`) sets that claim in `claims`.
 */
export type TokenUser =
  | { readonly userId: string; readonly appUserId?: string; readonly customerId?: string }
  | { readonly userId?: string; readonly appUserId: string; readonly customerId?: string }
  | { readonly userId?: string; readonly appUserId?: string; readonly customerId: string }
  | {
      readonly userId?: undefined;
      readonly appUserId?: undefined;
      readonly customerId?: undefined;
      readonly claims: Readonly<Record<string, unknown>>;
    };

export interface MintTokenSettings {
  /** The app the token is for: the `appId` in the SDK's request paths. */
  readonly appId: string;
  /**
   * HMAC (`HS256`, `HS384`, `HS512`): the app's secret exactly as stored in its record (read with
   * `secretEncoding`, as the gateway reads it), or the key bytes, or an `oct` JWK. Public-key
   * algorithms: the private key, as PKCS#8 PEM text, a private JWK (object or JSON text), a
   * `CryptoKey` or a Node `KeyObject`.
   */
  readonly key: SigningKeyInput;
  /** How the record's secret is read: `base64` (the default) or `utf8`. HMAC secrets given as text only. */
  readonly secretEncoding?: SecretEncoding;
  /** The algorithm of the app's key; `HS256` by default. */
  readonly alg?: JwsAlgorithm;
  /** The key's `kid` in the app's record, put into the header: the gateway then tries only that key. */
  readonly kid?: string;
  /**
   * Lifetime: `90s`, `15m` (the default), `1h`, `7d`, or seconds as a number. A negative
   * duration (`-5m`) mints a token that expired that long ago, for testing the expired path.
   * `null`: no `exp` at all (accepted unless the app requires one; not for production).
   */
  readonly expiresIn?: string | number | null;
  /** `iss`, for an app whose policy names issuers. */
  readonly issuer?: string;
  /** `aud`, for an app whose policy names audiences. */
  readonly audience?: string | readonly string[];
  /** More claims (`sub`, `nonce`, …). A claim that an option sets, or `iat`/`exp`, is refused here. */
  readonly claims?: Readonly<Record<string, unknown>>;
  /** The signer's clock, for `iat` and `exp`; now by default. */
  readonly now?: Date;
}

export type MintTokenOptions = MintTokenSettings & TokenUser;

function optionError(option: string, message: string): IssuerError {
  return new IssuerError("INVALID_OPTION", option, message);
}

function nonEmptyString(value: unknown, option: string): string {
  if (typeof value !== "string" || value === "") throw optionError(option, `${option} must be a non-empty string`);
  return value;
}

function unixSeconds(now: Date | undefined): number {
  if (now === undefined) return Math.floor(Date.now() / 1000);
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw optionError("now", "now must be a valid Date");
  return Math.floor(now.getTime() / 1000);
}

/** The claims the options set, in the order a reader expects: appId, user, iss, aud. */
function namedClaims(options: MintTokenOptions): Record<string, unknown> {
  const appId = nonEmptyString(options.appId, "appId");
  if (!APP_ID.test(appId)) throw optionError("appId", "appId must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$");
  const claims: Record<string, unknown> = { appId };
  for (const name of USER_CLAIMS) {
    if (options[name] !== undefined) claims[name] = nonEmptyString(options[name], name);
  }
  if (options.issuer !== undefined) claims.iss = nonEmptyString(options.issuer, "issuer");
  const { audience } = options;
  if (audience !== undefined) {
    const list = typeof audience === "string" ? [audience] : audience;
    if (!Array.isArray(list) || list.length === 0) throw optionError("audience", "audience must be a string or a list");
    for (const item of list) nonEmptyString(item, "audience");
    claims.aud = typeof audience === "string" ? audience : [...list];
  }
  return claims;
}

/** `claims`, checked against what the options set: one source for each claim. */
function extraClaims(options: MintTokenOptions, named: Record<string, unknown>): Record<string, unknown> {
  const { claims = {} } = options;
  if (typeof claims !== "object" || claims === null || Array.isArray(claims)) {
    throw optionError("claims", "claims must be an object");
  }
  for (const name of Object.keys(claims)) {
    if (name === "iat" || name === "exp") throw optionError("claims", `claims.${name} is set by expiresIn and now`);
    if (Object.hasOwn(named, name)) throw optionError("claims", `claims.${name} is already set by an option`);
  }
  if (!USER_CLAIMS.some((name) => Object.hasOwn(named, name)) && Object.keys(claims).length === 0) {
    throw optionError(
      "userId",
      "name the user: userId, appUserId or customerId (or the app's own user claim in claims)",
    );
  }
  return { ...claims };
}

/** `iat` and `exp` for a lifetime (`null`: no `exp`); a negative one is a token that already expired. */
function timeClaims(expiresIn: string | number | null, now: number): { iat: number; exp?: number } {
  if (expiresIn === null) return { iat: now };
  const lifetime = parseDuration(expiresIn, "expiresIn");
  const iat = lifetime < 0 ? now + lifetime - EXPIRED_TOKEN_LIFETIME_SECONDS : now;
  return { iat, exp: now + lifetime };
}

/**
 * A compact JWT for one user of one app, signed with the app's key: the header `{alg, typ:
 * "JWT", kid?}` and the payload `{appId, userId…, iss?, aud?, …claims, iat, exp}`. Throws an
 * `IssuerError` (`INVALID_OPTION` or `INVALID_KEY`, with the option at fault) before signing
 * anything when an option breaks a rule the gateway would refuse the token for.
 */
export async function mintToken(options: MintTokenOptions): Promise<string> {
  if (typeof options !== "object" || options === null) throw optionError("options", "options must be an object");
  const alg = options.alg ?? "HS256";
  if (!isJwsAlgorithm(alg)) throw optionError("alg", "alg must be one of the algorithms the gateway verifies");
  const encoding = options.secretEncoding ?? "base64";
  if (encoding !== "base64" && encoding !== "utf8") {
    throw optionError("secretEncoding", 'secretEncoding must be "base64" or "utf8"');
  }
  const { kid } = options;
  if (kid !== undefined && (typeof kid !== "string" || !KID.test(kid))) {
    throw optionError("kid", "kid must be 1–128 characters without control characters");
  }
  const named = namedClaims(options);
  const payload = {
    ...named,
    ...extraClaims(options, named),
    ...timeClaims(options.expiresIn === undefined ? DEFAULT_EXPIRES_IN : options.expiresIn, unixSeconds(options.now)),
  };
  const key = await importSigningKey(options.key, alg, encoding);
  const header = { alg, typ: "JWT", ...(kid === undefined ? {} : { kid }) };
  try {
    return await new SignJWT(payload).setProtectedHeader(header).sign(key);
  } catch (error) {
    const reason = error instanceof Error ? `: ${error.message}` : "";
    throw new IssuerError("INVALID_KEY", "key", `key cannot sign ${alg}${reason}`, { cause: error });
  }
}
