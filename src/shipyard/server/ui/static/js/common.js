// Shared helpers of the hub's pages: DOM building (text only, never HTML strings), API calls,
// value formatting, the theme toggle and page-wide keyboard shortcuts.

/** An error answered by the API: {code, message, hint, position?, token?}. */
export class ApiError extends Error {
  constructor(status, detail) {
    super(detail.message || `request failed with status ${status}`);
    this.status = status;
    this.code = detail.code || "unknown";
    this.hint = detail.hint || null;
    this.position = detail.position != null ? Number(detail.position) : null;
    this.token = detail.token ?? null;
  }
}

/** Call the API; resolves to parsed JSON (null for 204), rejects with an ApiError. */
export async function api(path, { method = "GET", body, signal } = {}) {
  const init = { method, headers: { Accept: "application/json" }, signal };
  // With auth on, changes made with the session cookie carry the page's CSRF token (docs/auth.md).
  const csrf = document.querySelector('meta[name="csrf-token"]');
  if (csrf && method !== "GET" && method !== "HEAD") init.headers["X-CSRF-Token"] = csrf.content;
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, init);
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const detail = data && data.error ? data.error : { message: text || response.statusText };
    throw new ApiError(response.status, detail);
  }
  return data;
}

/** URL of a REST path with query parameters (each value percent-encoded). */
export function apiUrl(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null) query.set(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/** A query string that keeps "," and "/" readable (both are safe in a query). */
export function queryText(params) {
  return params.toString().replaceAll("%2C", ",").replaceAll("%2F", "/");
}

/** Replace this page's query (keeping the hash) without a new history entry. */
export function replaceQuery(params) {
  const text = queryText(params);
  history.replaceState(history.state, "", `${location.pathname}${text ? `?${text}` : ""}${location.hash}`);
}

export const runPath = (runId) => `/api/v1/runs/${encodeURIComponent(runId)}`;
export const runPage = (runId) => `/runs/${encodeURIComponent(runId)}`;

/**
 * Build an element. attrs: class, text, dataset, on{Event} handlers, boolean or string
 * attributes. Children: nodes or strings (always inserted as text), null/false skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "text") el.textContent = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name === "style") for (const [k, v] of Object.entries(value)) el.style.setProperty(k, v);
    else if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2).toLowerCase(), value);
    } else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/**
 * Put HTML that the server rendered and sanitized (Markdown with raw HTML disabled, notebooks)
 * into an element. Never call this with anything else.
 */
export function setServerHtml(el, html) {
  const doc = new DOMParser().parseFromString(html, "text/html");
  el.replaceChildren(...doc.body.childNodes);
}

/** The JSON in a <script type="application/json" id=...> element. */
export function readJson(id) {
  const el = document.getElementById(id);
  return el ? JSON.parse(el.textContent) : null;
}

// -- values ---------------------------------------------------------------------------------

/** Numbers from the API: NaN and infinities arrive as the strings "NaN", "Infinity". */
export function toNumber(value) {
  if (typeof value === "number") return value;
  if (value === "NaN") return NaN;
  if (value === "Infinity") return Infinity;
  if (value === "-Infinity") return -Infinity;
  return value === null || value === undefined ? null : Number(value);
}

export function fmtNumber(value) {
  const n = toNumber(value);
  if (n === null) return "—";
  if (Number.isNaN(n)) return "NaN";
  if (!Number.isFinite(n)) return n > 0 ? "∞" : "-∞";
  if (Number.isInteger(n) && Math.abs(n) < 1e15) return n.toLocaleString("en-US");
  const abs = Math.abs(n);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e9)) return n.toExponential(3);
  return String(Number(n.toPrecision(6)));
}

/** A param as people write it: text as is, numbers, true/false/null. */
export function paramText(value) {
  if (value === undefined) return "—";
  if (typeof value === "string") return value;
  if (typeof value === "number") return fmtNumber(value);
  return JSON.stringify(value);
}

export function fmtDuration(ms) {
  if (ms === null || ms === undefined || ms < 0) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const s = Math.floor(seconds) % 60;
  const m = Math.floor(seconds / 60) % 60;
  const hours = Math.floor(seconds / 3600);
  const pad = (x) => String(x).padStart(2, "0");
  if (hours >= 24) return `${Math.floor(hours / 24)}d ${pad(hours % 24)}h`;
  return hours ? `${hours}h ${pad(m)}m` : `${m}m ${pad(s)}s`;
}

const RELATIVE = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
const UNITS = [["year", 31536e6], ["month", 2592e6], ["week", 6048e5], ["day", 864e5],
  ["hour", 36e5], ["minute", 6e4]];

export function fmtRelative(ms, now = Date.now()) {
  const delta = ms - now;
  for (const [unit, size] of UNITS) {
    if (Math.abs(delta) >= size) return RELATIVE.format(Math.round(delta / size), unit);
  }
  return "just now";
}

export function fmtDateTime(ms) {
  return new Date(ms).toLocaleString(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
    second: "2-digit",
  });
}

export function fmtBytes(size) {
  let amount = size;
  for (const unit of ["B", "KB", "MB", "GB"]) {
    if (amount < 1024) return unit === "B" ? `${amount} B` : `${amount.toFixed(1)} ${unit}`;
    amount /= 1024;
  }
  return `${amount.toFixed(1)} TB`;
}

/** A <time> showing "5 minutes ago", the local date and time in its tooltip. */
export function timeEl(ms) {
  if (ms === null || ms === undefined) return h("span", { class: "muted", text: "—" });
  return h("time", {
    datetime: new Date(ms).toISOString(), "data-ms": ms, title: fmtDateTime(ms),
    text: fmtRelative(ms),
  });
}

/** Turn the server's UTC <time data-ms> elements into relative, local times. */
export function localizeTimes(root = document) {
  for (const el of root.querySelectorAll("time[data-ms]")) {
    const ms = Number(el.dataset.ms);
    el.textContent = fmtRelative(ms);
    el.title = fmtDateTime(ms);
  }
}

export function statusBadge(status) {
  const label = status.charAt(0) + status.slice(1).toLowerCase();
  return h("span", { class: `badge status-${status.toLowerCase()}`, "data-status": status,
    text: label });
}

// -- the filter grammar ---------------------------------------------------------------------

const BARE_KEY = /^[A-Za-z_][A-Za-z0-9_\-/:.]*$/;
const AGGREGATE = /\.(last|min|max)$/i;

/** A field of the filter grammar: params.lr, metrics.`val loss`, tags.team. */
export function fieldName(kind, key) {
  const bare = BARE_KEY.test(key) && !key.endsWith(".") && !(kind === "metrics" && AGGREGATE.test(key));
  return bare ? `${kind}.${key}` : `${kind}.\`${key.replaceAll("`", "``")}\``;
}

/** A quoted string literal of the filter grammar. */
export const quoteText = (value) => `'${String(value).replaceAll("'", "''")}'`;

// -- charts' library ------------------------------------------------------------------------

let plotlyPromise = null;

/** Load plotly.js (served by this hub) once, on first use. */
export function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!plotlyPromise) {
    plotlyPromise = new Promise((resolve, reject) => {
      const script = h("script", { src: document.body.dataset.plotly });
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => reject(new Error("could not load plotly.js"));
      document.head.append(script);
    });
  }
  return plotlyPromise;
}

// -- theme, shortcuts, navigation -----------------------------------------------------------

const THEME_KEY = "shipyard-theme";

export function currentTheme() {
  return document.documentElement.dataset.resolvedTheme === "dark" ? "dark" : "light";
}

function applyTheme(theme, store) {
  const root = document.documentElement;
  root.dataset.theme = theme;
  root.dataset.resolvedTheme = theme;
  if (store) {
    try {
      localStorage.setItem(THEME_KEY, theme);
    } catch {
      /* private mode: the choice lasts for this page only */
    }
  }
  const button = document.getElementById("theme-toggle");
  if (button) button.setAttribute("aria-label", `Switch to ${theme === "dark" ? "light" : "dark"} theme`);
  document.dispatchEvent(new CustomEvent("shipyard:theme", { detail: { theme } }));
}

function initTheme() {
  const button = document.getElementById("theme-toggle");
  button?.addEventListener("click", () => applyTheme(currentTheme() === "dark" ? "light" : "dark", true));
  if (button) button.setAttribute("aria-label", `Switch to ${currentTheme() === "dark" ? "light" : "dark"} theme`);
  const media = window.matchMedia("(prefers-color-scheme: dark)");
  media.addEventListener("change", (event) => {
    if (!document.documentElement.hasAttribute("data-theme")) {
      document.documentElement.dataset.resolvedTheme = event.matches ? "dark" : "light";
      document.dispatchEvent(new CustomEvent("shipyard:theme", { detail: { theme: currentTheme() } }));
    }
  });
}

function isTyping(target) {
  return target instanceof HTMLElement &&
    (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

function initShortcuts() {
  document.addEventListener("keydown", (event) => {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(event.target)) return;
    const target = document.querySelector('[data-shortcut="/"]');
    if (target) {
      event.preventDefault();
      target.focus();
      target.select?.();
    }
  });
}

/** Show the Datasets entry only when this hub serves datasets (checked once per session). */
async function initDatasetsNav() {
  const link = document.getElementById("nav-datasets");
  if (!link) return;
  const KEY = "shipyard-datasets";
  let known = sessionStorage.getItem(KEY);
  if (known === null) {
    try {
      const response = await fetch("/api/v1/datasets", { headers: { Accept: "application/json" } });
      known = response.status === 200 ? "yes" : "no";
    } catch {
      known = "no";
    }
    sessionStorage.setItem(KEY, known);
  }
  link.hidden = known !== "yes";
}

initTheme();
initShortcuts();
localizeTimes();
initDatasetsNav();
