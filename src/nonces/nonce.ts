/**
 * Challenge nonces (the Dotdigital challenge): issued by the gateway for one app, checked by any
 * isolate anywhere without shared state. A nonce is random bytes and its expiry, MAC'd with a
 * key derived from the `NONCE_SECRET` Worker secret over the appId too, so it cannot be forged,
 * extended, or carried to another app:
 *
 *   base64url(version 1 ‖ expiry, Unix seconds, 4 bytes ‖ 16 random bytes) "." base64url(MAC, 16 bytes)
 */

import { decodeBase64url, encodeBase64url } from "../lib/base64url.ts";
import { deriveMacKey, MAC_BYTES, shortMac } from "../lib/mac.ts";

/** How long a nonce may be put into a token: five minutes after it is issued. */
export const NONCE_TTL_SECONDS = 300;
/**
 * How long after its expiry a nonce may still be claimed by its first token (one issued while the
 * nonce was valid and sent late); after that no token can claim it, bound before or not.
 */
export const NONCE_CLAIM_GRACE_SECONDS = 86_400;
const VERSION = 1;
const RANDOM_BYTES = 16;
/** Domain separation: this key signs nonces and nothing else. */
const KEY_LABEL = "edge-authenticator nonce v1";

/** The MAC key for nonces, derived from `NONCE_SECRET`. */
export function nonceKey(nonceSecret: string): Promise<CryptoKey> {
  return deriveMacKey(KEY_LABEL, nonceSecret);
}

function mac(key: CryptoKey, appId: string, body: string): Promise<Uint8Array> {
  return shortMac(key, `${appId}\n${body}`);
}

/** A new nonce for `appId`, valid for `NONCE_TTL_SECONDS` from `nowSeconds`. */
export async function issueNonce(key: CryptoKey, appId: string, nowSeconds: number): Promise<string> {
  const bytes = new Uint8Array(5 + RANDOM_BYTES);
  bytes[0] = VERSION;
  new DataView(bytes.buffer).setUint32(1, Math.floor(nowSeconds) + NONCE_TTL_SECONDS);
  crypto.getRandomValues(bytes.subarray(5));
  const body = encodeBase64url(bytes);
  return `${body}.${encodeBase64url(await mac(key, appId, body))}`;
}

/** A nonce this gateway issued for `appId`: its identity (the text before the dot: version, expiry, random bytes) and expiry. */
export interface IssuedNonce {
  readonly id: string;
  /** Unix seconds. */
  readonly expiresAt: number;
}

/** The nonce, when this gateway issued it for `appId` (whatever its expiry); else `null`. */
export async function readNonce(key: CryptoKey, appId: string, nonce: string): Promise<IssuedNonce | null> {
  const dot = nonce.indexOf(".");
  if (dot < 0 || nonce.length > 128) return null;
  const body = nonce.slice(0, dot);
  const bytes = decodeBase64url(body);
  const presented = decodeBase64url(nonce.slice(dot + 1));
  if (bytes === null || presented === null || bytes.length !== 5 + RANDOM_BYTES || bytes[0] !== VERSION) return null;
  if (presented.length !== MAC_BYTES) return null;
  if (!crypto.subtle.timingSafeEqual(await mac(key, appId, body), presented)) return null;
  return { id: body, expiresAt: new DataView(bytes.buffer, bytes.byteOffset).getUint32(1) };
}
