// The no-check path of floor and jose: the same appId from the path and the same forwarding with
// the identity headers (a fixed user), without looking at the token.
import { forwardWithIdentity, notFound, pathAppId } from "./identity.ts";

declare const BENCH_APP_ID: string;
declare const BENCH_USER_ID: string;

export default {
  fetch(request, env) {
    const appId = pathAppId(request.url);
    if (appId !== BENCH_APP_ID) return notFound();
    return forwardWithIdentity(request, env.ORIGIN, appId, BENCH_USER_ID);
  },
} satisfies ExportedHandler<{ ORIGIN: Fetcher }>;
