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
  const files = lines.filter((l) => lineClass(l) === "file").length;
  const added = lines.filter((l) => lineClass(l) === "add").length;
  const removed = lines.filter((l) => lineClass(l) === "del").length;
  const summary = h("p", { class: "muted small diff-summary" },
    `${files || 1} file${files === 1 ? "" : "s"} · `, h("span", { class: "add-count", text: `+${added}` }),
    " ", h("span", { class: "del-count", text: `−${removed}` }),
    lines.length > MAX_LINES ? ` · first ${MAX_LINES.toLocaleString("en-US")} lines shown` : "");
  return h("div", { class: "diff-view" }, summary, pre);
}

function text(value) {
  if (value === null || value === undefined) return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Rows {change, name, a, b} from the shapes a package diff may take. */
export function packageRows(packages) {
  if (Array.isArray(packages)) {
    return packages.map((p) => (typeof p === "object" && p !== null ?
      { change: p.change ?? p.status ?? p.kind ?? "", name: p.name ?? p.package ?? "",
        a: p.a ?? p.old ?? p.from ?? p.before, b: p.b ?? p.new ?? p.to ?? p.after } :
      { change: "", name: String(p), a: undefined, b: undefined }));
  }
  const rows = [];
  for (const [change, entries] of Object.entries(packages || {})) {
    if (Array.isArray(entries)) {
      entries.forEach((e) => rows.push(typeof e === "object" && e !== null ?
        { change, name: e.name ?? "", a: e.a ?? e.old ?? e.from, b: e.b ?? e.new ?? e.to } : { change, name: String(e) }));
    } else if (entries && typeof entries === "object") {
      for (const [name, v] of Object.entries(entries)) {
        if (Array.isArray(v)) rows.push({ change, name, a: v[0], b: v[1] });
        else if (v && typeof v === "object") rows.push({ change, name, a: v.a ?? v.old ?? v.from, b: v.b ?? v.new ?? v.to });
        else rows.push({ change, name, a: change === "added" ? undefined : v, b: change === "removed" ? undefined : v });
      }
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
