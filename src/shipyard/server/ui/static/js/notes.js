// Notes and tags of a project or dataset: a card whose content the server renders (Markdown,
// HTML escaped), with an editor that saves through the REST API. The card names its URLs:
// data-src (the rendered fragment) and data-patch (PATCH {notes}).
import { api, h, setServerHtml } from "./common.js";

for (const card of document.querySelectorAll(".collab-notes[data-src]")) initNotesCard(card);

function initNotesCard(card) {
  const view = card.querySelector(".collab-notes-view");
  const form = card.querySelector("form");
  const input = form.querySelector("textarea");
  const status = card.querySelector(".collab-notes-status");
  const edit = card.querySelector(".collab-notes-edit");
  let saved = "";

  async function refresh() {
    const data = await api(card.dataset.src);
    saved = data.notes;
    setServerHtml(view, data.html);
  }
  function close() {
    form.hidden = true;
    view.hidden = false;
    edit.hidden = false;
  }

  edit.addEventListener("click", () => {
    input.value = saved;
    form.hidden = false;
    view.hidden = true;
    edit.hidden = true;
    status.textContent = "";
    input.focus();
  });
  form.querySelector(".collab-notes-cancel").addEventListener("click", close);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
    if (event.key === "Escape") close();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.textContent = "Saving…";
    try {
      await api(card.dataset.patch, { method: "PATCH", body: { notes: input.value } });
      await refresh();
      status.textContent = "Saved";
      close();
    } catch (err) {
      status.textContent = `Not saved: ${err.message}`;
    }
  });
  refresh().catch((err) => view.replaceChildren(h("p", { class: "muted", text: `Notes unavailable: ${err.message}` })));
}
