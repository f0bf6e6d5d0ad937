// One delegation's actions: open its joint hearing (POST /api/v1/delegations/{id}/hearing, then
// the hearing's join page), mark it as being handled or close it (PATCH /api/v1/delegations/{id}).
import { api, page, showError } from "./common.js";

const errorBox = document.getElementById("dl-error");
const id = page.delegation_id;

const opener = document.getElementById("dl-open-hearing");
if (opener) {
  opener.addEventListener("click", async () => {
    opener.disabled = true;
    try {
      const hearing = await api(`/api/v1/delegations/${id}/hearing`, { method: "POST", body: {} });
      window.location.assign(`/hearings/${hearing.id}/join`);
    } catch (error) {
      showError(errorBox, error);
      errorBox.focus();
      opener.disabled = false;
    }
  });
}

for (const button of document.querySelectorAll("button[data-status]")) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api(`/api/v1/delegations/${id}`, { method: "PATCH", body: { status: button.dataset.status } });
      window.location.reload();
    } catch (error) {
      showError(errorBox, error);
      errorBox.focus();
      button.disabled = false;
    }
  });
}
