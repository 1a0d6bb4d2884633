// A run's comments: the list is rendered by the server (Markdown, HTML escaped) and fetched
// again after each change; posting, editing and deleting go through the REST API. Edit and
// delete buttons appear only on the comments the signed-in user may change.
import { api, h, localizeTimes, runPath, setServerHtml } from "./common.js";

const fragmentUrl = (runId) => `/api/v1/ui/runs/${encodeURIComponent(runId)}/comments`;

/** Fill the comments panel of run `runId` and wire its form and buttons. */
export function initComments(panel, runId) {
  const list = panel.querySelector("#comments-list");
  const form = panel.querySelector("#comment-form");
  const input = panel.querySelector("#comment-input");
  const status = panel.querySelector("#comment-status");
  const count = document.querySelector("#tab-comments .count");

  async function refresh() {
    const { count: total, html } = await api(fragmentUrl(runId));
    setServerHtml(list, html);
    localizeTimes(list);
    if (count) count.textContent = String(total);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.textContent = "Posting…";
    try {
      await api(`${runPath(runId)}/comments`, { method: "POST", body: { body: input.value } });
      input.value = "";
      status.textContent = "Posted";
      await refresh();
    } catch (err) {
      status.textContent = `Not posted: ${err.message}`;
    }
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });
  list.addEventListener("click", (event) => onAction(event, runId, refresh, status));
  refresh().catch((err) => list.replaceChildren(h("p", { class: "muted", text: `Comments unavailable: ${err.message}` })));
}

async function onAction(event, runId, refresh, status) {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const item = button.closest("[data-comment]");
  const path = `${runPath(runId)}/comments/${encodeURIComponent(item.dataset.comment)}`;
  try {
    if (button.dataset.action === "delete") {
      await api(path, { method: "DELETE" });
      status.textContent = "Deleted";
      await refresh();
    } else if (button.dataset.action === "edit") {
      startEdit(item, path, refresh, status);
    }
  } catch (err) {
    status.textContent = `Not changed: ${err.message}`;
  }
}

function startEdit(item, path, refresh, status) {
  const source = item.querySelector(".comment-source");
  const body = item.querySelector(".comment-body");
  const editor = h("textarea", { class: "mono comment-editor", rows: "5", "aria-label": "Edit comment" });
  editor.value = source.value;
  const save = h("button", { type: "submit", class: "btn primary small", text: "Save" });
  const cancel = h("button", { type: "button", class: "btn small", text: "Cancel", onClick: () => refresh() });
  const form = h("form", { class: "comment-edit-form" }, editor, h("div", { class: "form-actions" }, save, cancel));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api(path, { method: "PATCH", body: { body: editor.value } });
      status.textContent = "Saved";
      await refresh();
    } catch (err) {
      status.textContent = `Not saved: ${err.message}`;
    }
  });
  body.replaceWith(form);
  editor.focus();
}
