/**
 * The SDK route rules of CONTRACT section 1: which paths are SDK routes, the appId they name, and
 * path hygiene. Paths are judged as the runtime presents them (`lib/raw-target.ts`).
 */

import { APP_ID_PATTERN } from "../apps/kv-keys.ts";
import type { GatewayConfig } from "../config.ts";
import { badRequest, refusal } from "../errors.ts";

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
      throw badRequest("path_empty_segment", "Path has an empty segment");
    }
    let decoded = segment;
    if (segment.includes("%")) {
      if (PERCENT_TRIPLET.test(segment)) throw badRequest("path_bad_percent", "Path has invalid percent-encoding");
      try {
        decoded = decodeURIComponent(segment);
      } catch {
        throw badRequest("path_bad_percent", "Path has invalid percent-encoding");
      }
    }
    if (decoded === "." || decoded === ".." || decoded.includes("/") || decoded.includes("\\")) {
      throw badRequest("path_dot_segment", "Path has a dot segment or an encoded separator");
    }
    if (CONTROL.test(decoded)) throw badRequest("path_control_character", "Path has a control character");
  }
}

/** The appId a request is for, once its path has passed the route and hygiene rules. */
export function resolveAppId(path: string, config: GatewayConfig): string {
  const appId = matchAppId(path, config.appRoutes);
  if (appId === undefined) throw refusal("route_not_found");
  checkPathHygiene(path);
  if (!APP_ID_PATTERN.test(appId)) throw badRequest("app_id_invalid", "Invalid appId in path");
  return appId;
}
