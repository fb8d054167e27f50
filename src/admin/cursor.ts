/**
 * List cursors this API issues: KV's cursor, sealed with an HMAC under a key derived from
 * `ADMIN_TOKEN`, so a cursor that did not come from this API (a typo, a cursor of another
 * namespace, garbage) is `400` instead of an empty page, which KV gives for a cursor it does not
 * know. Rotating `ADMIN_TOKEN` ends the cursors issued under the old one.
 */

import { encodeBase64url as base64url, decodeBase64url } from "../lib/base64url.ts";
import { deriveMacKey, MAC_BYTES, shortMac } from "../lib/mac.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
/** Domain separation: this key signs cursors and nothing else. */
const CURSOR_KEY_LABEL = "edge-authenticator list cursor v1";

let cached: { adminToken: string; key: Promise<CryptoKey> } | null = null;

/** The HMAC key for cursors, derived once per isolate and admin token. */
function cursorKey(adminToken: string): Promise<CryptoKey> {
  if (cached?.adminToken !== adminToken) {
    cached = { adminToken, key: deriveMacKey(CURSOR_KEY_LABEL, adminToken) };
  }
  return cached.key;
}

/** The MAC of a cursor, bound to the listing's appId prefix: a cursor goes on the listing it came from. */
async function mac(kvCursor: string, prefix: string, adminToken: string): Promise<Uint8Array> {
  return shortMac(await cursorKey(adminToken), `${prefix}\n${kvCursor}`);
}

/** `base64url(kvCursor).base64url(mac)`: opaque to the client, checkable here. */
export async function sealCursor(kvCursor: string, prefix: string, adminToken: string): Promise<string> {
  return `${base64url(encoder.encode(kvCursor))}.${base64url(await mac(kvCursor, prefix, adminToken))}`;
}

/** KV's cursor inside `cursor`, or `null` when this API did not issue it for this prefix. */
export async function openCursor(cursor: string, prefix: string, adminToken: string): Promise<string | null> {
  const dot = cursor.indexOf(".");
  if (dot < 1) return null;
  const inner = decodeBase64url(cursor.slice(0, dot));
  const presented = decodeBase64url(cursor.slice(dot + 1));
  if (inner === null || presented === null || presented.byteLength !== MAC_BYTES) return null;
  let kvCursor: string;
  try {
    kvCursor = decoder.decode(inner);
  } catch {
    return null;
  }
  const expected = await mac(kvCursor, prefix, adminToken);
  return crypto.subtle.timingSafeEqual(expected, presented) ? kvCursor : null;
}
