/**
 * Building the page: elements are made with `createElement` and text with `textContent`, never
 * from HTML strings, so nothing a token, a claim or an API answer holds can become markup. (The
 * page's Content-Security-Policy forbids inline script and style: no `style` attributes either,
 * only classes.)
 */

type Child = Node | string | number | null | undefined | false;
type Listener = (event: Event) => void;
type Props = Record<string, string | number | boolean | null | undefined | Listener>;

/** An element with attributes (`on…` functions become listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  // The admin API validates every field and the console shows its errors by path: the browser's
  // own checks (min, max, required) would stop a form before the API could say what is wrong.
  if (element instanceof HTMLFormElement) element.noValidate = true;
  for (const [name, value] of Object.entries(props)) {
    if (typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, "");
    else if (value !== false && value !== null && value !== undefined) element.setAttribute(name, String(value));
  }
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

let nextId = 0;

/** A page-unique id for `for`, `aria-labelledby` and `aria-describedby`. */
export function uid(name: string): string {
  nextId += 1;
  return `${name}-${nextId}`;
}

/**
 * A labelled form control: the label, the control, and a hint under it (tied to the control by
 * `aria-describedby`). `path` is the field's name in the admin API's errors (`keys.0.secret`),
 * so an error can be shown at its field.
 */
export function field<T extends HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>(
  label: string,
  control: T,
  options: { hint?: string; path?: string } = {},
): HTMLDivElement {
  control.id ||= uid("field");
  if (options.path !== undefined) control.dataset.path = options.path;
  const wrapper = h("div", { class: "field" }, h("label", { for: control.id }, label), control);
  if (options.hint !== undefined) {
    const hint = h("p", { class: "hint", id: uid("hint") }, options.hint);
    control.setAttribute("aria-describedby", hint.id);
    wrapper.append(hint);
  }
  return wrapper;
}

/** A `<select>` of `[value, text]` pairs (or plain values), with `selected` chosen. */
export function select(options: readonly (string | readonly [string, string])[], selected?: string): HTMLSelectElement {
  const element = h("select");
  for (const option of options) {
    const [value, text] = typeof option === "string" ? [option, option] : option;
    element.append(h("option", { value, selected: value === selected }, text));
  }
  return element;
}

/** Shows `element` or hides it (the `hidden` attribute, which the stylesheet honours). */
export function show(element: HTMLElement, visible: boolean): void {
  element.hidden = !visible;
}

/** A time as `2026-11-22 11:23:58 UTC` in a `<time>` element, or a dash. */
export function time(iso: string | null | undefined): HTMLElement | string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return h("time", { datetime: date.toISOString() }, formatUtc(date));
}

export function formatUtc(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/**
 * The value of a `datetime-local` input (the browser's local time) as ISO 8601 in UTC, whole
 * seconds without a fraction; `undefined` when empty. A value that is no date is passed on as it
 * is, for the API to name it.
 */
export function localDateTimeIso(input: HTMLInputElement): string | undefined {
  if (input.value === "") return undefined;
  const date = new Date(input.value);
  return Number.isNaN(date.getTime()) ? input.value : date.toISOString().replace(/\.\d+Z$/, "Z");
}

/** A section named by its heading: a landmark a screen reader can jump to. */
export function region(title: string, ...children: Child[]): HTMLElement {
  const heading = h("h2", { id: uid("section") }, title);
  return h("section", { "aria-labelledby": heading.id }, heading, ...children);
}

/**
 * A column of a data table: its header's text or node (a visually-hidden span for a column of
 * buttons), or that with a class for the header cell (`num`: a column of numbers).
 */
export type Column = string | Node | { readonly label: string | Node; readonly class: string };

/**
 * A data table: a header row of column headers (`scope="col"`) over `body`. It is named by a
 * heading (`labelledBy`, the heading's id) or by its own `caption`; `class` styles it.
 */
export function dataTable(
  table: { readonly labelledBy?: string; readonly caption?: HTMLTableCaptionElement; readonly class?: string },
  columns: readonly Column[],
  body: HTMLTableSectionElement,
): HTMLTableElement {
  return h(
    "table",
    { class: table.class, "aria-labelledby": table.labelledBy },
    table.caption,
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ...columns.map((column) =>
          typeof column === "string" || column instanceof Node
            ? h("th", { scope: "col" }, column)
            : h("th", { scope: "col", class: column.class }, column.label),
        ),
      ),
    ),
    body,
  );
}

/** A modal confirmation: resolves `true` when the confirming button is pressed. */
export function confirmDialog(options: {
  title: string;
  body: (string | Node)[];
  confirm: string;
  /** A text the operator must type before the confirming button works (the appId to delete). */
  typed?: { label: string; value: string };
  danger?: boolean;
}): Promise<boolean> {
  return new Promise((resolve) => {
    const titleId = uid("dialog-title");
    const confirmButton = h(
      "button",
      { type: "submit", class: options.danger ? "danger" : "primary" },
      options.confirm,
    );
    const cancelButton = h("button", { type: "button" }, "Cancel");
    const form = h("form", { method: "dialog" }, h("h2", { id: titleId }, options.title));
    for (const part of options.body) form.append(typeof part === "string" ? h("p", {}, part) : part);
    let typedInput: HTMLInputElement | undefined;
    if (options.typed) {
      const { value } = options.typed;
      typedInput = h("input", { type: "text", autocomplete: "off", spellcheck: "false" });
      confirmButton.disabled = true;
      typedInput.addEventListener("input", () => {
        confirmButton.disabled = typedInput?.value !== value;
      });
      form.append(field(options.typed.label, typedInput));
    }
    form.append(h("div", { class: "actions" }, confirmButton, cancelButton));
    const dialog = h("dialog", { "aria-labelledby": titleId }, form);
    let confirmed = false;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (confirmButton.disabled) return;
      confirmed = true;
      dialog.close();
    });
    cancelButton.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(confirmed);
    });
    document.body.append(dialog);
    dialog.showModal();
    (typedInput ?? cancelButton).focus();
  });
}

/** Copies `text` to the clipboard; `false` when the browser refuses (then the text is selected for a manual copy). */
export async function copyText(text: string, fallback: HTMLInputElement | HTMLTextAreaElement): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    fallback.focus();
    fallback.select();
    return false;
  }
}
