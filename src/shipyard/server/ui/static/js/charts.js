// Metric charts with plotly.js: one chart per key (one trace per run on the compare page),
// drawn when scrolled into view, from server-downsampled history (about one point per pixel, so a
// million-point metric draws as fast as a small one). Shared options (x axis, log scale, EMA
// smoothing) live in the URL query and apply to every chart of the page.
import { api, apiUrl, currentTheme, h, loadPlotly, replaceQuery, runPath, toNumber } from "./common.js";

const MIN_POINTS = 200;
const MAX_POINTS = 4000;
const X_MODES = ["step", "time", "relative"];
const listeners = new Set();
export const options = readOptions();

function readOptions() {
  const q = new URLSearchParams(location.search);
  const smooth = Math.min(0.99, Math.max(0, Number(q.get("smooth")) || 0));
  return { x: X_MODES.includes(q.get("x")) ? q.get("x") : "step", log: q.get("log") === "1", smooth };
}

function writeOptions() {
  const q = new URLSearchParams(location.search);
  const set = (key, value, fallback) => (value === fallback ? q.delete(key) : q.set(key, value));
  set("x", options.x, "step");
  set("log", options.log ? "1" : "0", "0");
  set("smooth", String(options.smooth), "0");
  replaceQuery(q);
}

function syncControls() {
  for (const bar of document.querySelectorAll("[data-chart-controls]")) {
    bar.querySelector('[data-control="x"]').value = options.x;
    bar.querySelector('[data-control="log"]').checked = options.log;
    bar.querySelector('[data-control="smooth"]').value = String(options.smooth);
    bar.querySelector('[data-output="smooth"]').textContent = options.smooth.toFixed(2);
  }
}

/** Wire every chart control bar of the page to the shared options (once). */
export function initControls() {
  if (initControls.done) return;
  initControls.done = true;
  for (const bar of document.querySelectorAll("[data-chart-controls]")) {
    bar.querySelector('[data-control="x"]').addEventListener("change", (e) => update({ x: e.target.value }));
    bar.querySelector('[data-control="log"]').addEventListener("change", (e) => update({ log: e.target.checked }));
    bar.querySelector('[data-control="smooth"]').addEventListener("input", (e) => update({ smooth: Number(e.target.value) }));
  }
  syncControls();
  document.addEventListener("shipyard:theme", () => listeners.forEach((fn) => fn()));
}

function update(changes) {
  Object.assign(options, changes);
  syncControls();
  writeOptions();
  listeners.forEach((fn) => fn());
}

// -- data transforms ------------------------------------------------------------------------

/** Debiased exponential moving average (as TensorBoard draws it); gaps stay gaps. */
export function ema(values, weight) {
  let last = 0;
  let count = 0;
  return values.map((v) => {
    if (v === null) return null;
    last = last * weight + (1 - weight) * v;
    count += 1;
    return last / (1 - weight ** count);
  });
}

function relativeScale(series) {
  const spans = series.map((s) => (s.timestamps.length ? s.timestamps[s.timestamps.length - 1] - s.timestamps[0] : 0));
  const span = Math.max(0, ...spans) / 1000;
  if (span >= 7200) return { div: 3600, unit: "hours" };
  if (span >= 120) return { div: 60, unit: "minutes" };
  return { div: 1, unit: "seconds" };
}

function xOf(s, scale) {
  if (options.x === "time") return s.timestamps;
  if (options.x === "relative") {
    const t0 = s.timestamps[0] ?? 0;
    return s.timestamps.map((t) => (t - t0) / 1000 / scale.div);
  }
  return s.steps;
}

function traces(series) {
  const scale = relativeScale(series);
  const many = series.length > 1;
  const smooth = options.smooth > 0;
  const out = [];
  for (const s of series) {
    const x = xOf(s, scale);
    const y = s.values.map((v) => (Number.isFinite(v) ? v : null));
    const mode = y.length <= 1 ? "markers" : "lines";
    const base = { type: "scatter", mode, x, name: s.name, legendgroup: s.name, hovertemplate: "%{y:.6g}" };
    out.push({ ...base, y, line: { color: s.color, width: smooth ? 1 : 1.8 }, marker: { color: s.color },
      opacity: smooth ? 0.28 : 1, showlegend: many && !smooth });
    if (smooth) out.push({ ...base, y: ema(y, options.smooth), line: { color: s.color, width: 2 }, showlegend: many });
  }
  return { data: out, xTitle: options.x === "step" ? "step" : options.x === "time" ? "time" : `elapsed (${scale.unit})` };
}

function layout(xTitle, many) {
  const css = getComputedStyle(document.documentElement);
  const v = (name) => css.getPropertyValue(name).trim();
  const axis = { gridcolor: v("--border"), zerolinecolor: v("--border-strong"), linecolor: v("--border-strong"),
    tickfont: { color: v("--muted") }, automargin: true };
  return {
    margin: { l: 8, r: 12, t: 8, b: 8 },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { family: v("--font"), color: v("--muted"), size: 11 },
    xaxis: { ...axis, title: { text: xTitle, font: { size: 11 } }, type: options.x === "time" ? "date" : "linear" },
    yaxis: { ...axis, type: options.log ? "log" : "linear" },
    hovermode: "x unified",
    hoverlabel: { bgcolor: v("--surface"), bordercolor: v("--border-strong"), font: { color: v("--text") } },
    showlegend: many,
    legend: { orientation: "h", x: 0, y: -0.22, font: { color: v("--text") } },
    uirevision: `${options.x}/${options.log}/${currentTheme()}`,
  };
}

const CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

// -- one chart ------------------------------------------------------------------------------

/** A chart of one metric key for one or more runs: sources are {runId, key, name, color}. */
export class MetricChart {
  constructor(el, sources) {
    this.el = el;
    this.sources = sources;
    this.series = null;
  }

  async load() {
    const width = this.el.clientWidth || 600;
    const maxPoints = Math.min(MAX_POINTS, Math.max(MIN_POINTS, Math.round(width * (window.devicePixelRatio || 1))));
    const fetched = await Promise.all(this.sources.map(async (s) => {
      try {
        const url = apiUrl(`${runPath(s.runId)}/metrics/history`, { key: s.key, max_points: maxPoints });
        const d = await api(url);
        return { ...s, steps: d.steps, timestamps: d.timestamps, values: d.values.map(toNumber), total: d.total };
      } catch {
        return null; // this run lacks the key (compare page) or it vanished
      }
    }));
    this.series = fetched.filter(Boolean);
  }

  async draw() {
    if (!this.series) return;
    if (!this.series.length) {
      this.el.replaceChildren(h("div", { class: "chart-message", text: "No data." }));
      return;
    }
    const Plotly = await loadPlotly();
    const { data, xTitle } = traces(this.series);
    await Plotly.react(this.el, data, layout(xTitle, this.series.length > 1), CONFIG);
    this.el.dataset.drawn = "true";
    performance.mark("shipyard:chart"); // navigation -> chart drawn, for benchmarks and profiling
    this.el.dataset.points = String(this.series.reduce((n, s) => n + s.values.length, 0));
    this.el.dataset.total = String(this.series.reduce((n, s) => n + s.total, 0));
  }

  async show() {
    try {
      await this.load();
      await this.draw();
    } catch (err) {
      this.el.replaceChildren(h("div", { class: "chart-message", text: `Could not draw: ${err.message}` }));
    }
  }
}

/**
 * Draw each chart of `cards` when it scrolls near the viewport. `sourcesOf(card)` names what a
 * card plots. Returns {refresh()} to reload the data of the charts already drawn.
 */
export function lazyCharts(cards, sourcesOf) {
  initControls();
  loadPlotly(); // start fetching the library while the first data arrives
  const charts = new Map();
  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting || charts.has(entry.target)) continue;
      observer.unobserve(entry.target);
      const chart = new MetricChart(entry.target.querySelector(".chart"), sourcesOf(entry.target));
      charts.set(entry.target, chart);
      chart.show();
    }
  }, { rootMargin: "300px 0px" });
  cards.forEach((card) => observer.observe(card));
  listeners.add(() => charts.forEach((chart) => chart.draw()));
  return {
    refresh: () => charts.forEach((chart) => chart.show()),
  };
}
