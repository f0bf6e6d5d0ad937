// A petition's workflow: one button per status it may move to, with a handling note (and the
// competent body when transferring); PATCH /api/v1/petitions/{id}, then the page shows the result.
// The running deadline's extension (a complex case), with its reason: POST .../extensions.
import { api, page, showError, t } from "./common.js";

const form = document.getElementById("pd-status-form");
const errorBox = document.getElementById("pd-error");

if (form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = event.submitter;
    if (!button || !button.value) return;
    errorBox.hidden = true;
    const body = { status: button.value, status_note: form.elements.note.value.trim() };
    const competent = form.elements.competent_body;
    if (competent && button.value === "transferred") body.competent_body = competent.value.trim();
    for (const b of form.querySelectorAll("button")) b.disabled = true;
    try {
      await api(`/api/v1/petitions/${page.petition_id}`, { method: "PATCH", body });
      window.location.reload();
    } catch (error) {
      showError(errorBox, error, { competent_body: t("pf.competent"), status: t("col.status") });
      errorBox.focus();
      for (const b of form.querySelectorAll("button")) b.disabled = false;
    }
  });
}

const extend = document.getElementById("pd-extend-form");

if (extend) {
  extend.addEventListener("submit", async (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    const button = extend.querySelector("button");
    button.disabled = true;
    try {
      await api(`/api/v1/petitions/${page.petition_id}/extensions`, {
        method: "POST",
        body: { reason: extend.elements.reason.value.trim() },
      });
      window.location.reload();
    } catch (error) {
      showError(errorBox, error, { reason: t("pd.extend_reason") });
      errorBox.focus();
      button.disabled = false;
    }
  });
}
