// The deadlines page: pick the office whose rules are shown, save or reset its override of a
// rule (PUT/DELETE /api/v1/offices/{id}/deadline-rules/{rule}), add or remove a day of the
// holiday table (PUT/DELETE /api/v1/calendar-days/{day}); each change reloads the page.
import { api, page, parseVnDate, showError, t } from "./common.js";
import { fillScopedOffices } from "./offices.js";

const errorBox = document.getElementById("dl-error");
const officeSelect = document.getElementById("dl-office");

async function send(path, options, labels = {}) {
  errorBox.hidden = true;
  try {
    await api(path, options);
    window.location.reload();
  } catch (error) {
    showError(errorBox, error, labels);
    errorBox.focus();
  }
}

fillScopedOffices(officeSelect).then(() => {
  officeSelect.value = String(page.office_id);
});

for (const form of document.querySelectorAll("form[data-override]")) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { days: Number(form.elements.days.value) };
    if (form.elements.extension_days) body.extension_days = Number(form.elements.extension_days.value);
    send(
      `/api/v1/offices/${page.office_id}/deadline-rules/${form.dataset.override}`,
      { method: "PUT", body },
      { days: t("dl.days"), extension_days: t("dl.extension_days") },
    );
  });
}

document.addEventListener("click", (event) => {
  const reset = event.target.closest("button[data-reset]");
  if (reset) {
    send(`/api/v1/offices/${page.office_id}/deadline-rules/${reset.dataset.reset}`, { method: "DELETE" });
    return;
  }
  const remove = event.target.closest("button[data-remove]");
  if (remove) send(`/api/v1/calendar-days/${remove.dataset.remove}`, { method: "DELETE" });
});

const dayForm = document.getElementById("dl-day-form");
if (dayForm) {
  dayForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const day = parseVnDate(dayForm.elements.day.value.trim());
    if (!day) {
      showError(errorBox, new Error(`${t("dl.day")}: ${t("common.bad_date")}`));
      errorBox.focus();
      return;
    }
    send(
      `/api/v1/calendar-days/${day}`,
      { method: "PUT", body: { kind: dayForm.elements.kind.value, name: dayForm.elements.name.value.trim() } },
      { kind: t("dl.kind"), name: t("dl.name") },
    );
  });
}
