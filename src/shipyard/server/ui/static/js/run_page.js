// The run page: tabs (kept in the URL hash), editable Markdown notes, charts, artifacts, the
// captured environment and lineage inputs, each tab filled the first time it is opened. A RUNNING
// run is polled so its status, duration and charts stay current.
import { api, fmtDuration, h, readJson, runPath, setServerHtml, statusBadge } from "./common.js";
import { lazyCharts } from "./charts.js";
import { initArtifacts } from "./artifacts.js";
import { initEnvironment } from "./environment.js";
import { initComments } from "./comments.js";

const POLL_MS = 5000;
let run = readJson("run-data");
const tabs = [...document.querySelectorAll('[role="tab"]')];
const panel = (id) => document.getElementById(`panel-${id}`);
const opened = new Set();
const chartSets = [];

const LOADERS = {
  metrics: () => chartsOf("metrics"),
  system: () => chartsOf("system"),
  artifacts: () => initArtifacts(panel("artifacts"), run.id),
  environment: () => initEnvironment(panel("environment"), run.id),
  inputs: () => loadInputs(),
};

function chartsOf(id) {
  const cards = [...panel(id).querySelectorAll(".chart-card")];
  const sources = (card) => [{ runId: run.id, key: card.dataset.key, name: card.dataset.key, color: accent() }];
  chartSets.push(lazyCharts(cards, sources));
}

function accent() {
  return getComputedStyle(document.documentElement).getPropertyValue("--accent").trim() || "#4058e0";
}

// -- tabs -----------------------------------------------------------------------------------

function tabFromHash() {
  const id = decodeURIComponent(location.hash.slice(1));
  return tabs.some((t) => t.dataset.tab === id) ? id : "overview";
}

function selectTab(id, focus = false) {
  for (const tab of tabs) {
    const active = tab.dataset.tab === id;
    tab.setAttribute("aria-selected", String(active));
    tab.tabIndex = active ? 0 : -1;
    panel(tab.dataset.tab).hidden = !active;
    if (active && focus) tab.focus();
  }
  if (!opened.has(id) && LOADERS[id]) {
    opened.add(id);
    LOADERS[id]();
  }
}

function initTabs() {
  for (const tab of tabs) {
    tab.addEventListener("click", () => {
      if (tabFromHash() !== tab.dataset.tab) location.hash = tab.dataset.tab;
    });
    tab.addEventListener("keydown", (event) => {
      const i = tabs.indexOf(tab);
      const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      const target = tabs[(next + tabs.length) % tabs.length];
      location.hash = target.dataset.tab;
      target.focus();
    });
  }
  window.addEventListener("hashchange", () => selectTab(tabFromHash()));
  selectTab(tabFromHash());
}

// -- notes ----------------------------------------------------------------------------------

function initNotes() {
  const view = document.getElementById("notes-view");
  const form = document.getElementById("notes-form");
  const input = document.getElementById("notes-input");
  const status = document.getElementById("notes-status");
  const edit = document.getElementById("notes-edit");
  let saved = input.value;
  const close = () => {
    form.hidden = true;
    view.hidden = false;
    edit.hidden = false;
    edit.focus();
  };
  edit.addEventListener("click", () => {
    form.hidden = false;
    view.hidden = true;
    edit.hidden = true;
    status.textContent = "";
    input.focus();
  });
  document.getElementById("notes-cancel").addEventListener("click", () => {
    input.value = saved;
    close();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
    if (event.key === "Escape") document.getElementById("notes-cancel").click();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.textContent = "Saving…";
    try {
      await api(runPath(run.id), { method: "PATCH", body: { notes: input.value } });
      const rendered = await api(`/api/v1/ui/runs/${encodeURIComponent(run.id)}/notes`);
      saved = rendered.notes;
      if (saved) setServerHtml(view, rendered.html);
      else view.replaceChildren(h("p", { class: "muted", text: "No notes yet." }));
      status.textContent = "Saved";
      close();
    } catch (err) {
      status.textContent = `Not saved: ${err.message}`;
    }
  });
}

// -- inputs ---------------------------------------------------------------------------------

/** A dataset input links to its dataset (name) or to the version it used; others are text. */
function inputLink(input, text, toVersion = false) {
  if (input.kind !== "dataset") return text;
  const dataset = `/datasets/${encodeURIComponent(input.name)}`;
  if (!toVersion) return h("a", { href: dataset, text });
  return /^\d+$/.test(input.version) ? h("a", { href: `${dataset}/versions/${input.version}`, text }) : text;
}

async function loadInputs() {
  const body = panel("inputs").querySelector(".inputs-body");
  try {
    const { inputs } = await api(`${runPath(run.id)}/inputs`);
    if (!inputs.length) {
      body.replaceChildren(h("div", { class: "empty-inline", text: "No inputs or outputs recorded for this run." }));
      return;
    }
    const columns = ["Direction", "Kind", "Name", "Version", "Digest", "Extra"];
    body.replaceChildren(h("div", { class: "card table-card" }, h("table", { class: "data-table inputs-table" },
      h("caption", { class: "visually-hidden", text: "Inputs and outputs of this run (lineage)" }),
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", text: c })))),
      h("tbody", {}, inputs.map((i) => h("tr", {},
        h("td", {}, h("span", { class: `badge dir-${i.direction === "output" ? "output" : "input"}`, text: i.direction.charAt(0).toUpperCase() + i.direction.slice(1) })),
        h("td", { text: i.kind }), h("th", { scope: "row" }, inputLink(i, i.name)),
        h("td", { class: "mono" }, inputLink(i, i.version, true)),
        h("td", { class: "mono small", text: i.digest || "—" }),
        h("td", { class: "mono small", text: Object.entries(i.extra).map(([k, v]) => `${k}=${v}`).join(", ") || "—" })))))));
  } catch (err) {
    body.replaceChildren(h("p", { class: "muted", text: `Could not load inputs: ${err.message}` }));
  }
}

// -- live status ----------------------------------------------------------------------------

function showStatus(fresh) {
  for (const id of ["run-status", "overview-status"]) document.getElementById(id)?.replaceChildren(statusBadge(fresh.status));
  const duration = document.getElementById("overview-duration");
  const end = fresh.end_time ?? Date.now();
  if (duration) duration.textContent = fmtDuration(end - fresh.start_time);
}

async function poll() {
  if (!document.hidden) {
    try {
      const fresh = await api(runPath(run.id));
      const grew = Object.entries(fresh.metrics).some(([k, m]) => m.count !== run.metrics[k]?.count);
      run = fresh;
      showStatus(fresh);
      if (grew) chartSets.forEach((set) => set.refresh());
    } catch {
      // try again at the next tick
    }
  }
  if (run.status === "RUNNING") setTimeout(poll, POLL_MS);
}

initTabs();
initNotes();
initComments(panel("comments"), run.id);
// Tabs answer clicks from here on (tests and scripts wait for this mark).
document.documentElement.dataset.runPage = "ready";
if (run.status === "RUNNING") {
  showStatus(run);
  setTimeout(poll, POLL_MS);
}
