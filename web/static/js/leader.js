// The leader's start page: start and end the hearings the leader's office hosts, then reload.
// "Tham gia" is a plain link to the hearing's live page.
import { api, showError } from "./common.js";

const errorBox = document.getElementById("ld-error");

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const { action, hearingId } = button.dataset;
  if (action !== "start" && action !== "end") return;
  errorBox.hidden = true;
  button.disabled = true;
  try {
    await api(`/api/v1/hearings/${hearingId}/${action}`, { method: "POST" });
    window.location.reload();
  } catch (error) {
    showError(errorBox, error);
    errorBox.focus();
    button.disabled = false;
  }
});
