// What floor, jose and bare-id share, so that they differ only in how they verify: the appId the
// path names, the forwarding with the verified identity, and the rejection.

/** The segment after `/app/` (the gateway's default route), or `undefined` when there is none. */
export function pathAppId(url: string): string | undefined {
  const at = url.indexOf("/app/");
  if (at < 0) return undefined;
  const start = at + 5;
  let end = start;
  while (end < url.length) {
    const c = url.charCodeAt(end);
    if (c === 0x2f || c === 0x3f) break; // "/" or "?"
    end++;
  }
  return end > start ? url.slice(start, end) : undefined;
}

/**
 * Forwards the request with `X-Auth-App-Id` and `X-Auth-User-Id` set, the cheapest way workerd
 * offers: a URL and an init (as the gateway forwards), not `new Request(request, …)`, which
 * copies the request and its `cf` object once more (measured: about 150,000 instructions more).
 */
export function forwardWithIdentity(request: Request, origin: Fetcher, appId: string, userId: string) {
  const headers = new Headers(request.headers);
  headers.set("x-auth-app-id", appId);
  headers.set("x-auth-user-id", userId);
  return origin.fetch(request.url, { method: request.method, headers, body: request.body, redirect: "manual" });
}

export function unauthorized(): Response {
  return new Response(null, { status: 401 });
}

export function notFound(): Response {
  return new Response(null, { status: 404 });
}
