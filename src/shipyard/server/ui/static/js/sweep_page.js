// The sweep page: the best-so-far chart (each completed trial's value, pruned trials' last
// reported values, the best value so far), the trials table's sorting (kept in the URL as
// ?sort=value or ?sort=-value), and parallel coordinates over the completed trials.
import { currentTheme, h, loadPlotly, replaceQuery, runPage } from "./common.js";
import { drawParcoords, plotlyText } from "./parcoords.js";

const sweep = JSON.parse(document.getElementById("sweep-data").textContent);
const trials = new Map(sweep.trials.map((t) => [String(t.number), t]));
const STATE_ORDER = ["COMPLETE", "RUNNING", "PRUNED", "FAIL", "REQUEUED"];
const LAST_TRIAL = Math.max(0, ...sweep.trials.map((t) => t.number));
const GOAL_ARROW = sweep.goal === "maximize" ? "↑" : "↓";

// -- the best-so-far chart ------------------------------------------------------------------

function historyTraces(v) {
  const { complete, pruned, best } = sweep.history;
  const hover = (what) => `Trial %{x}${what}<br>%{y:.6g}<extra></extra>`;
  return [
    { type: "scatter", mode: "markers", name: "Pruned (last reported)", x: pruned.map((p) => p.number),
      y: pruned.map((p) => p.value), customdata: pruned.map((p) => [p.run, p.step]),
      marker: { color: v("--hunk"), symbol: "x-thin-open", size: 8, line: { width: 2, color: v("--hunk") } },
      hovertemplate: hover(" (pruned at step %{customdata[1]})"), legendrank: 3 },
    { type: "scatter", mode: "markers", name: "Trial value", x: complete.map((p) => p.number),
      y: complete.map((p) => p.value), customdata: complete.map((p) => [p.run]),
      marker: { color: v("--accent"), size: 8, opacity: 0.85 }, hovertemplate: hover(""), legendrank: 1 },
    { type: "scatter", mode: "lines", name: `Best so far ${GOAL_ARROW}`, x: best.map((p) => p.number),
      y: best.map((p) => p.value), line: { color: v("--ok"), width: 2.2, shape: "hv" },
      hovertemplate: hover(" best so far"), legendrank: 2 },
  ];
}

function historyLayout(v) {
  const axis = { gridcolor: v("--border"), zerolinecolor: v("--border-strong"), linecolor: v("--border-strong"),
    tickfont: { color: v("--muted") }, automargin: true };
  return {
    margin: { l: 8, r: 12, t: 8, b: 8 }, paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
    font: { family: v("--font"), color: v("--muted"), size: 11 },
    xaxis: { ...axis, title: { text: "trial", font: { size: 11 } }, range: [-0.5, LAST_TRIAL + 0.5],
      tickformat: "d", zeroline: false },
    yaxis: { ...axis, title: { text: plotlyText(sweep.metric), font: { size: 11 } } },
    hoverlabel: { bgcolor: v("--surface"), bordercolor: v("--border-strong"), font: { color: v("--text") } },
    legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom", font: { color: v("--text") } },
    uirevision: currentTheme(),
  };
}

async function drawHistory() {
  const el = document.getElementById("history-chart");
  const { complete, pruned } = sweep.history;
  if (!complete.length && !pruned.length) {
    el.replaceChildren(h("p", { class: "chart-message", text: "No trial has reported a value yet." }));
    return;
  }
  try {
    const Plotly = await loadPlotly();
    const css = getComputedStyle(document.documentElement);
    const v = (name) => css.getPropertyValue(name).trim();
    if (!el.dataset.drawn) el.replaceChildren();
    await Plotly.react(el, historyTraces(v), historyLayout(v),
      { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"] });
    el.dataset.drawn = "true";
    el.dataset.points = String(complete.length + pruned.length);
    if (!el.dataset.clicks) {
      el.dataset.clicks = "true";
      el.on("plotly_click", (event) => {
        const run = event.points[0]?.customdata?.[0];
        if (run) location.assign(runPage(run));
      });
    }
  } catch (err) {
    el.replaceChildren(h("p", { class: "chart-message", text: `Could not draw: ${err.message}` }));
  }
}

// -- the trials table -----------------------------------------------------------------------

const table = document.getElementById("trials-table");

function sortValue(trial, key) {
  if (key === "number" || key === "value" || key === "duration") return trial[key] ?? null;
  if (key === "state") return STATE_ORDER.indexOf(trial.state);
  const param = trial.params[key.slice("params.".length)];
  return param === undefined ? null : param;
}

function compare(a, b) {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

function readSort() {
  const text = new URLSearchParams(location.search).get("sort") || "number";
  const key = text.replace(/^-/, "");
  const known = [...table.tHead.querySelectorAll("th[data-sort]")].some((th) => th.dataset.sort === key);
  return known ? { key, desc: text.startsWith("-") } : { key: "number", desc: false };
}

function applySort({ key, desc }) {
  const rows = [...table.tBodies[0].rows];
  const keyed = rows.map((row) => ({ row, trial: trials.get(row.dataset.trial) }));
  keyed.sort((x, y) => {
    const a = sortValue(x.trial, key);
    const b = sortValue(y.trial, key);
    if (a === null || b === null) return (a === null) - (b === null) || x.trial.number - y.trial.number;
    return (desc ? -compare(a, b) : compare(a, b)) || x.trial.number - y.trial.number;
  });
  table.tBodies[0].append(...keyed.map((k) => k.row));
  for (const th of table.tHead.querySelectorAll("th[data-sort]")) {
    const sorted = th.dataset.sort === key;
    const order = desc ? "descending" : "ascending";
    th.setAttribute("aria-sort", sorted ? order : "none");
    th.querySelector(".arrow").textContent = sorted ? (desc ? "↓" : "↑") : "↕";
    const label = th.querySelector(".sort").firstChild.textContent;
    th.querySelector(".sort").setAttribute("aria-label", `Sort by ${label}${sorted ? `, sorted ${order}` : ""}`);
  }
}

function initTable() {
  if (!table) return;
  applySort(readSort());
  table.tHead.addEventListener("click", (event) => {
    const th = event.target.closest("th[data-sort]");
    if (!th) return;
    const current = readSort();
    const desc = current.key === th.dataset.sort ? !current.desc : th.dataset.sort === "value" && sweep.goal === "maximize";
    const q = new URLSearchParams(location.search);
    const sort = `${desc ? "-" : ""}${th.dataset.sort}`;
    if (sort === "number") q.delete("sort");
    else q.set("sort", sort);
    replaceQuery(q);
    applySort({ key: th.dataset.sort, desc });
  });
}

// -- parallel coordinates -------------------------------------------------------------------

function drawTrialParcoords() {
  const metric = sweep.dimensions[sweep.dimensions.length - 1];
  return drawParcoords(document.getElementById("parcoords"), {
    dimensions: sweep.dimensions,
    line: (v) => ({
      color: metric?.values ?? [], colorscale: "Viridis", reversescale: sweep.goal !== "maximize",
      showscale: true,
      colorbar: { title: { text: plotlyText(sweep.metric), font: { color: v("--muted") } }, tickfont: { color: v("--muted") },
        thickness: 12, outlinewidth: 0 },
    }),
    empty: "Parallel coordinates need at least two completed trials and a param that varies.",
  });
}

initTable();
drawHistory();
drawTrialParcoords();
document.addEventListener("shipyard:theme", () => {
  drawHistory();
  drawTrialParcoords();
});
