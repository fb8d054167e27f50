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

/**
 * The object a JOSE header or JWT claims set must be: strict UTF-8 JSON whose root is an object
 * and in which no object names a member twice. Returns the object, `"not_json_object"` for anything
 * that is not a UTF-8 JSON object, or `"duplicate_member"` when some object names a member twice.
 */
export function parseStrictJsonObject(
  bytes: Uint8Array,
): Record<string, unknown> | "not_json_object" | "duplicate_member" {
  const text = decodeUtf8Strict(bytes);
  if (text === null) return "not_json_object";
  const value = parseJson(text);
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not_json_object";
  if (scanJson(text).duplicateName) return "duplicate_member";
  return value as Record<string, unknown>;
}

/** An own member of a parsed JSON object (never one inherited from `Object.prototype`). */
export function ownMember(object: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(object, name) ? object[name] : undefined;
}
