// The files of a dataset version: fetched once from the REST API, then filtered by path, sorted
// and paged in the browser, so that a manifest of 100,000 files stays quick to browse. Only one
// page of rows is in the DOM at a time. Filter, order, page size and page live in the URL.
import { api, fmtBytes, h, readJson, replaceQuery } from "./common.js";

const data = readJson("version-data");
const SHORT_SHA = 12;
const DEBOUNCE_MS = 80;
const SORTS = ["path", "-path", "size", "-size"];

const $ = (id) => document.getElementById(id);
const els = {
  form: $("manifest-form"), input: $("manifest-filter"), pageSize: $("manifest-page-size"),
  table: $("manifest-table"), empty: $("manifest-empty"), info: $("manifest-info"),
  prev: $("manifest-prev"), next: $("manifest-next"),
};
const tbody = els.table.tBodies[0];
const headers = [...els.table.tHead.querySelectorAll("th[data-sort]")];

// Columns of the manifest (arrays, not objects: cheaper to hold and to scan at 100k files).
let paths = [];
let lowerPaths = [];
let sizes = [];
let shas = [];
const orders = new Map(); // sort key -> file indices in that order (built on first use)
let visible = []; // file indices that pass the filter, in the current order
let state = readState();
let debounce = null;
let loaded = false;

// -- state <-> URL --------------------------------------------------------------------------

function readState() {
  const q = new URLSearchParams(location.search);
  const size = Number(q.get("rows"));
  const page = Number(q.get("page"));
  return {
    filter: q.get("filter") ?? "",
    sort: SORTS.includes(q.get("sort")) ? q.get("sort") : "path",
    size: data.pageSizes.includes(size) ? size : data.defaultPageSize,
    page: Number.isInteger(page) && page > 1 ? page : 1,
  };
}

function writeState() {
  const q = new URLSearchParams();
  if (state.filter) q.set("filter", state.filter);
  if (state.sort !== "path") q.set("sort", state.sort);
  if (state.size !== data.defaultPageSize) q.set("rows", String(state.size));
  if (state.page > 1) q.set("page", String(state.page));
  replaceQuery(q);
}

// -- filtering and ordering -----------------------------------------------------------------

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A test of a file index against the filter text: a substring, or a glob of the whole path. */
function matcher(text) {
  const query = text.trim();
  if (!query) return { test: null, needle: "" };
  if (/[*?]/.test(query)) {
    const source = [...query].map((c) => (c === "*" ? ".*" : c === "?" ? "." : escapeRegExp(c))).join("");
    const pattern = new RegExp(`^${source}$`, "i");
    return { test: (i) => pattern.test(paths[i]), needle: "" };
  }
  const needle = query.toLowerCase();
  return { test: (i) => lowerPaths[i].includes(needle), needle };
}

function order(key) {
  if (!orders.has(key)) {
    const indices = paths.map((_, i) => i); // the API sends the manifest sorted by path
    if (key.endsWith("size")) indices.sort((a, b) => sizes[a] - sizes[b] || a - b);
    if (key.startsWith("-")) indices.reverse();
    orders.set(key, indices);
  }
  return orders.get(key);
}

function refilter() {
  const { test } = matcher(state.filter);
  const indices = order(state.sort);
  visible = test ? indices.filter(test) : indices;
}

// -- rendering ------------------------------------------------------------------------------

/** The path as text nodes, the first match of the filter in a <mark>. */
function pathCell(path, needle) {
  const at = needle ? path.toLowerCase().indexOf(needle) : -1;
  if (at < 0) return [path];
  return [path.slice(0, at), h("mark", { text: path.slice(at, at + needle.length) }), path.slice(at + needle.length)];
}

function row(i, needle) {
  const sha = shas[i];
  return h("tr", { "data-path": paths[i] },
    h("th", { scope: "row", class: "mono path-cell" }, pathCell(paths[i], needle)),
    h("td", { class: "num", "data-bytes": sizes[i], title: `${sizes[i].toLocaleString("en-US")} bytes`, text: fmtBytes(sizes[i]) }),
    h("td", { class: "mono small sha-cell", title: sha, text: sha.slice(0, SHORT_SHA) }));
}

function pageCount() {
  return Math.max(1, Math.ceil(visible.length / state.size));
}

function renderHead() {
  for (const th of headers) {
    const key = th.dataset.sort;
    const sorted = state.sort.replace(/^-/, "") === key;
    const desc = state.sort.startsWith("-");
    th.setAttribute("aria-sort", sorted ? (desc ? "descending" : "ascending") : "none");
    th.querySelector(".arrow").textContent = sorted ? (desc ? "↓" : "↑") : "↕";
    const label = key === "path" ? "path" : "size";
    th.querySelector("button").setAttribute("aria-label",
      `Sort by ${label}${sorted ? (desc ? ", sorted descending" : ", sorted ascending") : ""}`);
  }
}

function renderInfo(first, last) {
  const total = paths.length.toLocaleString("en-US");
  const shown = visible.length.toLocaleString("en-US");
  const range = visible.length ? `Files ${first.toLocaleString("en-US")}–${last.toLocaleString("en-US")} of ` : "";
  const page = pageCount() > 1 ? ` · page ${state.page} of ${pageCount().toLocaleString("en-US")}` : "";
  els.info.textContent = state.filter.trim()
    ? `${range}${shown} matching (${total} in all)${page}`
    : `${range}${total}${page}`;
}

function render() {
  state.page = Math.min(state.page, pageCount());
  const start = (state.page - 1) * state.size;
  const slice = visible.slice(start, start + state.size);
  const { needle } = matcher(state.filter);
  tbody.replaceChildren(...slice.map((i) => row(i, needle)));
  els.empty.hidden = slice.length > 0;
  els.empty.textContent = slice.length ? "" : `No file path matches “${state.filter.trim()}”.`;
  els.prev.disabled = state.page <= 1;
  els.next.disabled = state.page >= pageCount();
  renderHead();
  renderInfo(start + 1, start + slice.length);
  writeState();
}

function update(changes, { filter = false } = {}) {
  Object.assign(state, changes);
  if (!loaded) return; // load() renders with the state as it is then
  if (filter) refilter();
  render();
}

// -- controls -------------------------------------------------------------------------------

function initControls() {
  for (const size of data.pageSizes) els.pageSize.append(h("option", { value: size, text: String(size) }));
  els.pageSize.value = String(state.size);
  els.pageSize.setAttribute("aria-label", "Files per page");
  els.input.value = state.filter;
  els.form.addEventListener("submit", (event) => event.preventDefault());
  els.input.addEventListener("input", () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => update({ filter: els.input.value, page: 1 }, { filter: true }), DEBOUNCE_MS);
  });
  els.input.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && els.input.value) {
      els.input.value = "";
      update({ filter: "", page: 1 }, { filter: true });
    }
  });
  els.pageSize.addEventListener("change", () => update({ size: Number(els.pageSize.value), page: 1 }));
  els.prev.addEventListener("click", () => update({ page: state.page - 1 }));
  els.next.addEventListener("click", () => update({ page: state.page + 1 }));
  for (const th of headers) {
    th.querySelector("button").addEventListener("click", () => {
      const key = th.dataset.sort;
      update({ sort: state.sort === key ? `-${key}` : key, page: 1 }, { filter: true });
    });
  }
}

async function load() {
  try {
    const version = await api(data.manifestUrl);
    const files = version.manifest || [];
    paths = files.map((f) => f.path);
    lowerPaths = paths.map((p) => p.toLowerCase());
    sizes = files.map((f) => f.size);
    shas = files.map((f) => f.sha256);
    loaded = true;
    refilter();
    render();
  } catch (err) {
    tbody.replaceChildren();
    els.empty.hidden = false;
    els.empty.textContent = `Could not load the files: ${err.message}`;
  } finally {
    els.table.setAttribute("aria-busy", "false");
  }
}

initControls();
load();
