// The deployment page: charts of requests and errors per second, p99 latency and mean batch
// size per scrape interval over the last hour (from the samples the controller scraped).
import { currentTheme, h, loadPlotly, localizeTimes, readJson } from "./common.js";

const metrics = readJson("metrics-data");

function layout(v) {
  const axis = { gridcolor: v("--border"), zerolinecolor: v("--border-strong"), linecolor: v("--border-strong"),
    tickfont: { color: v("--muted") }, automargin: true };
  return {
    margin: { l: 8, r: 8, t: 4, b: 8 }, paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
    font: { family: v("--font"), color: v("--muted"), size: 11 }, showlegend: false,
    xaxis: { ...axis, type: "date" }, yaxis: { ...axis, rangemode: "tozero" }, uirevision: currentTheme(),
  };
}

async function drawChart(el) {
  const key = el.dataset.series;
  const ys = metrics[key] || [];
  if (!ys.some((y) => y !== null)) {
    el.replaceChildren(h("p", { class: "chart-message", text: "No data yet: the controller scrapes every few seconds." }));
    el.dataset.drawn = "empty";
    return;
  }
  try {
    const Plotly = await loadPlotly();
    const css = getComputedStyle(document.documentElement);
    const v = (name) => css.getPropertyValue(name).trim();
    const trace = { type: "scatter", mode: "lines+markers", x: metrics.at.map((ms) => new Date(ms)), y: ys,
      line: { color: key === "errors" ? v("--fail") : v("--accent"), width: 2 }, marker: { size: 4 },
      connectgaps: false, hovertemplate: "%{x}<br>%{y:.4g}<extra></extra>" };
    el.replaceChildren();
    await Plotly.react(el, [trace], layout(v), { displaylogo: false, responsive: true });
    el.dataset.drawn = "true";
    el.dataset.points = String(ys.length);
  } catch (err) {
    el.replaceChildren(h("p", { class: "chart-message", text: `Could not draw: ${err.message}` }));
  }
}

localizeTimes();
for (const el of document.querySelectorAll(".deployment-chart .chart")) drawChart(el);
