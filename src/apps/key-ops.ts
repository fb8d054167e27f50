/**
 * The admin API's changes to a record, as pure functions of the stored record and the request:
 * replace, merge a PATCH, add a key, remove a key. Each answers the record to write (validated
 * in full by the caller before any write) or why the change cannot be made; none touches KV.
 */

import { enforcementOf } from "./checks.ts";
import {
  type AppRecord,
  type KeyRecord,
  MAX_CLOCK_TOLERANCE_SECONDS,
  MAX_KEYS,
  MAX_REVOCATIONS,
  type WritableFields,
} from "./schema.ts";
import type { KeyFingerprints } from "./view.ts";

export type Change = { readonly record: AppRecord } | { readonly conflict: string } | { readonly notFound: true };

/** How the view names a key without a kid: `sha256:` and 16 hex digits. */
const FINGERPRINT = /^sha256:[0-9a-f]{16}$/;

/**
 * A PUT: the fields as given, created when the app was first written, updated `now` (ISO 8601).
 * The revoked users stay: they are changed through their own routes only.
 */
export function replaceRecord(existing: AppRecord | null, fields: WritableFields, now: string): AppRecord {
  const revocations = existing?.revocations;
  return {
    ...fields,
    ...(revocations === undefined ? {} : { revocations }),
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  };
}

/**
 * Revokes a user's tokens issued before `before` (Unix seconds). Revocations no token can outlive
 * are dropped: older than `maxTokenLifetimeSeconds` (when the app sets it) and the largest clock
 * tolerance an app may have, since a token passes until `exp` plus the tolerance, and the
 * tolerance can be raised later. At most `MAX_REVOCATIONS` in all.
 */
export function revokeUser(existing: AppRecord, userId: string, before: number, nowIso: string): Change {
  const now = Date.parse(nowIso) / 1000;
  const lifetime = existing.maxTokenLifetimeSeconds;
  const kept = Object.entries(existing.revocations ?? {}).filter(
    ([user, since]) =>
      user !== userId && (lifetime === undefined || since + lifetime + MAX_CLOCK_TOLERANCE_SECONDS > now),
  );
  if (kept.length >= MAX_REVOCATIONS) {
    return { conflict: `The app has ${MAX_REVOCATIONS} revoked users; lift some first` };
  }
  const revocations = Object.fromEntries([...kept, [userId, before]]);
  return { record: { ...existing, revocations, updatedAt: nowIso } };
}

/** Lifts a user's revocation; not found when the user is not revoked. */
export function liftRevocation(existing: AppRecord, userId: string, nowIso: string): Change {
  if (existing.revocations === undefined || !Object.hasOwn(existing.revocations, userId)) return { notFound: true };
  const { [userId]: _lifted, ...rest } = existing.revocations;
  const record: AppRecord = { ...existing, revocations: rest, updatedAt: nowIso };
  if (Object.keys(rest).length === 0) delete record.revocations;
  return { record };
}

/**
 * A PATCH: the given fields over the stored ones. The mode field the PATCH names decides: a v1
 * client's `jwtEnabled` replaces a stored `enforcement`, and an `enforcement` sets a stored
 * `jwtEnabled` to match (`report` and `enforce` are `true`).
 */
export function mergePatch(existing: AppRecord, fields: WritableFields, now: string): AppRecord {
  const record: AppRecord = { ...existing, ...fields, updatedAt: now };
  if (fields.jwtEnabled !== undefined && fields.enforcement === undefined) delete record.enforcement;
  if (fields.enforcement !== undefined && fields.jwtEnabled === undefined && record.jwtEnabled !== undefined) {
    record.jwtEnabled = fields.enforcement !== "off";
  }
  return record;
}

/** Adds one key: at most `MAX_KEYS` in all, the v1 secret counted; a kid the app has is a conflict. */
export function addKey(existing: AppRecord, key: KeyRecord, now: string): Change {
  const keys = existing.keys ?? [];
  if (keys.length + (existing.secret === undefined ? 0 : 1) >= MAX_KEYS) {
    return { conflict: `The app has ${MAX_KEYS} keys; remove one first` };
  }
  if (key.kid !== undefined && keys.some((other) => other.kid === key.kid)) {
    return { conflict: "The app has a key with this kid" };
  }
  return { record: { ...existing, keys: [...keys, key], updatedAt: now } };
}

/**
 * Removes one key, named by its kid, or (a key without a kid, the v1 secret too) by its
 * fingerprint. The last key of an app that checks tokens stays: removing it is a conflict.
 */
export function removeKey(existing: AppRecord, name: string, prints: KeyFingerprints, now: string): Change {
  const record: AppRecord = { ...existing, updatedAt: now };
  const keys = existing.keys ?? [];
  let index = keys.findIndex((key) => key.kid === name);
  let isSecret = false;
  if (index < 0 && FINGERPRINT.test(name)) {
    index = keys.findIndex((key, i) => key.kid === undefined && prints.keys[i] === name);
    isSecret = index < 0 && existing.secret !== undefined && prints.secret === name;
  }
  if (isSecret) {
    delete record.secret;
    delete record.secretEncoding;
  } else if (index < 0) {
    return { notFound: true };
  } else {
    const rest = keys.filter((_, i) => i !== index);
    if (rest.length > 0) record.keys = rest;
    else delete record.keys;
  }
  if (record.secret === undefined && record.keys === undefined && enforcementOf(record) !== "off") {
    return { conflict: "The app checks tokens and this is its last key; add another first, or turn enforcement off" };
  }
  return { record };
}
