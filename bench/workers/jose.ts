// What a developer would write with jose: `jwtVerify` (HS256 only, `exp` required) under a key
// imported once, then the appId and userId checks, forwarding as floor does.
import { jwtVerify } from "jose";
import { forwardWithIdentity, notFound, pathAppId, unauthorized } from "./identity.ts";

declare const BENCH_SECRET: string;
declare const BENCH_APP_ID: string;

let key: CryptoKey | undefined;

export default {
  async fetch(request, env) {
    const appId = pathAppId(request.url);
    if (appId !== BENCH_APP_ID) return notFound();
    const authorization = request.headers.get("authorization");
    if (authorization === null || !authorization.startsWith("Bearer ")) return unauthorized();
    key ??= await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(BENCH_SECRET),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["verify"],
    );
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(authorization.slice(7), key, { algorithms: ["HS256"], requiredClaims: ["exp"] }));
    } catch {
      return unauthorized();
    }
    const { userId } = payload;
    if (payload.appId !== appId || typeof userId !== "string" || userId === "") return unauthorized();
    return forwardWithIdentity(request, env.ORIGIN, appId, userId);
  },
} satisfies ExportedHandler<{ ORIGIN: Fetcher }>;
