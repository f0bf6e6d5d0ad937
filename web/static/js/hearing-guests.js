/**
 * The guests section of a hearing's staff page: invite a person by name and agency, revoke a
 * guest's link, remove a guest. The list is rendered by the server; each change reloads it.
 * The invitation card (with the personal link and its QR code) is a page of its own.
 */

import { api, page, t } from "./common.js";

const hearingId = page.hearing_id;
const form = document.getElementById("hd-guest-form");
const errorBox = document.getElementById("hd-error");

function fail(error) {
  errorBox.textContent = error.message ?? String(error);
  errorBox.hidden = false;
  errorBox.focus();
}

form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await api(`/api/v1/hearings/${hearingId}/guests`, {
      method: "POST",
      body: {
        name: String(data.get("name") ?? ""),
        position: String(data.get("position") ?? ""),
        agency_kind: String(data.get("agency_kind") ?? ""),
        agency: String(data.get("agency") ?? ""),
      },
    });
    window.location.reload();
  } catch (error) {
    button.disabled = false;
    fail(error);
  }
});

for (const button of document.querySelectorAll("[data-action=guest-revoke]")) {
  button.addEventListener("click", async () => {
    if (!window.confirm(t("guest.revoke_confirm"))) return;
    button.disabled = true;
    try {
      await api(`/api/v1/hearings/${hearingId}/guests/${button.dataset.guestId}/revoke`, { method: "POST" });
      window.location.reload();
    } catch (error) {
      button.disabled = false;
      fail(error);
    }
  });
}

for (const button of document.querySelectorAll("[data-action=guest-remove]")) {
  button.addEventListener("click", async () => {
    if (!window.confirm(t("guest.remove_confirm"))) return;
    button.disabled = true;
    try {
      await api(`/api/v1/hearings/${hearingId}/guests/${button.dataset.guestId}`, { method: "DELETE" });
      window.location.reload();
    } catch (error) {
      button.disabled = false;
      fail(error);
    }
  });
}
