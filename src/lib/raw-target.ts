/**
 * The request path exactly as the runtime presents it. The path is cut from the `request.url`
 * string: `new URL()` would resolve dot segments and decode nothing consistently, so the gateway
 * would judge one path and forward another.
 */

export interface RawTarget {
  /** From the first `/` after the authority up to `?` (or the end). Never empty. */
  readonly path: string;
  /** The query without its `?`; `""` when there is none or it is empty. */
  readonly query: string;
  /** `path` and the `?query` part exactly as received, for the forwarded URL. */
  readonly pathAndQuery: string;
}

/** Splits `request.url` without parsing it. A fragment never reaches a server, so none is cut. */
export function rawTarget(url: string): RawTarget {
  const scheme = url.indexOf("://");
  const pathStart = url.indexOf("/", scheme < 0 ? 0 : scheme + 3);
  if (pathStart < 0) return { path: "/", query: "", pathAndQuery: "/" };
  const pathAndQuery = url.slice(pathStart);
  const queryStart = pathAndQuery.indexOf("?");
  if (queryStart < 0) return { path: pathAndQuery, query: "", pathAndQuery };
  return { path: pathAndQuery.slice(0, queryStart), query: pathAndQuery.slice(queryStart + 1), pathAndQuery };
}

/**
 * Hono's `getPath` for health and admin routes: the raw path, never a decoded one (`/%61dmin`
 * is not `/admin`), without one trailing `/` (`/admin/apps/` is `/admin/apps`, as SDK routes
 * accept one trailing `/` too).
 */
export function routePath(request: Request | string): string {
  const { path } = rawTarget(typeof request === "string" ? request : request.url);
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}

/**
 * The host of a URL string, lower-cased, without port (`[::1]` keeps its brackets), cut from the
 * string as the path is.
 */
export function rawHost(url: string): string {
  const start = url.indexOf("://") + 3;
  let end = url.indexOf("/", start);
  if (end < 0) end = url.length;
  const authority = url.slice(start, end).toLowerCase();
  if (authority.startsWith("[")) return authority.slice(0, authority.indexOf("]") + 1);
  return authority.split(":", 1)[0] as string;
}
