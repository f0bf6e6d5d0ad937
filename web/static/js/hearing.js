// The hearing page's controls: start / end / cancel, publish to the public schedule, the minutes
// (biên bản), linking and unlinking petitions, notes in the session log. Each change goes to the
// JSON API; the page then reloads so what it shows is what the hub recorded.
import { api, fmtTime, h, label, page, showError, t } from "./common.js";

const id = page.hearing_id;
const errorBox = document.getElementById("hd-error");
const base = `/api/v1/hearings/${id}`;

async function run(button, action) {
  errorBox.hidden = true;
  if (button) button.disabled = true;
  try {
    await action();
    window.location.reload();
  } catch (error) {
    showError(errorBox, error);
    errorBox.focus();
    if (button) button.disabled = false;
  }
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const cancelForm = document.getElementById("hd-cancel-form");
  switch (button.dataset.action) {
    case "start":
      run(button, () => api(`${base}/start`, { method: "POST" }));
      break;
    case "end":
      run(button, () => api(`${base}/end`, { method: "POST" }));
      break;
    case "publish":
      run(button, () =>
        api(base, { method: "PATCH", body: { published: button.dataset.published !== "true" } }),
      );
      break;
    case "cancel":
      cancelForm.hidden = false;
      button.setAttribute("aria-expanded", "true");
      cancelForm.elements.reason.focus();
      break;
    case "cancel-keep":
      cancelForm.hidden = true;
      document.querySelector("button[data-action=cancel]").setAttribute("aria-expanded", "false");
      break;
    case "unlink":
      run(button, () => api(`${base}/petitions/${button.dataset.petitionId}`, { method: "DELETE" }));
      break;
    case "link":
      run(button, () => api(`${base}/petitions/${button.dataset.petitionId}`, { method: "POST" }));
      break;
    default:
      break;
  }
});

const cancelForm = document.getElementById("hd-cancel-form");
if (cancelForm) {
  cancelForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const reason = cancelForm.elements.reason.value.trim();
    run(cancelForm.querySelector("button[type=submit]"), () =>
      api(`${base}/cancel`, { method: "POST", body: { reason } }),
    );
  });
}

const minutesForm = document.getElementById("hd-minutes-form");
if (minutesForm) {
  const status = document.getElementById("hd-minutes-status");
  minutesForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    const button = minutesForm.querySelector("button[type=submit]");
    button.disabled = true;
    status.textContent = t("common.saving");
    try {
      await api(base, { method: "PATCH", body: { minutes: minutesForm.elements.minutes.value } });
      status.textContent = t("common.saved_at", { time: fmtTime(new Date()) });
    } catch (error) {
      status.textContent = "";
      showError(errorBox, error);
    } finally {
      button.disabled = false;
    }
  });
}

const noteForm = document.getElementById("hd-note-form");
if (noteForm) {
  noteForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = noteForm.elements.text.value.trim();
    if (!text) return;
    run(noteForm.querySelector("button[type=submit]"), () =>
      api(`${base}/log`, { method: "POST", body: { text } }),
    );
  });
}

const linkForm = document.getElementById("hd-link-form");
if (linkForm) {
  const results = document.getElementById("hd-link-results");
  const linked = new Set(
    [...document.querySelectorAll("#hd-petitions tr[data-petition-id]")].map((row) => row.dataset.petitionId),
  );
  linkForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    try {
      const text = linkForm.elements.q.value.trim();
      const data = await api("/api/v1/petitions", { query: { text, limit: 10 } });
      const items = data.items.filter((p) => !linked.has(String(p.id)));
      results.replaceChildren(
        ...(items.length
          ? items.map((p) =>
              h(
                "li",
                { dataset: { petitionId: String(p.id) } },
                h("span", {}, `${p.case_code} · ${label("ptype", p.type)} · ${p.petitioner_name}`),
                h(
                  "button",
                  {
                    type: "button",
                    class: "btn btn--small",
                    dataset: { action: "link", petitionId: String(p.id) },
                    "aria-label": `${t("hd.link")} ${p.case_code}`,
                  },
                  t("hd.link"),
                ),
              ),
            )
          : [h("li", { class: "muted" }, t("hf.no_results"))]),
      );
    } catch (error) {
      showError(errorBox, error);
    }
  });
}
