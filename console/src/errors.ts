/**
 * Showing what went wrong: every API error as its status, code and message, and each field error
 * with its path (`keys.0.secret: key must be at least 32 bytes`), also at the field itself when
 * the form has one for that path (`aria-invalid`, and the message tied to the control).
 */

import { ApiError, type FieldError } from "./api.ts";
import { h, uid } from "./dom.ts";

/** An empty alert region; `showError` fills it, and screen readers announce it. */
export function errorBox(): HTMLDivElement {
  return h("div", { class: "error-box", role: "alert" });
}

type Control = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

/** The form control for an error path: the one whose `data-path` is the path or its longest parent. */
function controlFor(form: HTMLElement, path: string): Control | null {
  let best: Control | null = null;
  for (const control of form.querySelectorAll<Control>("[data-path]")) {
    const own = control.dataset.path as string;
    if ((path === own || path.startsWith(`${own}.`)) && own.length > (best?.dataset.path?.length ?? -1)) best = control;
  }
  return best;
}

/** Removes what `showError` added to the box and the form. */
export function clearError(box: HTMLElement, form?: HTMLElement): void {
  box.replaceChildren();
  box.classList.remove("shown");
  if (!form) return;
  for (const message of form.querySelectorAll(".field-error")) message.remove();
  for (const control of form.querySelectorAll<Control>("[aria-invalid]")) {
    control.removeAttribute("aria-invalid");
    const described = control.dataset.describedby;
    if (described) control.setAttribute("aria-describedby", described);
    else control.removeAttribute("aria-describedby");
  }
}

/** The heading line of an error: `409 CONFLICT: The app has 3 keys; remove one first`. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    return error.status === 0 ? error.message : `${error.status} ${error.code}: ${error.message}`;
  }
  return `Unexpected error: ${error instanceof Error ? error.message : String(error)}`;
}

/** Shows `error` in `box`: its heading line, then each field error with its path, also at its field in `form`. */
export function showError(box: HTMLElement, error: unknown, form?: HTMLElement): void {
  const errors = error instanceof ApiError ? error.errors : [];
  showMessages(box, describeError(error), errors, form);
}

/** Shows a heading line and field errors (the console's own checks use this too). */
export function showMessages(
  box: HTMLElement,
  heading: string,
  errors: readonly FieldError[],
  form?: HTMLElement,
): void {
  clearError(box, form);
  box.classList.add("shown");
  box.append(h("p", { class: "error-heading" }, heading));
  if (errors.length > 0) {
    box.append(
      h(
        "ul",
        {},
        ...errors.map((error) =>
          h("li", {}, h("code", {}, error.path === "" ? "(body)" : error.path), `: ${error.message}`),
        ),
      ),
    );
  }
  if (!form) return;
  for (const error of errors) {
    const control = controlFor(form, error.path);
    if (!control) continue;
    const message = h("p", { class: "field-error", id: uid("error") }, error.message);
    if (control.getAttribute("aria-invalid") !== "true") {
      control.dataset.describedby = control.getAttribute("aria-describedby") ?? "";
    }
    control.setAttribute("aria-invalid", "true");
    const described = control.getAttribute("aria-describedby");
    control.setAttribute("aria-describedby", described ? `${described} ${message.id}` : message.id);
    control.closest(".field")?.append(message);
  }
}
