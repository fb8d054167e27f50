/**
 * The request path exactly as the runtime presents it, and the SDK route rules of CONTRACT
 * section 1. The path is cut from the `request.url` string: `new URL()` would resolve dot
 * segments and decode nothing consistently, so the gateway would judge one path and forward
 * another.
 */

import { badRequest } from "../errors.ts";

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
 * The appId an SDK route names, or `undefined` when the path is no SDK route. The default rule
 * (no `APP_ROUTES`): the segment after the first segment `app` that is followed by a non-empty
 * one. Otherwise the first pattern, in order, that matches.
 */
export function matchAppId(path: string, appRoutes: readonly URLPattern[] | null): string | undefined {
  if (appRoutes === null) {
    const segments = path.split("/");
    for (let i = 1; i < segments.length - 1; i++) {
      if (segments[i] === "app" && segments[i + 1] !== "") return segments[i + 1];
    }
    return undefined;
  }
  for (const pattern of appRoutes) {
    const appId = pattern.exec({ pathname: path })?.pathname.groups.appId;
    if (appId !== undefined) return appId;
  }
  return undefined;
}

const PERCENT_TRIPLET = /%(?![0-9A-Fa-f]{2})/;
/** Controls (C0, DEL, C1): `%00` truncates paths in C-based servers, `%0A` splits log lines. */
const CONTROL = /\p{Cc}/u;

/**
 * Path hygiene on SDK routes: no empty segment (one trailing `/` is allowed), valid
 * percent-encoding, and no segment that decodes to `.` or `..` or holds `/`, `\` or a control
 * character. Such paths
 * mean different things to different servers, so the gateway refuses them rather than authorize
 * one reading and forward another. Throws `400 BAD_REQUEST`.
 */
export function checkPathHygiene(path: string): void {
  const segments = path.split("/");
  // segments[0] is the empty text before the leading "/".
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i] as string;
    if (segment === "") {
      if (i === segments.length - 1 && i > 1) continue;
      throw badRequest("Path has an empty segment");
    }
    let decoded = segment;
    if (segment.includes("%")) {
      if (PERCENT_TRIPLET.test(segment)) throw badRequest("Path has invalid percent-encoding");
      try {
        decoded = decodeURIComponent(segment);
      } catch {
        throw badRequest("Path has invalid percent-encoding");
      }
    }
    if (decoded === "." || decoded === ".." || decoded.includes("/") || decoded.includes("\\")) {
      throw badRequest("Path has a dot segment or an encoded separator");
    }
    if (CONTROL.test(decoded)) throw badRequest("Path has a control character");
  }
}
