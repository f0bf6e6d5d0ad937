// Register a received petition (POST /api/v1/petitions), crowd cases with their number of people
// and representatives (5-10 people: at most 2; 11 or more: at most 5), then open its page.
import { api, h, me, page, parseVnDate, showError, t } from "./common.js";
import { fillScopedOffices } from "./offices.js";

const form = document.getElementById("petition-form");
const errorBox = document.getElementById("pf-error");
const crowd = document.getElementById("pf-crowd");
const crowdFields = document.getElementById("pf-crowd-fields");
const FIELD_LABELS = {
  type: t("pf.type"),
  office_id: t("pf.office"),
  received_on: t("pf.received_on"),
  source: t("pf.source"),
  petitioner_name: t("pf.name"),
  petitioner_address: t("pf.address"),
  petitioner_id_number: t("pf.id_number"),
  crowd: t("pf.crowd"),
  people_count: t("pf.people_count"),
  representatives: t("pf.representatives"),
  subject_field: t("pf.subject"),
  respondent: t("pf.respondent"),
  content: t("pf.content"),
  request: t("pf.request"),
  competent_body: t("pf.competent"),
  handling_deadline: t("pf.deadline"),
  national_code: t("pf.national_code"),
};

/** The most representatives a crowd of `people` may choose (mirrors hub/domain/petitions.py). */
const maxRepresentatives = (people) => (people >= 11 ? 5 : people >= 5 ? 2 : people);
const value = (name) => form.elements[name].value.trim();
const representatives = () =>
  value("representatives")
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);

function syncCrowd() {
  crowdFields.hidden = !crowd.checked;
  const people = Number(value("people_count")) || 0;
  document.getElementById("pf-reps-max").textContent = t("pf.reps_max", {
    people,
    n: maxRepresentatives(people),
  });
}

async function fillOffices() {
  const select = form.elements.office_id;
  await fillScopedOffices(select);
  select.value = String(me.office_id);
}

function collect() {
  const problems = [];
  const receivedOn = parseVnDate(value("received_on"));
  if (!receivedOn) problems.push(`${t("pf.received_on")}: ${t("common.bad_date")}`);
  if (!value("petitioner_name")) problems.push(`${t("pf.name")}: ${t("common.required")}`);
  if (!value("content")) problems.push(`${t("pf.content")}: ${t("common.required")}`);
  let deadline = null;
  if (value("handling_deadline")) {
    deadline = parseVnDate(value("handling_deadline"));
    if (!deadline) problems.push(`${t("pf.deadline")}: ${t("common.bad_date")}`);
  }
  const body = {
    type: value("type"),
    office_id: Number(value("office_id")),
    received_on: receivedOn,
    source: value("source"),
    petitioner_name: value("petitioner_name"),
    petitioner_address: value("petitioner_address"),
    petitioner_id_number: value("petitioner_id_number"),
    crowd: crowd.checked,
    people_count: 1,
    representatives: [],
    subject_field: value("subject_field"),
    respondent: value("respondent"),
    content: value("content"),
    request: value("request"),
    competent_body: value("competent_body"),
  };
  if (crowd.checked) {
    const people = Number.parseInt(value("people_count"), 10);
    const reps = representatives();
    if (!Number.isInteger(people) || people < 5) problems.push(`${t("pf.people_count")}: ${t("pf.crowd_min")}`);
    else if (reps.length > maxRepresentatives(people)) {
      problems.push(`${t("pf.representatives")}: ${t("pf.reps_max", { people, n: maxRepresentatives(people) })}`);
    }
    body.people_count = people;
    body.representatives = reps;
  }
  if (deadline) body.handling_deadline = deadline;
  if (value("national_code")) body.national_code = value("national_code");
  return { body, problems };
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  errorBox.hidden = true;
  const { body, problems } = collect();
  if (problems.length) {
    errorBox.replaceChildren(h("span", {}, t("common.invalid")), h("ul", {}, problems.map((p) => h("li", {}, p))));
    errorBox.hidden = false;
    errorBox.focus();
    return;
  }
  const button = document.getElementById("pf-submit");
  button.disabled = true;
  try {
    const petition = await api("/api/v1/petitions", { method: "POST", body });
    window.location.assign(`/staff/petitions/${petition.id}`);
  } catch (error) {
    showError(errorBox, error, FIELD_LABELS);
    errorBox.focus();
    button.disabled = false;
  }
});

crowd.addEventListener("change", syncCrowd);
form.elements.people_count.addEventListener("input", syncCrowd);
const [y, m, d] = page.today.split("-");
form.elements.received_on.value = `${d}/${m}/${y}`;
syncCrowd();
fillOffices()
  .catch((error) => showError(errorBox, error))
  .finally(() => form.setAttribute("aria-busy", "false"));
