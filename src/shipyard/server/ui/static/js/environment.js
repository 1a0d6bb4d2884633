// The Environment & Code tab: what the SDK captured in the run's `.shipyard/environment.json`
// (Python, OS, CPU, GPUs, packages, git) and its uncommitted changes (`.shipyard/code.patch`).
import { fmtBytes, h } from "./common.js";
import { contentUrl, listArtifacts, readHead } from "./artifacts.js";
import { renderDiff } from "./diff.js";

export const ENVIRONMENT_PATH = ".shipyard/environment.json";
export const PATCH_PATH = ".shipyard/code.patch";
const MAX_BYTES = 20 * 1024 * 1024;

const get = (data, ...keys) => keys.reduce((v, k) => (v && typeof v === "object" ? v[k] : undefined), data);
const join = (...parts) => parts.filter((p) => p !== undefined && p !== null && p !== "").join(" ");

function kvTable(caption, rows) {
  const shown = rows.filter(([, value]) => value !== undefined && value !== null && value !== "");
  if (!shown.length) return h("p", { class: "muted", text: "Nothing captured." });
  return h("table", { class: "kv-table env-table" }, h("caption", { class: "visually-hidden", text: caption }),
    h("tbody", {}, shown.map(([label, value]) =>
      h("tr", {}, h("th", { scope: "row", text: label }), h("td", { class: "mono", text: String(value) })))));
}

function card(title, ...children) {
  return h("div", { class: "card env-section" }, h("h2", { class: "card-title", text: title }), children);
}

function gpus(env) {
  const list = get(env, "accelerators", "gpus");
  if (!Array.isArray(list) || !list.length) return "none";
  return list.map((g) => join(g.name, g.memory_total_bytes ? `(${fmtBytes(g.memory_total_bytes)})` : "")).join(", ");
}

function systemRows(env) {
  const os = get(env, "system", "os") || {};
  const cpu = get(env, "system", "cpu") || {};
  return [
    ["Python", join(get(env, "python", "version"), get(env, "python", "implementation") && `(${get(env, "python", "implementation")})`)],
    ["OS", os.distribution || join(os.system, os.release)],
    ["Kernel", join(os.system, os.release)],
    ["Machine", os.machine],
    ["CPU", join(cpu.model, cpu.logical_cores && `· ${cpu.logical_cores} logical cores`)],
    ["Memory", get(env, "system", "memory_total_bytes") && fmtBytes(get(env, "system", "memory_total_bytes"))],
    ["GPUs", gpus(env)],
    ["Driver", get(env, "accelerators", "driver_version")],
    ["CUDA", get(env, "accelerators", "cuda_driver_version") ?? get(env, "accelerators", "cuda")],
    ["Container", get(env, "container", "image") ?? get(env, "container", "runtime")],
    ["Captured", get(env, "captured_at")],
  ];
}

function codeRows(env) {
  const git = get(env, "code", "git") || {};
  const argv = get(env, "code", "entry_point", "argv");
  return [
    ["Remote", git.remote_url],
    ["Branch", git.branch ?? (git.detached ? "(detached)" : undefined)],
    ["Commit", git.commit && join(git.commit, git.dirty ? "(with uncommitted changes)" : "")],
    ["Entry point", Array.isArray(argv) ? argv.join(" ") : undefined],
    ["Working dir", get(env, "code", "cwd")],
    ["Re-run with", Array.isArray(env.command) ? env.command.join(" ") : undefined],
    ["Launched by", env.launcher],
  ];
}

function packagesCard(env) {
  const dists = get(env, "packages", "distributions");
  const entries = dists && typeof dists === "object" ? Object.entries(dists).sort(([a], [b]) => a.localeCompare(b)) : [];
  if (!entries.length) return card("Packages", h("p", { class: "muted", text: "No packages captured." }));
  const tbody = h("tbody");
  const search = h("input", { type: "search", placeholder: "Find a package…", "aria-label": "Find a package" });
  const show = () => {
    const q = search.value.trim().toLowerCase();
    tbody.replaceChildren(...entries.filter(([name]) => !q || name.toLowerCase().includes(q)).map(([name, version]) =>
      h("tr", {}, h("th", { scope: "row", class: "mono", text: name }), h("td", { class: "mono", text: String(version) }))));
  };
  search.addEventListener("input", show);
  show();
  return card(`Packages (${entries.length})`, h("div", { class: "toolbar" }, search),
    h("div", { class: "table-scroll", style: { "max-height": "420px" } },
      h("table", { class: "data-table packages-table" }, h("caption", { class: "visually-hidden", text: "Installed packages" }),
        h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Package" }), h("th", { scope: "col", text: "Version" }))),
        tbody)));
}

async function fetchText(runId, path) {
  const { text } = await readHead(contentUrl(runId, path), MAX_BYTES);
  return text;
}

/** Fill the Environment & Code tab of a run page. */
export async function initEnvironment(panel, runId) {
  const body = panel.querySelector(".env-body");
  try {
    const paths = new Set((await listArtifacts(runId)).map((a) => a.path));
    const env = paths.has(ENVIRONMENT_PATH) ? JSON.parse(await fetchText(runId, ENVIRONMENT_PATH)) : null;
    const patch = paths.has(PATCH_PATH) ? await fetchText(runId, PATCH_PATH) : get(env, "code", "git", "patch");
    const parts = [];
    if (env) {
      parts.push(h("div", { class: "env-grid" },
        card("System", kvTable("System", systemRows(env))), card("Code", kvTable("Code", codeRows(env)))));
    }
    if (patch) parts.push(card("Uncommitted changes", renderDiff(patch, "Uncommitted changes")));
    else if (env) parts.push(card("Uncommitted changes", h("p", { class: "muted", text: "None: the working tree was clean." })));
    if (env) parts.push(packagesCard(env));
    if (!parts.length) parts.push(h("div", { class: "empty-inline", text: "No environment captured for this run." }));
    body.replaceChildren(...parts);
  } catch (err) {
    body.replaceChildren(h("p", { class: "muted", text: `Could not read the captured environment: ${err.message}` }));
  }
}
