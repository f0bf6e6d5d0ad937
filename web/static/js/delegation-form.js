// Register a crowd delegation (POST /api/v1/delegations): where and when it was received, how
// many people and who speaks for them (5-10 people: at most 2; 11 or more: at most 5), the
// matter, the register's petitions it brought (searched with GET /api/v1/petitions), and the
// office it comes from, picked from the whole tree and suggested from the chosen petitions'
// addresses (GET /api/v1/delegations/suggest-home). Then the delegation's page.
import { api, h, me, page, parseVnDate, showError, t } from "./common.js";
import { fillScopedOffices, officeOption } from "./offices.js";

const form = document.getElementById("delegation-form");
const errorBox = document.getElementById("df-error");
const found = document.getElementById("df-found");
const chosenList = document.getElementById("df-chosen");
const chosen = new Map(); // petition id -> its register line
const FIELD_LABELS = {
  receiving_office_id: t("dl.receiving"),
  home_office_id: t("dl.home"),
  received_on: t("dl.received_on"),
  people_count: t("dl.people"),
  representatives: t("dl.representatives"),
  matter: t("dl.matter"),
  subject_field: t("dl.subject"),
  petition_ids: t("dl.petitions"),
  note: t("dl.note"),
};

const value = (name) => form.elements[name].value.trim();
const maxRepresentatives = (people) => (people >= 11 ? 5 : people >= 5 ? 2 : people);

function line(petition, action) {
  const button = h("button", { type: "button", class: "btn btn--small" }, action === "add" ? t("dl.choose") : t("dl.unchoose"));
  button.addEventListener("click", () => (action === "add" ? choose(petition) : unchoose(petition.id)));
  return h(
    "li",
    { dataset: { petitionId: String(petition.id) } },
    h("span", {}, `${petition.case_code} · ${petition.petitioner_name}`),
    " ",
    h("span", { class: "muted" }, petition.subject_field || ""),
    " ",
    button,
  );
}

function renderChosen() {
  chosenList.replaceChildren(...[...chosen.values()].map((p) => line(p, "remove")));
  document.getElementById("df-none-chosen").hidden = chosen.size > 0;
}

function choose(petition) {
  chosen.set(petition.id, petition);
  renderChosen();
  suggest();
}

function unchoose(id) {
  chosen.delete(id);
  renderChosen();
}

let searching = 0;
async function search() {
  const mine = ++searching;
  const text = document.getElementById("df-search").value.trim();
  const query = text ? { text, limit: 20 } : { limit: 20 };
  try {
    const listed = await api("/api/v1/petitions", { query });
    if (mine !== searching) return;
    found.replaceChildren(...listed.items.filter((p) => !chosen.has(p.id)).map((p) => line(p, "add")));
  } catch (error) {
    showError(errorBox, error);
  }
}

async function suggest() {
  const box = document.getElementById("df-suggestion");
  if (!chosen.size) {
    box.textContent = "";
    return;
  }
  try {
    const hint = await api("/api/v1/delegations/suggest-home", { query: { petitions: [...chosen.keys()].join(",") } });
    if (hint.office_id) {
      form.elements.home_office_id.value = String(hint.office_id);
      box.textContent = t("dl.suggested", { name: hint.office_name, matched: hint.matched, addresses: hint.addresses });
    } else {
      box.textContent = t("dl.no_suggestion");
    }
    box.dataset.officeId = hint.office_id ? String(hint.office_id) : "";
  } catch (error) {
    showError(errorBox, error, { petitions: t("dl.petitions") });
  }
}

function collect() {
  const problems = [];
  const receivedOn = parseVnDate(value("received_on"));
  if (!receivedOn) problems.push(`${t("dl.received_on")}: ${t("common.bad_date")}`);
  if (!value("matter")) problems.push(`${t("dl.matter")}: ${t("common.required")}`);
  if (!value("home_office_id")) problems.push(`${t("dl.home")}: ${t("common.required")}`);
  const people = Number.parseInt(value("people_count"), 10);
  const reps = value("representatives").split("\n").map((l) => l.trim()).filter(Boolean);
  if (!Number.isInteger(people) || people < 5) problems.push(`${t("dl.people")}: ${t("pf.crowd_min")}`);
  else if (reps.length > maxRepresentatives(people)) {
    problems.push(`${t("dl.representatives")}: ${t("pf.reps_max", { people, n: maxRepresentatives(people) })}`);
  }
  const body = {
    receiving_office_id: Number(value("receiving_office_id")),
    home_office_id: Number(value("home_office_id")),
    received_on: receivedOn,
    people_count: people,
    representatives: reps,
    matter: value("matter"),
    subject_field: value("subject_field"),
    note: value("note"),
    petition_ids: [...chosen.keys()],
  };
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
  const button = document.getElementById("df-submit");
  button.disabled = true;
  try {
    const delegation = await api("/api/v1/delegations", { method: "POST", body });
    window.location.assign(`/staff/delegations/${delegation.id}`);
  } catch (error) {
    showError(errorBox, error, FIELD_LABELS);
    errorBox.focus();
    button.disabled = false;
  }
});

async function setUp() {
  const offices = await fillScopedOffices(form.elements.receiving_office_id);
  form.elements.receiving_office_id.value = String(me.office_id);
  // The home office may lie anywhere in the tree: crowds come from other offices' areas.
  form.elements.home_office_id.append(...offices.filter((o) => o.level !== "central").map(officeOption));
  const [y, m, d] = page.today.split("-");
  form.elements.received_on.value = `${d}/${m}/${y}`;
  renderChosen();
  await search();
}

let timer = null;
document.getElementById("df-search").addEventListener("input", () => {
  clearTimeout(timer);
  timer = setTimeout(search, 250);
});
document.getElementById("df-suggest").addEventListener("click", suggest);
setUp()
  .catch((error) => showError(errorBox, error))
  .finally(() => form.setAttribute("aria-busy", "false"));
