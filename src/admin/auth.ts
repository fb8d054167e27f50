/**
 * The admin credential (CONTRACT section 5): `Authorization: Bearer {ADMIN_TOKEN}`, compared in
 * constant time over SHA-256 digests of both sides (equal lengths, so neither the length nor the
 * first differing byte of the real token leaks through timing).
 */

import type { MiddlewareHandler } from "hono";
import { GatewayError } from "../errors.ts";

/** Shorter admin tokens are refused outright: the admin API stays disabled. */
export const MIN_ADMIN_TOKEN_CHARS = 32;

const encoder = new TextEncoder();
const BEARER = /^Bearer[ \t]+(\S+)$/i;

function sha256(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", encoder.encode(text));
}

let expected: { token: string; digest: Promise<ArrayBuffer> } | null = null;

/** The digest of the configured token, computed once per isolate and token. */
function expectedDigest(token: string): Promise<ArrayBuffer> {
  if (expected?.token !== token) expected = { token, digest: sha256(token) };
  return expected.digest;
}

/**
 * Checks the admin credential: `503 ADMIN_DISABLED` when `ADMIN_TOKEN` is unset or short,
 * `401 UNAUTHORIZED` for a missing or wrong credential. Only the header is read: a token in the
 * query or a cookie opens nothing.
 */
export async function checkAdminCredential(
  adminToken: string | undefined,
  authorization: string | null,
): Promise<void> {
  if (typeof adminToken !== "string" || adminToken.length < MIN_ADMIN_TOKEN_CHARS) {
    throw new GatewayError("ADMIN_DISABLED");
  }
  const presented = BEARER.exec(authorization?.trim() ?? "")?.[1];
  const [want, got] = await Promise.all([expectedDigest(adminToken), sha256(presented ?? "")]);
  if (presented === undefined || !crypto.subtle.timingSafeEqual(want, got)) throw new GatewayError("UNAUTHORIZED");
}

/** Middleware form, run before any admin route is matched. */
export function adminAuth(): MiddlewareHandler<{ Bindings: { ADMIN_TOKEN?: string } }> {
  return async function adminAuth(c, next) {
    await checkAdminCredential(c.env.ADMIN_TOKEN, c.req.header("authorization") ?? null);
    await next();
  };
}
