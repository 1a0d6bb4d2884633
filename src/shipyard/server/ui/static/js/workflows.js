// The workflows page: the "Run" button of a watched workflow records a manual request that the
// hub's workflow daemon carries out (the request shows up under "Recent requests").
import { api } from "./common.js";

const message = document.getElementById("run-message");

async function runWatch(button) {
  button.disabled = true;
  try {
    const made = await api("/api/v1/workflow-requests", { method: "POST", body: { watch_id: button.dataset.watch } });
    message.textContent = `Requested: ${made.workflow} (request ${made.id.slice(0, 12)}). Reload to follow it.`;
  } catch (error) {
    message.textContent = `Could not request the run: ${error.message}${error.hint ? ` (${error.hint})` : ""}`;
  } finally {
    button.disabled = false;
  }
}

for (const button of document.querySelectorAll("button.run-watch")) {
  button.addEventListener("click", () => runWatch(button));
}
