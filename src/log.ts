/**
 * Structured logs: one JSON line per event. Callers pass fixed field values (appIds, codes,
 * reasons); nothing here accepts a token, a secret or a claim value, and error messages from
 * parsers (which quote their input) are never logged.
 */

export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

export function logEvent(level: "info" | "warn" | "error", event: string, fields: LogFields = {}): void {
  const line = JSON.stringify({ level, event, ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

/** Where an unexpected error was thrown: its class and stack frames, without its message. */
export function describeUnexpected(error: unknown): LogFields {
  if (!(error instanceof Error)) return { error: typeof error };
  const frames = (error.stack ?? "").split("\n").filter((line) => line.trimStart().startsWith("at "));
  return { error: error.name, stack: frames.slice(0, 8).join("\n") };
}
