/** Minting tokens for people: the same key derivation as the gateway, signed by jose. */

import { SignJWT } from "jose";
import { deriveKeyBytes, type SecretEncoding } from "../../src/apps/secret.ts";

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Seconds in a duration like `90`, `90s`, `15m`, `1h` or `7d`. Throws on anything else. */
export function parseDuration(text: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!match) throw new Error(`not a duration: ${text} (use 90s, 15m, 1h or 7d)`);
  return Number(match[1]) * (UNITS[match[2] || "s"] as number);
}

export interface MintOptions {
  readonly appId: string;
  readonly claims: Record<string, string>;
  readonly secret: string;
  readonly encoding: SecretEncoding;
  /** Lifetime in seconds; `null` for a token without `exp`. */
  readonly lifetimeSeconds: number | null;
  readonly now?: number;
}

/** An HS256 token for `appId` with `iat`, optional `exp`, and the given user claims. */
export function mintAppToken(options: MintOptions): Promise<string> {
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = { appId: options.appId, ...options.claims, iat: now };
  if (options.lifetimeSeconds !== null) payload.exp = now + options.lifetimeSeconds;
  const key = deriveKeyBytes(options.secret, options.encoding);
  return new SignJWT(payload).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(key);
}
