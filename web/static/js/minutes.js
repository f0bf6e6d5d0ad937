// The minutes (biên bản) form: save with the version it was opened at (a stale version is
// refused by the hub, never silently overwritten), start over from the session log, sign off.
import { ApiError, api, fmtTime, h, page, showError, t } from "./common.js";

const form = document.getElementById("minutes-form");
const errorBox = document.getElementById("mn-error");
const status = document.getElementById("mn-save-status");
const base = `/api/v1/hearings/${page.hearing_id}/minutes`;
let version = page.version;

const SINGLE = ["parent_body", "issuing_body", "host_office", "number", "place_name", "title", "location", "chair", "recorder"];
const LISTS = ["participants", "sites", "absent_sites"];

// datetime-local values are Vietnam's wall time; the API wants an offset.
const toIso = (value) => (value ? `${value}:00+07:00` : null);
const fromIso = (value) => {
  if (!value) return "";
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-GB", {
      timeZone: "Asia/Ho_Chi_Minh", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    }).formatToParts(new Date(value)).map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
};
const lines = (text) => text.split("\n").map((s) => s.trim()).filter(Boolean);
const field = (root, name) => root.querySelector(`[name="${name}"]`);

function collect() {
  const content = {};
  for (const name of SINGLE) content[name] = field(form, name).value.trim();
  for (const name of LISTS) content[name] = lines(field(form, name).value);
  content.opened_at = toIso(field(form, "opened_at").value);
  content.closed_at = toIso(field(form, "closed_at").value);
  content.notes = document.getElementById("mn-notes").value;
  content.conclusion = document.getElementById("mn-conclusion").value;
  content.petitions = [...document.querySelectorAll("#mn-petitions > li")].map((li) => ({
    petition_id: Number(li.dataset.petitionId),
    case_code: li.dataset.caseCode,
    petitioner: field(li, "petitioner").value.trim(),
    heard_from: toIso(field(li, "heard_from").value),
    heard_to: toIso(field(li, "heard_to").value),
    summary: field(li, "summary").value,
    notes: field(li, "notes").value,
    handling: field(li, "handling").value.trim(),
  }));
  return content;
}

function petitionItem(p, index) {
  const input = (name, value, attrs = {}) =>
    h("label", { class: "field" }, t(`mn.${name === "notes" ? "petition_notes" : name}`),
      h(attrs.rows ? "textarea" : "input", { name, ...attrs, value: attrs.rows ? undefined : value }, attrs.rows ? value : null));
  return h(
    "li",
    { class: "panel", dataset: { petitionId: String(p.petition_id), caseCode: p.case_code } },
    h("h3", {}, `${index + 1}. ${p.case_code}`),
    input("petitioner", p.petitioner, { maxlength: 300, required: true }),
    input("heard_from", fromIso(p.heard_from), { type: "datetime-local" }),
    input("heard_to", fromIso(p.heard_to), { type: "datetime-local" }),
    input("summary", p.summary, { rows: 3, maxlength: 20000 }),
    input("notes", p.notes, { rows: 2, maxlength: 20000 }),
    input("handling", p.handling, { maxlength: 300, required: true }),
  );
}

function fill(content) {
  for (const name of SINGLE) field(form, name).value = content[name] || "";
  for (const name of LISTS) field(form, name).value = (content[name] || []).join("\n");
  field(form, "opened_at").value = fromIso(content.opened_at);
  field(form, "closed_at").value = fromIso(content.closed_at);
  document.getElementById("mn-notes").value = content.notes || "";
  document.getElementById("mn-conclusion").value = content.conclusion || "";
  document.getElementById("mn-petitions").replaceChildren(...content.petitions.map(petitionItem));
}

function failed(error) {
  status.textContent = "";
  // A conflict (stale version, signed off) says what happened and what to do in its message.
  if (error instanceof ApiError && error.status === 409) {
    errorBox.replaceChildren(error.message);
    errorBox.hidden = false;
  } else {
    showError(errorBox, error);
  }
  errorBox.focus();
}

function saved(record) {
  version = record.version;
  document.getElementById("minutes-version").textContent = t("mn.version", { version });
  status.textContent = t("common.saved_at", { time: fmtTime(new Date()) });
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  errorBox.hidden = true;
  const button = document.getElementById("mn-save");
  button.disabled = true;
  status.textContent = t("common.saving");
  try {
    saved(await api(base, { method: "PUT", body: { version, content: collect() } }));
  } catch (error) {
    failed(error);
  } finally {
    button.disabled = false;
  }
});

const redraft = document.getElementById("mn-redraft");
if (redraft) {
  redraft.addEventListener("click", async () => {
    if (!window.confirm(t("mn.redraft_confirm"))) return;
    errorBox.hidden = true;
    try {
      const record = await api(`${base}/draft`, { method: "POST" });
      fill(record.content);
      status.textContent = t("mn.redrafted");
    } catch (error) {
      failed(error);
    }
  });
}

const sign = document.getElementById("mn-sign");
if (sign) {
  sign.addEventListener("click", async () => {
    if (!window.confirm(t("mn.sign_confirm"))) return;
    errorBox.hidden = true;
    sign.disabled = true;
    try {
      await api(`${base}/sign`, { method: "POST", body: { version } });
      window.location.reload();
    } catch (error) {
      failed(error);
      sign.disabled = false;
    }
  });
}
