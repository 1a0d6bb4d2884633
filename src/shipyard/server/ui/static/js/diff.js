// Unified diffs as coloured lines (text only), and tables of package changes.
import { h } from "./common.js";

const MAX_LINES = 20000;

function lineClass(line) {
  if (line.startsWith("diff --git") || line.startsWith("diff -")) return "file";
  if (line.startsWith("+++") || line.startsWith("---") || line.startsWith("index ") ||
      line.startsWith("new file") || line.startsWith("deleted file") || line.startsWith("similarity") ||
      line.startsWith("rename ") || line.startsWith("Binary files")) return "meta";
  if (line.startsWith("@@")) return "hunk";
  if (line.startsWith("+")) return "add";
  if (line.startsWith("-")) return "del";
  return "ctx";
}

/** A <pre> with one coloured span per line of a unified diff. */
export function renderDiff(text, label = "Unified diff") {
  const lines = text.replace(/\n$/, "").split("\n");
  const shown = lines.slice(0, MAX_LINES);
  const pre = h("pre", { class: "diff", "aria-label": label, tabindex: "0" },
    shown.map((line) => h("span", { class: `line ${lineClass(line)}`, text: `${line}\n` })));
  const files = lines.filter((l) => lineClass(l) === "file").length || 1;
  const added = lines.filter((l) => lineClass(l) === "add").length;
  const removed = lines.filter((l) => lineClass(l) === "del").length;
  const summary = h("p", { class: "muted small diff-summary" },
    `${files} file${files === 1 ? "" : "s"} · `, h("span", { class: "add-count", text: `+${added}` }),
    " ", h("span", { class: "del-count", text: `−${removed}` }),
    lines.length > MAX_LINES ? ` · first ${MAX_LINES.toLocaleString("en-US")} lines shown` : "");
  return h("div", { class: "diff-view" }, summary, pre);
}

function text(value) {
  if (value === null || value === undefined) return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}

const CHANGE_KINDS = ["changed", "added", "removed"];

/** Rows {change, name, a, b} of a package diff: {added: {name: v}, removed, changed: {name: {a, b}}}. */
export function packageRows(packages) {
  if (Array.isArray(packages)) {
    return packages.map((p) => ({ change: p.change ?? "", name: p.name ?? "", a: p.a, b: p.b }));
  }
  const rows = [];
  for (const change of CHANGE_KINDS) {
    for (const [name, value] of Object.entries((packages || {})[change] || {})) {
      if (change === "changed") rows.push({ change, name, a: value?.a, b: value?.b });
      else if (change === "added") rows.push({ change, name, a: undefined, b: value });
      else rows.push({ change, name, a: value, b: undefined });
    }
  }
  return rows;
}

/** A table of package changes between run A and run B. */
export function packagesTable(packages, labelA = "Run A", labelB = "Run B") {
  const rows = packageRows(packages);
  if (!rows.length) return h("p", { class: "muted", text: "Same packages in both runs." });
  return h("table", { class: "data-table packages-diff" },
    h("caption", { class: "visually-hidden", text: "Package changes" }),
    h("thead", {}, h("tr", {}, ["Change", "Package", labelA, labelB].map((t) => h("th", { scope: "col", text: t })))),
    h("tbody", {}, rows.map((r) => h("tr", {},
      h("td", { text: r.change || "changed" }), h("th", { scope: "row", class: "mono", text: r.name }),
      h("td", { class: "mono", text: text(r.a) }), h("td", { class: "mono", text: text(r.b) })))));
}
