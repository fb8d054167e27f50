/**
 * Strict JSON for security decisions. `JSON.parse` accepts an object that names a member twice
 * and keeps the last value; another parser (an origin's, a library's) may keep the first, so a
 * duplicate lets two readers see two different documents (RFC 8725 section 3.7, RFC 7515
 * section 5.2). These helpers parse with `JSON.parse` and then scan the same text to find
 * repeated names and the raw text of top-level members.
 */

export type JsonKind = "string" | "number" | "object" | "array" | "boolean" | "null";

/** A member of the top-level object, with its value's text exactly as written. */
export interface JsonMember {
  readonly name: string;
  readonly kind: JsonKind;
  readonly raw: string;
}

export interface JsonScan {
  /** True when some object, at any depth, names a member twice (after unescaping). */
  readonly duplicateName: boolean;
  /** The top-level object's members in order, or `null` when the root is not an object. */
  readonly members: readonly JsonMember[] | null;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Decodes strict UTF-8 (no overlong forms, no surrogates, and a byte order mark is kept so that
 * `JSON.parse` refuses it). Returns `null` for invalid bytes.
 */
export function decodeUtf8Strict(bytes: Uint8Array): string | null {
  try {
    return UTF8.decode(bytes);
  } catch {
    return null;
  }
}

/** `JSON.parse`, returning `undefined` instead of throwing (its message quotes the input). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The index of the quote that closes the string opening at `start`, in valid JSON text. */
function endOfString(text: string, start: number): number {
  let from = start + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    const backslash = text.indexOf("\\", from);
    if (backslash === -1 || quote < backslash) return quote;
    from = backslash + 2;
  }
}

function kindOf(firstChar: string): JsonKind {
  switch (firstChar) {
    case '"':
      return "string";
    case "{":
      return "object";
    case "[":
      return "array";
    case "t":
    case "f":
      return "boolean";
    case "n":
      return "null";
    default:
      return "number";
  }
}

/**
 * Scans text that `JSON.parse` has already accepted. The scan relies on that: it follows only
 * strings and brackets, and does not validate the grammar again.
 */
export function scanJson(text: string): JsonScan {
  const names: (Set<string> | null)[] = [];
  const rootIsObject = text.trimStart().startsWith("{");
  const members: JsonMember[] = [];
  let duplicateName = false;
  let expectName = false;
  let memberName = "";
  let valueStart = -1;

  const closeMember = (end: number): void => {
    if (names.length === 1 && rootIsObject && valueStart >= 0) {
      const raw = text.slice(valueStart, end).trim();
      members.push({ name: memberName, kind: kindOf(raw.charAt(0)), raw });
      valueStart = -1;
    }
  };

  for (let i = 0; i < text.length; i++) {
    const char = text.charAt(i);
    if (char === '"') {
      const end = endOfString(text, i);
      if (expectName) {
        const raw = text.slice(i, end + 1);
        const name = raw.includes("\\") ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        const seen = names[names.length - 1];
        if (seen) {
          if (seen.has(name)) duplicateName = true;
          seen.add(name);
        }
        if (names.length === 1) memberName = name;
        expectName = false;
      }
      i = end;
    } else if (char === "{") {
      names.push(new Set());
      expectName = true;
    } else if (char === "[") {
      names.push(null);
    } else if (char === "}" || char === "]") {
      closeMember(i);
      names.pop();
    } else if (char === ",") {
      closeMember(i);
      if (names[names.length - 1]) expectName = true;
    } else if (char === ":" && names.length === 1) {
      valueStart = i + 1;
    }
  }
  return { duplicateName, members: rootIsObject ? members : null };
}

/** JSON's whitespace (RFC 8259 section 2): space, tab, line feed, carriage return. */
function isJsonWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

/**
 * How many member names text that `JSON.parse` has accepted holds: each string that is followed
 * (after whitespace) by `:`. Strings are found quote to quote with `indexOf`; a quote is escaped
 * when an odd run of backslashes precedes it (outside strings, valid JSON has no backslash).
 */
export function countMemberNames(text: string): number {
  let names = 0;
  let open = text.indexOf('"');
  while (open >= 0) {
    let close = open;
    for (;;) {
      close = text.indexOf('"', close + 1);
      // Unreachable for text JSON.parse accepted; a guard, not a verdict.
      if (close < 0) return names;
      let backslashes = 0;
      while (text.charCodeAt(close - 1 - backslashes) === 0x5c) backslashes++;
      if (backslashes % 2 === 0) break;
    }
    let next = close + 1;
    while (isJsonWhitespace(text.charCodeAt(next))) next++;
    if (text.charCodeAt(next) === 0x3a) names++;
    open = text.indexOf('"', close + 1);
  }
  return names;
}

/** How many members the objects of a parsed JSON value hold, at any depth. */
function countMembers(value: unknown): number {
  if (typeof value !== "object" || value === null) return 0;
  let members = 0;
  if (Array.isArray(value)) {
    for (const item of value) members += countMembers(item);
    return members;
  }
  for (const name of Object.keys(value)) members += 1 + countMembers((value as Record<string, unknown>)[name]);
  return members;
}

/**
 * True when some object in `text` names a member twice. `JSON.parse` keeps one member per name,
 * so the parsed `value` holds fewer members than the text has names exactly when a name repeats
 * in one object: one pass of `indexOf` over the text and a walk of the (small) value, instead of
 * a scan character by character (`scanJson`, which the tests hold this to).
 */
export function hasDuplicateMember(text: string, value: unknown): boolean {
  return countMemberNames(text) !== countMembers(value);
}

/**
 * The object a JOSE header or JWT claims set must be: strict UTF-8 JSON whose root is an object
 * and in which no object names a member twice. Returns the object, `"not_json_object"` for
 * anything that is not a UTF-8 JSON object, or `"duplicate_member"` when some object names a
 * member twice.
 */
export function parseStrictJsonObject(
  bytes: Uint8Array,
): Record<string, unknown> | "not_json_object" | "duplicate_member" {
  const text = decodeUtf8Strict(bytes);
  if (text === null) return "not_json_object";
  const value = parseJson(text);
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not_json_object";
  if (hasDuplicateMember(text, value)) return "duplicate_member";
  return value as Record<string, unknown>;
}

/** An own member of a parsed JSON object (never one inherited from `Object.prototype`). */
export function ownMember(object: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(object, name) ? object[name] : undefined;
}
