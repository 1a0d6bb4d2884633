// The artifact browser of a run: a folder tree and previews (text, JSON, CSV/TSV tables, images,
// Markdown and notebooks rendered by the server, diffs). Files are fetched from the REST API; the
// chosen file is kept in the URL (?artifact=path) so the preview can be shared.
import { api, apiUrl, fmtBytes, h, replaceQuery, runPath, setServerHtml } from "./common.js";
import { renderDiff } from "./diff.js";

const MAX_TEXT_BYTES = 2 * 1024 * 1024;
const MAX_JSON_BYTES = 10 * 1024 * 1024;
const MAX_IMAGE_BYTES = 30 * 1024 * 1024;
const CSV_HEAD_BYTES = 4 * 1024 * 1024;
export const MAX_CSV_ROWS = 500;
const IMAGE_TYPES = {
  png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif", webp: "image/webp",
  svg: "image/svg+xml", bmp: "image/bmp", avif: "image/avif",
};
const TEXT_EXTENSIONS = new Set(("txt log py pyi cfg ini toml yaml yml xml html htm css js ts sh bash " +
  "r sql c h cc cpp hpp java go rs rb jl scala kt swift tex rst env gitignore dockerfile makefile " +
  "lock requirements pbtxt prototxt properties conf out err").split(" "));

const listings = new Map();

/** The artifact records of a run (one request per page, shared by the tabs that need them). */
export function listArtifacts(runId) {
  if (!listings.has(runId)) {
    listings.set(runId, api(`${runPath(runId)}/artifacts`).then((d) => d.artifacts));
  }
  return listings.get(runId);
}

export const contentUrl = (runId, path) => apiUrl(`${runPath(runId)}/artifacts/content`, { path });

function extension(path) {
  const name = path.split("/").pop().toLowerCase();
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot + 1) : name;
}

function kindOf(artifact) {
  const ext = extension(artifact.path);
  if (ext in IMAGE_TYPES) return "image";
  if (["json", "jsonl", "geojson"].includes(ext)) return ext === "jsonl" ? "text" : "json";
  if (ext === "csv") return "csv";
  if (ext === "tsv") return "tsv";
  if (ext === "md" || ext === "markdown") return "markdown";
  if (ext === "ipynb") return "notebook";
  if (ext === "patch" || ext === "diff") return "diff";
  const type = artifact.media_type || "";
  if (TEXT_EXTENSIONS.has(ext) || type.startsWith("text/") || /json|xml|yaml/.test(type)) return "text";
  return "none";
}

/** Read at most `limit` bytes of a file as text; {text, truncated}. */
export async function readHead(url, limit) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`the server answered ${response.status}`);
  const reader = response.body.getReader();
  const chunks = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    if (size >= limit) {
      truncated = true;
      await reader.cancel();
      break;
    }
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return { text: new TextDecoder().decode(bytes.subarray(0, Math.min(size, limit))), truncated };
}

/** RFC 4180 CSV (quoted fields, doubled quotes, CRLF), at most `maxRows` rows. */
export function parseCsv(text, delimiter = ",", maxRows = Infinity) {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false;
  let i = 0;
  while (i < text.length && rows.length < maxRows) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') quoted = false;
      else field += c;
      i += 1;
    } else if (c === '"' && field === "") {
      quoted = true; i += 1;
    } else if (c === delimiter) {
      row.push(field); field = ""; i += 1;
    } else if (c === "\n" || c === "\r") {
      row.push(field); rows.push(row); row = []; field = "";
      i += c === "\r" && text[i + 1] === "\n" ? 2 : 1;
    } else {
      field += c; i += 1;
    }
  }
  if ((field !== "" || row.length) && rows.length < maxRows) rows.push([...row, field]);
  return rows;
}

// -- previews -------------------------------------------------------------------------------

let objectUrl = null;

function tooLarge(artifact, limit) {
  if (artifact.size <= limit) return false;
  throw new Error(`${fmtBytes(artifact.size)} is more than the ${fmtBytes(limit)} a preview shows; download it instead`);
}

const RENDERERS = {
  async image(body, runId, artifact) {
    tooLarge(artifact, MAX_IMAGE_BYTES);
    const response = await fetch(contentUrl(runId, artifact.path));
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    const blob = new Blob([await response.blob()], { type: IMAGE_TYPES[extension(artifact.path)] });
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    objectUrl = URL.createObjectURL(blob);
    body.replaceChildren(h("img", { src: objectUrl, alt: `Image artifact ${artifact.path}` }));
  },
  async json(body, runId, artifact) {
    tooLarge(artifact, MAX_JSON_BYTES);
    const { text } = await readHead(contentUrl(runId, artifact.path), MAX_JSON_BYTES + 1);
    let pretty;
    try {
      pretty = JSON.stringify(JSON.parse(text), null, 2);
    } catch (err) {
      body.replaceChildren(h("p", { class: "muted", text: `Not valid JSON (${err.message}); shown as text.` }),
        h("pre", { class: "text", text }));
      return;
    }
    body.replaceChildren(h("pre", { class: "text json", text: pretty }));
  },
  csv: (body, runId, artifact) => table(body, runId, artifact, ","),
  tsv: (body, runId, artifact) => table(body, runId, artifact, "\t"),
  async markdown(body, runId, artifact) {
    const url = apiUrl(`/api/v1/ui/runs/${encodeURIComponent(runId)}/artifacts/preview`, { path: artifact.path });
    const rendered = await api(url);
    const view = h("div", { class: rendered.kind === "notebook" ? "notebook-view" : "markdown" });
    setServerHtml(view, rendered.html);
    body.replaceChildren(view);
  },
  notebook: (body, runId, artifact) => RENDERERS.markdown(body, runId, artifact),
  async diff(body, runId, artifact) {
    tooLarge(artifact, MAX_TEXT_BYTES);
    const { text } = await readHead(contentUrl(runId, artifact.path), MAX_TEXT_BYTES);
    body.replaceChildren(renderDiff(text, `Diff ${artifact.path}`));
  },
  async text(body, runId, artifact) {
    const { text, truncated } = await readHead(contentUrl(runId, artifact.path), MAX_TEXT_BYTES);
    body.replaceChildren(
      truncated ? h("p", { class: "muted small", text: `First ${fmtBytes(MAX_TEXT_BYTES)} shown.` }) : null,
      h("pre", { class: "text", tabindex: "0", text }));
  },
  async none(body) {
    body.replaceChildren(h("p", { class: "muted", text: "No preview for this type of file. Download it to open it." }));
  },
};

async function table(body, runId, artifact, delimiter) {
  const { text, truncated } = await readHead(contentUrl(runId, artifact.path), CSV_HEAD_BYTES);
  const complete = truncated ? text.slice(0, text.lastIndexOf("\n") + 1) : text;
  const rows = parseCsv(complete, delimiter, MAX_CSV_ROWS + 2);
  if (!rows.length) {
    body.replaceChildren(h("p", { class: "muted", text: "Empty file." }));
    return;
  }
  const [header, ...data] = rows;
  const shown = data.slice(0, MAX_CSV_ROWS);
  const more = truncated || data.length > MAX_CSV_ROWS;
  body.replaceChildren(
    h("p", { class: "muted small", text: more ? `First ${MAX_CSV_ROWS} rows shown.` : `${shown.length} rows.` }),
    h("table", { class: "data-table csv-table" },
      h("caption", { class: "visually-hidden", text: `Contents of ${artifact.path}` }),
      h("thead", {}, h("tr", {}, header.map((name) => h("th", { scope: "col", text: name })))),
      h("tbody", {}, shown.map((row) => h("tr", {}, row.map((value) => h("td", { text: value })))))));
}

async function preview(el, runId, artifact) {
  const kind = kindOf(artifact);
  const name = artifact.path.split("/").pop();
  const body = h("div", { class: "preview-body", "data-kind": kind }, h("p", { class: "muted", text: "Loading…" }));
  el.replaceChildren(
    h("div", { class: "preview-head" }, h("h3", { text: artifact.path }),
      h("div", { class: "actions" },
        h("span", { class: "muted small", text: `${fmtBytes(artifact.size)} · ${artifact.media_type}` }),
        h("a", { class: "btn small", href: contentUrl(runId, artifact.path), download: name, text: "Download" }))),
    body);
  try {
    await RENDERERS[kind](body, runId, artifact);
  } catch (err) {
    body.replaceChildren(h("p", { class: "muted", text: `Cannot preview this file: ${err.message}` }));
  }
}

// -- tree -----------------------------------------------------------------------------------

function buildTree(artifacts) {
  const root = { dirs: new Map(), files: [] };
  for (const artifact of artifacts) {
    let node = root;
    for (const dir of artifact.path.split("/").slice(0, -1)) {
      if (!node.dirs.has(dir)) node.dirs.set(dir, { dirs: new Map(), files: [] });
      node = node.dirs.get(dir);
    }
    node.files.push(artifact);
  }
  return root;
}

function renderTree(node, pick, buttons, depth = 0) {
  const list = h("ul", { role: depth ? "group" : null });
  for (const [name, child] of [...node.dirs].sort(([a], [b]) => a.localeCompare(b))) {
    const open = depth < 2 && !name.startsWith(".");
    list.append(h("li", {}, h("details", { open },
      h("summary", { text: `${name}/` }), renderTree(child, pick, buttons, depth + 1))));
  }
  for (const artifact of node.files) {
    const button = h("button", { type: "button", class: "file", "data-path": artifact.path, title: artifact.path,
      onclick: () => pick(artifact) },
      h("span", { class: "fname", text: artifact.path.split("/").pop() }),
      h("span", { class: "size", text: fmtBytes(artifact.size) }));
    buttons.set(artifact.path, button);
    list.append(h("li", {}, button));
  }
  return list;
}

function rememberChoice(path) {
  const q = new URLSearchParams(location.search);
  q.set("artifact", path);
  replaceQuery(q);
}

/** Fill the Artifacts tab of a run page. */
export async function initArtifacts(panel, runId) {
  const treeEl = panel.querySelector(".artifact-tree");
  const previewEl = panel.querySelector(".artifact-preview");
  let artifacts;
  try {
    artifacts = await listArtifacts(runId);
  } catch (err) {
    treeEl.replaceChildren(h("p", { class: "muted", text: `Could not list artifacts: ${err.message}` }));
    return;
  }
  if (!artifacts.length) {
    treeEl.replaceChildren(h("p", { class: "muted", text: "No artifacts logged." }));
    previewEl.replaceChildren(h("p", { class: "muted", text: "Log files with run.log_artifact(path)." }));
    return;
  }
  const buttons = new Map();
  const pick = (artifact) => {
    buttons.forEach((b, path) => b.setAttribute("aria-current", String(path === artifact.path)));
    for (let d = buttons.get(artifact.path).closest("details"); d; d = d.parentElement.closest("details")) d.open = true;
    rememberChoice(artifact.path);
    preview(previewEl, runId, artifact);
  };
  treeEl.replaceChildren(renderTree(buildTree(artifacts), pick, buttons));
  const wanted = new URLSearchParams(location.search).get("artifact");
  const chosen = artifacts.find((a) => a.path === wanted);
  if (chosen) pick(chosen);
}
