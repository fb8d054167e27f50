/**
 * Paging a searched list with the API's cursor: **Next page** and **Previous page** walk a stack
 * of the cursors before the page shown, and the search runs when typing pauses or on Enter, from
 * the first page.
 */

/** Typing pauses this long before the search runs. */
const SEARCH_DELAY_MS = 250;

/**
 * Wires a list's pager and search to `load` (which shows the page at a cursor, `null`: the first
 * page). `earlier` is the screen's stack of the cursors of the pages before the one shown (`null`:
 * the first page), `current` the cursor of the page shown; Next page reads the next page's cursor
 * from its `data-cursor`.
 */
export function wirePaging(list: {
  readonly next: HTMLButtonElement;
  readonly previous: HTMLButtonElement;
  readonly search: HTMLInputElement;
  readonly searchForm: HTMLFormElement;
  readonly earlier: (string | null)[];
  readonly current: () => string | null;
  readonly load: (cursor: string | null) => Promise<void>;
}): void {
  const { next, previous, search, searchForm, earlier, current, load } = list;
  next.addEventListener("click", () => {
    earlier.push(current());
    void load(next.dataset.cursor || null);
  });
  previous.addEventListener("click", () => {
    void load(earlier.pop() ?? null);
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  function searchNow(): void {
    clearTimeout(timer);
    earlier.length = 0;
    void load(null);
  }
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(searchNow, SEARCH_DELAY_MS);
  });
  searchForm.addEventListener("submit", (event) => {
    event.preventDefault();
    searchNow();
  });
}
