// One workflow run: polls its state while it runs (DAG node colours, statuses, reasons), shows
// a job's log (the workflow/output.log artifact of its run, kept when the job ends), cancels the
// run (the engine stops its jobs) and requests a retry (carried out by the hub's daemon).
import { api, h, readJson, runPage } from "./common.js";

const POLL_MS = 2000;
const LOG_PATH = "workflow/output.log";
let state = readJson("workflow-state");
let selected = null;

const badge = (status) =>
  h("span", { class: `badge wf-status wf-${status.toLowerCase()}`, "data-status": status,
    text: status.charAt(0) + status.slice(1).toLowerCase() });

function fmtSpan(start, end) {
  if (start == null || end == null) return "—";
  let s = Math.max(0, Math.floor((end - start) / 1000));
  const m = Math.floor(s / 60);
  s %= 60;
  return m >= 60 ? `${Math.floor(m / 60)}h ${m % 60}m` : m ? `${m}m ${s}s` : `${s}s`;
}

function paint() {
  document.getElementById("run-status").replaceChildren(badge(state.status));
  document.getElementById("cancel-run").disabled = state.terminal;
  document.getElementById("retry-run").disabled = !state.terminal || state.status === "SUCCEEDED";
  for (const job of state.jobs) {
    const node = document.querySelector(`g.dag-node[data-job="${CSS.escape(job.name)}"]`);
    if (node) {
      node.setAttribute("class", `dag-node wf-${job.status.toLowerCase()}${job.name === selected ? " is-selected" : ""}`);
      node.dataset.status = job.status;
      node.querySelector(".dag-status").textContent = job.status.toLowerCase();
      node.querySelector("title").textContent = `${job.name}: ${job.reason || job.status.toLowerCase()}`;
      node.setAttribute("aria-label", `Job ${job.name}: ${job.status.toLowerCase()}`);
    }
    const row = document.querySelector(`#workflow-jobs tr[data-job="${CSS.escape(job.name)}"]`);
    if (!row) continue;
    row.querySelector(".job-status").replaceChildren(badge(job.status));
    const reason = [job.reason];
    if (job.message) reason.push(h("div", { class: "muted job-message", text: job.message }));
    row.querySelector(".job-reason").replaceChildren(...reason);
    row.querySelector(".job-run").replaceChildren(job.run_id
      ? h("a", { href: runPage(job.run_id), text: job.run_id.slice(0, 12) }) : "—");
    row.querySelector(".job-duration").textContent = fmtSpan(job.started_at, job.ended_at);
  }
}

async function poll() {
  if (state.terminal) return;
  try {
    state = await api(`/workflows/runs/${encodeURIComponent(state.id)}/state.json`);
    paint();
    if (selected) await showLog(selected, { quiet: true });
  } catch {
    // keep the last state; try again on the next tick
  }
  if (!state.terminal) setTimeout(poll, POLL_MS);
}

async function showLog(name, { quiet = false } = {}) {
  selected = name;
  const job = state.jobs.find((j) => j.name === name);
  const card = document.getElementById("log-card");
  const pre = document.getElementById("job-log");
  card.hidden = false;
  document.getElementById("log-job").textContent = name;
  paint();
  if (!job || !job.run_id) {
    pre.textContent = job && job.message ? job.message : "This job has no run (yet): nothing logged.";
    return;
  }
  if (!job.ended_at) {
    if (!quiet) pre.textContent = "The job is running; its log is kept when it ends.";
    return;
  }
  const url = `/api/v1/runs/${encodeURIComponent(job.run_id)}/artifacts/content?path=${encodeURIComponent(LOG_PATH)}`;
  const response = await fetch(url);
  if (response.ok) pre.textContent = (await response.text()) || "(the job printed nothing)";
  else pre.textContent = job.message || (job.status === "CACHED" ? "Cached: see the reused run's log." : "No log was kept for this job.");
}

async function act(verb) {
  const message = document.getElementById("action-message");
  const id = encodeURIComponent(state.id);
  try {
    if (verb === "cancel") {
      await api(`/api/v1/workflow-runs/${id}/cancel`, { method: "POST" });
      message.textContent = "Cancel requested.";
      state.terminal = false;
      poll();
    } else {
      const made = await api(`/api/v1/workflow-requests/retry/${id}`, { method: "POST" });
      message.replaceChildren(`Retry requested (request ${made.id.slice(0, 12)}): the hub's workflow daemon starts it; see `,
        h("a", { href: "/workflows", text: "Workflows" }), ".");
    }
  } catch (error) {
    message.textContent = `${verb} failed: ${error.message}${error.hint ? ` (${error.hint})` : ""}`;
  }
}

for (const node of document.querySelectorAll("g.dag-node")) {
  node.addEventListener("click", () => showLog(node.dataset.job));
  node.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      showLog(node.dataset.job);
    }
  });
}
for (const button of document.querySelectorAll("button.show-log")) {
  button.addEventListener("click", () => showLog(button.dataset.job));
}
document.getElementById("cancel-run").addEventListener("click", () => act("cancel"));
document.getElementById("retry-run").addEventListener("click", () => act("retry"));
setTimeout(poll, POLL_MS);
