// Cells of a runs-table row: name (linked), status badge, times, tags and chosen param, metric or
// tag columns. Every value is inserted as text.
import { fmtDuration, fmtNumber, h, paramText, runPage, statusBadge, timeEl } from "./common.js";

const MAX_TAG_CHIPS = 3;

function durationOf(run) {
  const end = run.end_time ?? (run.status === "RUNNING" ? Date.now() : null);
  return end === null ? null : end - run.start_time;
}

function tagChips(tags) {
  const entries = Object.entries(tags).filter(([key]) => !key.startsWith("shipyard."));
  const chips = entries.slice(0, MAX_TAG_CHIPS).map(([key, value]) =>
    h("li", { class: "chip", title: `${key}: ${value}` }, h("span", { class: "chip-key", text: key }), value));
  if (entries.length > MAX_TAG_CHIPS) {
    chips.push(h("li", { class: "chip more", text: `+${entries.length - MAX_TAG_CHIPS}` }));
  }
  return chips.length ? h("ul", { class: "chips", style: { margin: "0" } }, chips) : h("span", { class: "muted", text: "—" });
}

/** Whether a run is the parent run of a sweep (its id is the sweep's id). */
function isSweep(run) {
  return run.tags["shipyard.sweep.role"] === "sweep" || run.tags["shipyard.sweep.id"] === run.id;
}

export function cell(run, col) {
  switch (col.id) {
    case "name":
      return h("th", { scope: "row", class: "name-cell" },
        run.parent_id ? h("span", { class: "child-mark", title: "Child run", text: "↳" }) : null,
        h("a", { href: runPage(run.id), class: "run-name", title: run.name || run.id, text: run.name || run.id }),
        isSweep(run) ? h("a", { href: `/sweeps/${encodeURIComponent(run.id)}`, class: "badge sweep-badge",
          "aria-label": `sweep: results of ${run.name || run.id}`, text: "sweep" }) : null);
    case "status": return h("td", {}, statusBadge(run.status));
    case "start_time": return h("td", {}, timeEl(run.start_time));
    case "duration": return h("td", { class: "num", text: fmtDuration(durationOf(run)) });
    case "user": return h("td", { text: run.user || "—" });
    case "tags": return h("td", {}, tagChips(run.tags));
    default: break;
  }
  if (col.kind === "metrics") {
    const m = run.metrics[col.key];
    const title = m ? `min ${fmtNumber(m.min)} · max ${fmtNumber(m.max)} · ${m.count} points` : null;
    return h("td", { class: "num mono", title, text: m ? fmtNumber(m.last) : "—" });
  }
  if (col.kind === "params") {
    return h("td", { class: "mono", text: col.key in run.params ? paramText(run.params[col.key]) : "—" });
  }
  return h("td", { text: run.tags[col.key] ?? "—" });
}
