/**
 * The gateway's own answers to a browser SDK: readable by the page that asked (its `Origin`
 * echoed, never with credentials), so an SDK sees the error and not a network failure. The
 * answers hold nothing but the gateway's own JSON, so echoing the origin exposes nothing.
 */

/** Lets the requesting page read `response` (and `exposeHeaders`, when given); as is without `Origin`. */
export function readableByPage(request: Request, response: Response, exposeHeaders?: string): Response {
  const origin = request.headers.get("origin");
  if (origin === null) return response;
  response.headers.set("access-control-allow-origin", origin);
  response.headers.append("vary", "Origin");
  if (exposeHeaders !== undefined) response.headers.set("access-control-expose-headers", exposeHeaders);
  return response;
}
