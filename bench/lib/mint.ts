/** HS256 tokens for load: node:crypto HMAC, fast enough to pre-mint tens of thousands. */

import { createHmac } from "node:crypto";

const HEADER = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString("base64url");

/** A compact HS256 JWT over `payload`, keyed by the UTF-8 bytes of `secret`. */
export function mintHs256(secret: string, payload: Record<string, unknown>): string {
  const body = Buffer.from(JSON.stringify(payload)).toString("base64url");
  const signature = createHmac("sha256", secret).update(`${HEADER}.${body}`).digest("base64url");
  return `${HEADER}.${body}.${signature}`;
}
