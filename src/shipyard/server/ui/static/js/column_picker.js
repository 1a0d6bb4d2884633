// The runs table's column picker: the param, metric and tag keys present in the project, each a
// checkbox, with a search box. It only reports choices; the table owns the state (in its URL).
import { h } from "./common.js";

const GROUPS = [["metrics", "Metrics"], ["params", "Params"], ["tags", "Tags"]];

/**
 * Wire a <details> picker. `keys` is {metrics, params, tags}; `chosen()` the column ids shown
 * ("metrics.acc"); `onToggle(id, on)` and `onReset()` change them.
 */
export function initColumnPicker({ details, search, groups, reset, keys, chosen, onToggle, onReset }) {
  const render = () => {
    const query = search.value.trim().toLowerCase();
    const shown = new Set(chosen());
    const parts = GROUPS.map(([kind, label]) => {
      const matching = keys[kind].filter((key) => !query || key.toLowerCase().includes(query));
      if (!matching.length) return null;
      return h("div", { role: "group", "aria-label": label }, h("h3", { text: label }), matching.map((key) => {
        const id = `${kind}.${key}`;
        const box = h("input", { type: "checkbox", checked: shown.has(id), "data-column": id });
        box.addEventListener("change", () => onToggle(id, box.checked));
        return h("label", {}, box, key);
      }));
    }).filter(Boolean);
    if (!parts.length) {
      parts.push(h("p", { class: "muted", text: query ? "No key matches." : "No params, metrics or tags logged yet." }));
    }
    groups.replaceChildren(...parts);
  };
  details.addEventListener("toggle", () => {
    if (!details.open) return;
    render();
    search.focus();
  });
  search.addEventListener("input", render);
  reset.addEventListener("click", () => {
    onReset();
    render();
  });
  details.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    details.open = false;
    details.querySelector("summary").focus();
  });
  document.addEventListener("click", (event) => {
    if (details.open && !details.contains(event.target)) details.open = false;
  });
}
