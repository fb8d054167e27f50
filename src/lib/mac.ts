/**
 * Short MACs under keys derived from a secret: what seals the admin API's list cursors and the
 * challenge nonces. Each use names its own label, so one secret never signs two kinds of thing.
 */

const encoder = new TextEncoder();

/** 128 bits of HMAC-SHA-256: enough against forgery, short enough for a URL or a claim. */
export const MAC_BYTES = 16;

/** An HMAC-SHA-256 signing key: SHA-256 of `label`, a newline and `secret`. */
export async function deriveMacKey(label: string, secret: string): Promise<CryptoKey> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(`${label}\n${secret}`));
  return crypto.subtle.importKey("raw", digest, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

/** The first `MAC_BYTES` of the HMAC of `message` under `key`. */
export async function shortMac(key: CryptoKey, message: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(message)), 0, MAC_BYTES);
}
