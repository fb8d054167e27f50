/// <reference lib="esnext.typedarrays" />
// The floor: the least work a correct HS256 gateway can do, the physical limit, not a competitor.
// The key is imported once and kept; the token is split at its dots; one `crypto.subtle.verify`;
// `JSON.parse` of the payload; `exp`, `appId` and `userId` checked; then forwarded with the
// identity headers as jose and bare-id forward (bench/workers/identity.ts). No KV (the app record is this constant), no request binding, no strict parsing.
import { forwardWithIdentity, notFound, pathAppId, unauthorized } from "./identity.ts";

declare const BENCH_SECRET: string;
declare const BENCH_APP_ID: string;

const UTF8 = new TextEncoder();
const TEXT = new TextDecoder();
const BASE64URL = { alphabet: "base64url" } as const;
let key: CryptoKey | undefined;

export default {
  async fetch(request, env) {
    const appId = pathAppId(request.url);
    if (appId !== BENCH_APP_ID) return notFound();
    const authorization = request.headers.get("authorization");
    if (authorization === null || !authorization.startsWith("Bearer ")) return unauthorized();
    const token = authorization.slice(7);
    const dot1 = token.indexOf(".");
    const dot2 = token.indexOf(".", dot1 + 1);
    if (dot1 < 0 || dot2 < 0) return unauthorized();
    try {
      key ??= await crypto.subtle.importKey(
        "raw",
        UTF8.encode(BENCH_SECRET),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["verify"],
      );
      const signature = Uint8Array.fromBase64(token.slice(dot2 + 1), BASE64URL);
      if (!(await crypto.subtle.verify("HMAC", key, signature, UTF8.encode(token.slice(0, dot2)))))
        return unauthorized();
      const claims = JSON.parse(TEXT.decode(Uint8Array.fromBase64(token.slice(dot1 + 1, dot2), BASE64URL)));
      const { exp, userId } = claims;
      if (typeof exp !== "number" || exp <= Date.now() / 1000) return unauthorized();
      if (claims.appId !== appId || typeof userId !== "string" || userId === "") return unauthorized();
      return forwardWithIdentity(request, env.ORIGIN, appId, userId);
    } catch {
      // Not base64url, not JSON, a claim no header can carry: rejected like a bad signature.
      return unauthorized();
    }
  },
} satisfies ExportedHandler<{ ORIGIN: Fetcher }>;
