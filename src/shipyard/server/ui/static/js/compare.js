// The compare page: overlaid metric charts per shared key, parallel coordinates over numeric
// params and final metrics, the "only differences" switch, and the code & packages diff of two
// runs (GET /api/v1/runs/diff, when the hub has it).
import { api, apiUrl, h, replaceQuery } from "./common.js";
import { lazyCharts } from "./charts.js";
import { packagesTable, renderDiff } from "./diff.js";
import { numericDimensions, sharedMetricKeys } from "./compare_data.js";
import { drawParcoords } from "./parcoords.js";

const runs = JSON.parse(document.getElementById("compare-data").textContent);

function initCharts() {
  const grid = document.getElementById("compare-charts");
  const keys = sharedMetricKeys(runs);
  if (!keys.length) {
    grid.replaceChildren(h("p", { class: "muted", text: "These runs share no metric." }));
    return;
  }
  const cards = keys.map((key) => h("figure", { class: "card chart-card", "data-key": key },
    h("figcaption", {}, h("span", { class: "chart-title mono", text: key }),
      h("span", { class: "muted small", text: `${runs.filter((r) => key in r.metrics).length} runs` })),
    h("div", { class: "chart", role: "img", "aria-label": `Line chart of ${key} for each run` })));
  grid.replaceChildren(...cards);
  lazyCharts(cards, (card) => runs.filter((r) => card.dataset.key in r.metrics)
    .map((r) => ({ runId: r.id, key: card.dataset.key, name: r.name, color: r.color })));
}

function drawRunParcoords() {
  const n = runs.length;
  return drawParcoords(document.getElementById("parcoords"), {
    dimensions: numericDimensions(runs),
    line: () => ({
      color: runs.map((_, i) => i), cmin: 0, cmax: n - 1,
      colorscale: runs.map((r, i) => [i / (n - 1), r.color]),
    }),
    empty: "Parallel coordinates need at least two numeric params or metrics that every run has.",
  });
}

function initDifferencesToggle() {
  const toggle = document.getElementById("only-differences");
  const table = document.getElementById("compare-table");
  toggle.checked = new URLSearchParams(location.search).get("diff") === "1";
  table.classList.toggle("only-differences", toggle.checked);
  toggle.addEventListener("change", () => {
    table.classList.toggle("only-differences", toggle.checked);
    const q = new URLSearchParams(location.search);
    if (toggle.checked) q.set("diff", "1");
    else q.delete("diff");
    replaceQuery(q);
  });
}

// -- code & packages ------------------------------------------------------------------------

function codeSection(code, nameA, nameB) {
  if (!code) return h("p", { class: "muted", text: "No code recorded for these runs." });
  const notes = (code.notes || []).map((note) => h("p", { class: "muted small", text: note }));
  if (code.identical) {
    const commit = code.a?.commit ? ` (commit ${code.a.commit.slice(0, 12)})` : "";
    return h("div", {}, h("p", { class: "muted", text: `Same code${commit}.` }), notes);
  }
  const commits = code.same_commit ? "same commit, different uncommitted changes" :
    `commit ${code.a?.commit?.slice(0, 12) ?? "—"} → ${code.b?.commit?.slice(0, 12) ?? "—"}`;
  return h("div", {}, h("p", { class: "muted small", text: commits }), notes,
    code.patch ? renderDiff(code.patch, `Code changes from ${nameA} to ${nameB}`) :
      h("p", { class: "muted", text: "No patch to show." }));
}

function packagesSection(packages, nameA, nameB) {
  if (!packages) return h("p", { class: "muted", text: "No packages recorded." });
  if (packages.recorded === false) {
    return h("p", { class: "muted", text: "At least one of these runs recorded no packages." });
  }
  if (packages.same) {
    return h("p", { class: "muted", text: `Same ${packages.count?.a ?? ""} packages in both runs.` });
  }
  const unchanged = packages.unchanged ? h("p", { class: "muted small", text: `${packages.unchanged} unchanged.` }) : null;
  return h("div", {}, packagesTable(packages, nameA, nameB), unchanged);
}

async function loadCodeDiff() {
  const el = document.getElementById("code-diff");
  const a = document.getElementById("diff-a")?.value ?? runs[0].id;
  const b = document.getElementById("diff-b")?.value ?? runs[1].id;
  const name = (id) => runs.find((r) => r.id === id)?.name ?? id;
  if (a === b) {
    el.replaceChildren(h("p", { class: "muted", text: "Pick two different runs." }));
    return;
  }
  el.replaceChildren(h("p", { class: "muted", text: "Loading…" }));
  let diff;
  try {
    diff = await api(apiUrl("/api/v1/runs/diff", { a, b }));
  } catch (err) {
    const missing = err.status === 404 || err.status === 405;
    el.replaceChildren(h("p", { class: "muted", text: missing ?
      "Diff not available: this hub cannot compare code and packages yet." : `Diff not available: ${err.message}` }));
    return;
  }
  el.replaceChildren(
    h("h3", { class: "subhead", text: `Code: ${name(a)} → ${name(b)}` }),
    codeSection(diff.code, name(a), name(b)),
    h("h3", { class: "subhead", text: "Packages" }),
    packagesSection(diff.packages, name(a), name(b)));
}

initCharts();
drawRunParcoords();
document.addEventListener("shipyard:theme", () => drawRunParcoords());
initDifferencesToggle();
for (const id of ["diff-a", "diff-b"]) document.getElementById(id)?.addEventListener("change", loadCodeDiff);
loadCodeDiff();
