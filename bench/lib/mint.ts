/** HS256 tokens for load: node:crypto HMAC, fast enough to pre-mint tens of thousands. */

import { createHmac } from "node:crypto";

const HEADER_NO_KID = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString("base64url");

/** A compact HS256 JWT over `payload`, keyed by the UTF-8 bytes of `secret`, with `kid` when given. */
export function mintHs256(secret: string, payload: Record<string, unknown>, kid?: string): string {
  const header =
    kid === undefined
      ? HEADER_NO_KID
      : Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT", kid })).toString("base64url");
  const body = Buffer.from(JSON.stringify(payload)).toString("base64url");
  const signature = createHmac("sha256", secret).update(`${header}.${body}`).digest("base64url");
  return `${header}.${body}.${signature}`;
}
