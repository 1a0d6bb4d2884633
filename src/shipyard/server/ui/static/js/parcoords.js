// Parallel coordinates with plotly.js, shared by the compare and sweep pages: the axes come from
// the page, this module draws them in the page's theme (and says so when it cannot draw).
import { h, loadPlotly } from "./common.js";

/** An axis range with some room when every value is the same. */
export function axisRange(values) {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = lo === hi ? Math.abs(lo) * 0.1 || 1 : 0;
  return [lo - pad, hi + pad];
}

/** Text for a plotly label: plotly reads a few HTML tags and entities in labels, so escape them. */
export function plotlyText(text) {
  return String(text).replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

function message(el, text) {
  el.replaceChildren(h("p", { class: "chart-message", text }));
  el.style.height = "auto";
  delete el.dataset.drawn;
}

/**
 * Draw parallel coordinates into `el`. `dimensions`: [{label, values, range?, tickvals?,
 * ticktext?}] (a missing range is fitted to the values); `line(v)`: the trace's line (colours),
 * given a reader of the theme's CSS variables; `empty`: what to say with fewer than two axes.
 */
export async function drawParcoords(el, { dimensions, line, empty }) {
  if (dimensions.length < 2) {
    message(el, empty);
    return;
  }
  const Plotly = await loadPlotly();
  const css = getComputedStyle(document.documentElement);
  const v = (name) => css.getPropertyValue(name).trim();
  el.style.height = "";
  const trace = {
    type: "parcoords",
    line: line(v),
    // labels read tags and entities, tick texts do not (they show as written)
    dimensions: dimensions.map((d) => ({ ...d, label: plotlyText(d.label), range: d.range ?? axisRange(d.values) })),
    labelfont: { color: v("--text"), size: 12, shadow: "none" },
    tickfont: { color: v("--muted"), size: 10, shadow: "none" },
    rangefont: { color: v("--muted"), size: 10, shadow: "none" },
  };
  const layout = {
    margin: { l: 70, r: 70, t: 56, b: 24 }, paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
    font: { family: v("--font"), color: v("--text") },
  };
  await Plotly.react(el, [trace], layout, { displaylogo: false, responsive: true });
  if (el.querySelector(".no-webgl")) {
    Plotly.purge(el);
    message(el, "Parallel coordinates need WebGL, which this browser has turned off.");
    return;
  }
  el.dataset.drawn = "true";
}
