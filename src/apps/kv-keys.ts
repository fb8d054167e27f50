/**
 * App identifiers and the KV keys of their records (docs/storage.md). Stable: changing the
 * prefix orphans every record.
 */

/** KV key prefix of app records: `app:{appId}`. */
export const APP_KEY_PREFIX = "app:";

/** `^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`: CONTRACT section 1. */
export const APP_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function appKey(appId: string): string {
  return `${APP_KEY_PREFIX}${appId}`;
}
