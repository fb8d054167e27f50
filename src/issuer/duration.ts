/** Token lifetimes as people write them: `90s`, `15m`, `1h`, `7d`, or seconds as a number. */

import { IssuerError } from "./errors.ts";

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };
const DURATION = /^(-?)(\d+)([smhd]?)$/;

/**
 * Seconds in `90`, `90s`, `15m`, `1h` or `7d` (a number is seconds already); a leading `-` makes
 * it negative (`-5m`: a token that expired five minutes ago, for testing the expired path).
 * Throws an `IssuerError` naming `option` for anything else.
 */
export function parseDuration(value: string | number, option = "expiresIn"): number {
  if (typeof value === "number") {
    if (Number.isSafeInteger(value)) return value;
    throw new IssuerError("INVALID_OPTION", option, `${option} must be a whole number of seconds`);
  }
  const match = typeof value === "string" ? DURATION.exec(value.trim()) : null;
  if (!match) {
    throw new IssuerError(
      "INVALID_OPTION",
      option,
      `${option} must be a duration: 90s, 15m, 1h, 7d, or -5m for an expired token`,
    );
  }
  const [, sign, amount, unit] = match;
  return (sign ? -1 : 1) * Number(amount) * (UNIT_SECONDS[unit || "s"] as number);
}
