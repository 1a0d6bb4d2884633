// The runs table of a project: server-side keyset paging, the SDK's filter grammar, sortable and
// pickable columns, multi-select for Compare, and live updates of RUNNING rows. Its whole state
// (filter, order, columns, page size, page token, selection) lives in the URL.
import { ApiError, api, fieldName, h, queryText, quoteText, readJson } from "./common.js";
import { cell } from "./run_cells.js";
import { initColumnPicker } from "./column_picker.js";

const data = readJson("page-data");
const PROJECT = data.project;
const DEFAULT_LIMIT = 50;
const POLL_MS = 4000;
const MIN_COMPARE = 2;
const MAX_COMPARE = 10;
const BASE_COLUMNS = [
  { id: "name", label: "Name", order: "name" },
  { id: "status", label: "Status", order: "status" },
  { id: "start_time", label: "Started", order: "start_time" },
  { id: "duration", label: "Duration", order: "duration", num: true },
  { id: "user", label: "User", order: "user" },
  { id: "tags", label: "Tags" },
];
const KIND_LABEL = { metrics: "metric", params: "param", tags: "tag" };

const $ = (id) => document.getElementById(id);
const els = {
  form: $("filter-form"), input: $("filter-input"), error: $("filter-error"),
  table: $("runs-table"), empty: $("runs-empty"), pageInfo: $("page-info"), live: $("live-info"),
  prev: $("prev-page"), next: $("next-page"), pageSize: $("page-size"),
  compare: $("compare-button"), clear: $("clear-selection"), count: $("selection-count"),
  picker: $("column-picker"), pickerSearch: $("column-search"), pickerGroups: $("column-groups"),
  pickerReset: $("columns-reset"),
};
const thead = els.table.tHead;
const tbody = els.table.tBodies[0];

let state = readState();
const selected = new Set(state.sel);
let runs = [];
let nextToken = null;
let inflight = null;
let pollTimer = null;

// -- state <-> URL --------------------------------------------------------------------------

function splitList(text) {
  return (text || "").split(",").map((s) => s.trim()).filter(Boolean);
}

function readState() {
  const q = new URLSearchParams(location.search);
  const limit = Number(q.get("limit"));
  return {
    filter: q.get("filter") ?? "",
    order: q.get("order") ?? "",
    cols: q.has("cols") ? splitList(q.get("cols")) : null,
    limit: data.pageSizes.includes(limit) ? limit : DEFAULT_LIMIT,
    after: q.get("after") || null,
    sel: splitList(q.get("sel")),
  };
}

function urlFor(s) {
  const q = new URLSearchParams();
  if (s.filter) q.set("filter", s.filter);
  if (s.order) q.set("order", s.order);
  if (s.cols !== null) q.set("cols", s.cols.join(","));
  if (s.limit !== DEFAULT_LIMIT) q.set("limit", String(s.limit));
  if (s.after) q.set("after", s.after);
  if (selected.size) q.set("sel", [...selected].join(","));
  const text = queryText(q);
  return location.pathname + (text ? `?${text}` : "");
}

/** Tokens of the pages before this one (keyset paging only goes forward). */
const pageStack = () => (history.state && Array.isArray(history.state.stack) ? history.state.stack : []);

function commit({ push = false, stack = pageStack() } = {}) {
  history[push ? "pushState" : "replaceState"]({ stack }, "", urlFor(state));
}

function navigate(changes, stack = []) {
  Object.assign(state, changes);
  commit({ push: true, stack });
  load();
}

// -- columns and order ----------------------------------------------------------------------

function columnSpec(id) {
  const dot = id.indexOf(".");
  const kind = id.slice(0, dot);
  const key = id.slice(dot + 1);
  return { id, kind, key, label: key, order: fieldName(kind, key), num: kind === "metrics" };
}

function chosenColumns() {
  return state.cols ?? data.defaultColumns;
}

function columns() {
  const extra = chosenColumns().filter((id) => KIND_LABEL[id.split(".")[0]]).map(columnSpec);
  return [...BASE_COLUMNS, ...extra];
}

function currentSort() {
  const term = state.order.split(",")[0].trim();
  if (!term) return { field: "start_time", desc: true, implicit: true };
  const match = /^(.*?)\s+(ASC|DESC)$/i.exec(term);
  if (match) return { field: match[1], desc: match[2].toUpperCase() === "DESC" };
  if (term.startsWith("-")) return { field: term.slice(1), desc: true };
  return { field: term.replace(/^\+/, ""), desc: false };
}

function nextOrder(field) {
  const sort = currentSort();
  if (sort.field !== field) return field;
  if (sort.implicit || sort.desc) return sort.implicit ? field : "";
  return `-${field}`;
}

// -- rendering ------------------------------------------------------------------------------

function renderHead(cols) {
  const sort = currentSort();
  const all = h("input", { type: "checkbox", "aria-label": "Select all runs on this page", id: "select-all" });
  all.addEventListener("change", () => selectPage(all.checked));
  const cells = cols.map((col) => {
    const label = [col.label, col.kind ? h("span", { class: "col-kind", text: ` ${KIND_LABEL[col.kind]}` }) : null];
    if (!col.order) return h("th", { scope: "col" }, label);
    const sorted = sort.field === col.order;
    const arrow = sorted ? (sort.desc ? "↓" : "↑") : "↕";
    const button = h("button", {
      type: "button", class: "sort", "data-order": col.order,
      "aria-label": `Sort by ${col.label}${sorted ? (sort.desc ? ", sorted descending" : ", sorted ascending") : ""}`,
      onclick: () => navigate({ order: nextOrder(col.order), after: null }),
    }, label, h("span", { class: "arrow", "aria-hidden": "true", text: arrow }));
    return h("th", {
      scope: "col", class: col.num ? "num" : null, "data-column": col.id,
      "aria-sort": sorted ? (sort.desc ? "descending" : "ascending") : "none",
    }, button);
  });
  thead.replaceChildren(h("tr", {}, h("th", { scope: "col", class: "select-cell" }, all), cells));
}

function renderRow(run, cols) {
  const isSelected = selected.has(run.id);
  const row = h("tr", { "data-run-id": run.id, "data-status": run.status, class: isSelected ? "selected" : null });
  const box = h("input", { type: "checkbox", checked: isSelected, "aria-label": `Select run ${run.name || run.id}` });
  box.addEventListener("change", () => toggleRun(run.id, box.checked, row));
  row.append(h("td", { class: "select-cell" }, box), ...cols.map((col) => cell(run, col)));
  return row;
}

function render() {
  const cols = columns();
  renderHead(cols);
  const fragment = document.createDocumentFragment();
  for (const run of runs) fragment.append(renderRow(run, cols));
  tbody.replaceChildren(fragment);
  syncSelectAll();
  renderPager();
  renderEmpty();
  if (runs.length && !performance.getEntriesByName("shipyard:rows").length) performance.mark("shipyard:rows");
}

function renderEmpty() {
  els.empty.hidden = runs.length > 0;
  if (runs.length) return;
  els.empty.textContent = state.filter ? "No runs match this filter." :
    state.after ? "No more runs." : "No runs in this project yet.";
}

function renderPager() {
  const offset = pageStack().length * state.limit;
  els.pageInfo.textContent = runs.length ? `Runs ${offset + 1}–${offset + runs.length}` : "";
  els.prev.disabled = !state.after;
  els.next.disabled = !nextToken;
}

// -- loading --------------------------------------------------------------------------------

function searchBody() {
  const order = state.order.split(",").map((t) => t.trim()).filter(Boolean);
  return { project: PROJECT, filter: state.filter, order_by: order, limit: state.limit, page_token: state.after };
}

async function load() {
  inflight?.abort();
  const controller = new AbortController();
  inflight = controller;
  els.table.setAttribute("aria-busy", "true");
  try {
    const page = await api("/api/v1/runs/search", { method: "POST", body: searchBody(), signal: controller.signal });
    showPage(page);
  } catch (err) {
    if (err.name !== "AbortError") showError(err);
  } finally {
    if (inflight === controller) els.table.setAttribute("aria-busy", "false");
  }
}

function showPage(page) {
  runs = page.runs;
  nextToken = page.next_page_token;
  clearError();
  render();
  schedulePoll();
}

function clearError() {
  els.error.hidden = true;
  els.error.replaceChildren();
  els.input.setAttribute("aria-invalid", "false");
}

function showError(err) {
  runs = [];
  nextToken = null;
  render();
  els.empty.textContent = "Fix the query above to see runs.";
  const detail = err instanceof ApiError ? err : new ApiError(0, { message: String(err.message || err) });
  const parts = [h("div", { class: "message", text: detail.message })];
  const pos = detail.position;
  const token = detail.token ?? "";
  if (detail.code === "filter_syntax" && pos !== null && state.filter.substr(pos, token.length) === token) {
    const before = state.filter.slice(0, pos);
    const bad = state.filter.slice(pos, pos + Math.max(token.length, 1)) || " ";
    const after = state.filter.slice(pos + Math.max(token.length, 1));
    parts.push(h("pre", { "aria-label": `Error at position ${pos}` }, before, h("mark", { text: bad }), after));
    els.input.setAttribute("aria-invalid", "true");
    els.input.focus();
    els.input.setSelectionRange(pos, pos + token.length);
  }
  if (detail.hint) parts.push(h("div", { class: "small", text: `Hint: ${detail.hint}` }));
  if (state.after) {
    parts.push(h("button", { type: "button", class: "link-button", text: "Go to the first page",
      onclick: () => navigate({ after: null }) }));
  }
  els.error.replaceChildren(...parts);
  els.error.hidden = false;
}

// -- live updates ---------------------------------------------------------------------------

function schedulePoll() {
  clearTimeout(pollTimer);
  const running = runs.some((r) => r.status === "RUNNING");
  els.live.hidden = !running;
  if (running) pollTimer = setTimeout(poll, POLL_MS);
}

async function poll() {
  const ids = runs.filter((r) => r.status === "RUNNING").map((r) => r.id);
  if (!ids.length) return;
  if (!document.hidden) {
    try {
      const body = { project: PROJECT, filter: `id IN (${ids.map(quoteText).join(", ")})`, limit: ids.length };
      const page = await api("/api/v1/runs/search", { method: "POST", body });
      for (const fresh of page.runs) replaceRun(fresh);
    } catch {
      // keep what is shown; the next poll tries again
    }
  }
  schedulePoll();
}

function replaceRun(fresh) {
  const index = runs.findIndex((r) => r.id === fresh.id);
  if (index < 0) return;
  const changed = JSON.stringify(runs[index]) !== JSON.stringify(fresh);
  runs[index] = fresh;
  const old = tbody.querySelector(`tr[data-run-id="${CSS.escape(fresh.id)}"]`);
  const row = renderRow(fresh, columns());
  if (changed) row.classList.add("updated");
  old?.replaceWith(row);
}

// -- selection ------------------------------------------------------------------------------

function toggleRun(id, on, row) {
  if (on) selected.add(id);
  else selected.delete(id);
  row.classList.toggle("selected", on);
  syncSelectAll();
  selectionChanged();
}

function selectPage(on) {
  for (const run of runs) {
    if (on) selected.add(run.id);
    else selected.delete(run.id);
  }
  for (const row of tbody.rows) {
    row.classList.toggle("selected", on);
    row.querySelector("input[type=checkbox]").checked = on;
  }
  selectionChanged();
}

function syncSelectAll() {
  const all = document.getElementById("select-all");
  if (!all) return;
  const onPage = runs.filter((r) => selected.has(r.id)).length;
  all.checked = runs.length > 0 && onPage === runs.length;
  all.indeterminate = onPage > 0 && onPage < runs.length;
}

function selectionChanged() {
  const n = selected.size;
  els.compare.disabled = n < MIN_COMPARE || n > MAX_COMPARE;
  els.compare.textContent = n ? `Compare (${n})` : "Compare";
  els.count.textContent = n === 0 ? "Select 2 to 10 runs to compare" :
    n > MAX_COMPARE ? `${n} selected: at most ${MAX_COMPARE} can be compared` : `${n} selected`;
  els.clear.hidden = n === 0;
  commit();
}

// -- column picker --------------------------------------------------------------------------

function toggleColumn(id, on) {
  const cols = chosenColumns().filter((c) => c !== id);
  if (on) cols.push(id);
  state.cols = cols;
  commit();
  render();
}

function resetColumns() {
  state.cols = null;
  commit();
  render();
}

// -- wiring ---------------------------------------------------------------------------------

function initControls() {
  els.input.value = state.filter;
  for (const size of data.pageSizes) els.pageSize.append(h("option", { value: size, text: String(size) }));
  els.pageSize.value = String(state.limit);
  els.form.addEventListener("submit", (event) => {
    event.preventDefault();
    navigate({ filter: els.input.value.trim(), after: null });
  });
  els.pageSize.addEventListener("change", () => navigate({ limit: Number(els.pageSize.value), after: null }));
  els.next.addEventListener("click", () => navigate({ after: nextToken }, [...pageStack(), state.after]));
  els.prev.addEventListener("click", () => {
    const stack = pageStack();
    navigate({ after: stack.length ? stack[stack.length - 1] : null }, stack.slice(0, -1));
  });
  els.compare.addEventListener("click", () => {
    location.href = `/compare?runs=${[...selected].map(encodeURIComponent).join(",")}`;
  });
  els.clear.addEventListener("click", () => {
    selected.clear();
    render();
    selectionChanged();
  });
  window.addEventListener("popstate", () => {
    state = readState();
    selected.clear();
    state.sel.forEach((id) => selected.add(id));
    els.input.value = state.filter;
    els.pageSize.value = String(state.limit);
    selectionChanged();
    load();
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) schedulePoll();
  });
}

function matchesInitial() {
  const q = data.query;
  return q.filter === state.filter && q.order === state.order && q.limit === state.limit &&
    (q.after || null) === state.after;
}

function start() {
  initControls();
  initColumnPicker({
    details: els.picker, search: els.pickerSearch, groups: els.pickerGroups, reset: els.pickerReset,
    keys: data.keys, chosen: chosenColumns, onToggle: toggleColumn, onReset: resetColumns,
  });
  selectionChanged();
  const initial = data.initial;
  if (initial && matchesInitial()) {
    if (initial.page) showPage(initial.page);
    else showError(new ApiError(400, initial.error));
    els.table.setAttribute("aria-busy", "false");
  } else {
    load();
  }
}

start();
