// Schedule a hearing: periodic (with a recurrence such as "the 15th of every month"), ad hoc or
// regular; host office, site offices (those with a bridge point), chairing leader and petitions.
// Offices come from GET /api/v1/offices, the host's leaders from GET /api/v1/users?role=leader&
// office=<host> (sites and chair must lie under the host office); the hearing is created
// with POST /api/v1/hearings and each chosen petition linked to its first occurrence.
import { api, fmtDate, h, label, me, page, parseTime, parseVnDate, showError, t, vnIso } from "./common.js";
import { fold, officeOption, searchKey, subtree } from "./offices.js";

const form = document.getElementById("hearing-form");
const errorBox = document.getElementById("hf-error");
const hostSelect = document.getElementById("hf-host");
const chairSelect = document.getElementById("hf-chair");
const sitesList = document.getElementById("hf-sites-list");
const sitesCount = document.getElementById("hf-sites-count");
const repeatBox = document.getElementById("hf-repeat");
const summary = document.getElementById("hf-repeat-summary");
const BYDAY = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
const FIELD_LABELS = {
  title: t("hf.title"),
  kind: t("hf.kind"),
  starts_at: t("hf.start"),
  ends_at: t("hf.end"),
  host_office_id: t("hf.host"),
  site_office_ids: t("hf.sites"),
  chair_user_id: t("hf.chair"),
  recurrence: t("hf.repeat"),
  location: t("hf.location"),
  description: t("hf.description"),
};
const chosen = new Map(); // petition id -> summary

const value = (name) => form.elements[name].value.trim();
const kind = () => form.elements.kind.value;
const repeat = () => form.elements.repeat.value;

let allOffices = [];

function fillOffices(offices) {
  allOffices = offices;
  for (const office of subtree(offices, me.office_id)) hostSelect.append(officeOption(office));
  hostSelect.value = String(me.office_id);
  syncHost();
}

/** A hearing invites only offices under its host (the hub refuses others): the sites offered
 * are the host's subtree's bridge points, the host itself shown but not selectable. */
function fillSites(host) {
  const checked = new Set([...sitesList.querySelectorAll("input[name=sites]:checked")].map((i) => i.value));
  sitesList.replaceChildren();
  for (const office of subtree(allOffices, host).filter((o) => o.has_bridge_point)) {
    const id = `hf-site-${office.id}`;
    const isHost = office.id === host;
    sitesList.append(
      h(
        "li",
        { style: { "--depth": office.depth || 0 }, dataset: { name: searchKey(office) } },
        h(
          "label",
          { class: "choice", for: id },
          h("input", {
            type: "checkbox",
            id,
            name: "sites",
            value: office.id,
            dataset: { code: office.code },
            checked: !isHost && checked.has(String(office.id)),
            disabled: isHost,
          }),
          ` ${office.name} `,
          h("span", { class: "muted host-mark", hidden: !isHost }, t("hf.host_mark")),
        ),
      ),
    );
  }
  filterSites();
}

/** The chair is a leader of the host office or an office under it: the picker lists those. */
async function fillChairs(host) {
  const chosen = chairSelect.value;
  const users = await api("/api/v1/users", { query: { role: "leader", office: host } });
  chairSelect.replaceChildren(chairSelect.options[0]);
  for (const user of users.items.filter((u) => u.active)) {
    chairSelect.append(h("option", { value: user.id }, `${user.display_name} — ${user.office_name || ""}`));
  }
  chairSelect.value = [...chairSelect.options].some((o) => o.value === chosen) ? chosen : "";
}

/** A new host changes which sites and which chairs may be chosen. */
function syncHost() {
  const host = Number(hostSelect.value);
  fillSites(host);
  countSites();
  fillChairs(host).catch((error) => showError(errorBox, error));
}

function countSites() {
  const n = sitesList.querySelectorAll("input[name=sites]:checked").length;
  sitesCount.textContent = t("hf.sites_count", { n });
}

function filterSites() {
  const q = fold(document.getElementById("hf-sites-filter").value.trim());
  for (const li of sitesList.children) li.hidden = Boolean(q) && !li.dataset.name.includes(q);
}

// --- recurrence -----------------------------------------------------------------------------

function firstOccurrence(isoDate) {
  const [y, m, d] = isoDate.split("-").map(Number);
  const start = new Date(Date.UTC(y, m - 1, d));
  if (repeat() === "weekly") {
    const want = Number(value("weekday"));
    const have = (start.getUTCDay() + 6) % 7;
    return new Date(start.getTime() + ((want - have + 7) % 7) * 86400000);
  }
  const day = Number(value("monthday"));
  for (let i = 0; i < 24; i += 1) {
    const month = new Date(Date.UTC(y, m - 1 + i, 1));
    const last = new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + 1, 0)).getUTCDate();
    const candidate = new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth(), day));
    if (day <= last && candidate >= start) return candidate;
  }
  return start;
}

function rrule() {
  if (kind() !== "periodic" || repeat() === "none") return null;
  const count = Number(value("count"));
  if (repeat() === "weekly") return `FREQ=WEEKLY;BYDAY=${BYDAY[Number(value("weekday"))]};COUNT=${count}`;
  return `FREQ=MONTHLY;BYMONTHDAY=${Number(value("monthday"))};COUNT=${count}`;
}

function syncRepeat() {
  const periodic = kind() === "periodic";
  repeatBox.disabled = !periodic;
  if (!periodic) {
    summary.textContent = t("hf.repeat_only_periodic");
    return;
  }
  const date = parseVnDate(value("date"));
  if (repeat() === "none") {
    summary.textContent = t("hf.repeat_once");
    return;
  }
  const first = date ? fmtDate(firstOccurrence(date).toISOString().slice(0, 10)) : t("common.none");
  const count = value("count");
  summary.textContent =
    repeat() === "weekly"
      ? t("hf.repeat_weekly_summary", { weekday: t(`wdlong.${value("weekday")}`), n: count, first })
      : t("hf.repeat_monthly_summary", { day: value("monthday"), n: count, first });
}

// --- petitions ----------------------------------------------------------------------------

const petitionText = (p) =>
  `${p.case_code} · ${label("ptype", p.type)} · ${p.petitioner_name}${p.subject_field ? ` · ${p.subject_field}` : ""}`;

function renderChosen() {
  const list = document.getElementById("hf-petition-chosen");
  list.replaceChildren(
    ...[...chosen.values()].map((p) =>
      h(
        "li",
        { dataset: { petitionId: String(p.id) } },
        h("span", {}, petitionText(p)),
        h(
          "button",
          {
            type: "button",
            class: "btn btn--small",
            "aria-label": `${t("hf.remove")} ${p.case_code}`,
            onclick: () => {
              chosen.delete(p.id);
              renderChosen();
            },
          },
          t("hf.remove"),
        ),
      ),
    ),
  );
  document.getElementById("hf-petition-none").hidden = chosen.size > 0;
}

async function searchPetitions() {
  const results = document.getElementById("hf-petition-results");
  const text = document.getElementById("hf-petition-q").value.trim();
  try {
    // Staff look a citizen's petition up by name or ID number to bring it to a hearing: a
    // search of personal data, audited by the hub (the box's label says so).
    const data = await api("/api/v1/petitions", { query: { text, limit: 10, personal: "true" } });
    if (!data.items.length) {
      results.replaceChildren(h("li", { class: "muted" }, t("hf.no_results")));
      return;
    }
    results.replaceChildren(
      ...data.items.map((p) =>
        h(
          "li",
          { dataset: { petitionId: String(p.id) } },
          h("span", {}, petitionText(p)),
          h(
            "button",
            {
              type: "button",
              class: "btn btn--small",
              "aria-label": `${t("hf.add")} ${p.case_code}`,
              onclick: () => {
                chosen.set(p.id, p);
                renderChosen();
              },
            },
            t("hf.add"),
          ),
        ),
      ),
    );
  } catch (error) {
    showError(errorBox, error);
  }
}

// --- submit ---------------------------------------------------------------------------------

function collect() {
  const problems = [];
  const date = parseVnDate(value("date"));
  const start = parseTime(value("start"));
  const end = parseTime(value("end"));
  if (!value("title")) problems.push(`${t("hf.title")}: ${t("common.required")}`);
  if (!date) problems.push(`${t("hf.date")}: ${t("common.bad_date")}`);
  if (!start) problems.push(`${t("hf.start")}: ${t("common.bad_time")}`);
  if (!end) problems.push(`${t("hf.end")}: ${t("common.bad_time")}`);
  if (problems.length) return { problems };
  const body = {
    title: value("title"),
    kind: kind(),
    host_office_id: Number(hostSelect.value),
    site_office_ids: [...sitesList.querySelectorAll("input[name=sites]:checked")].map((i) => Number(i.value)),
    starts_at: vnIso(date, start),
    ends_at: vnIso(date, end),
    location: value("location"),
    description: value("description"),
  };
  if (chairSelect.value) body.chair_user_id = Number(chairSelect.value);
  const rule = rrule();
  if (rule) body.recurrence = rule;
  return { body };
}

async function submit(event) {
  event.preventDefault();
  errorBox.hidden = true;
  const { body, problems } = collect();
  if (problems) {
    errorBox.replaceChildren(h("span", {}, t("common.invalid")), h("ul", {}, problems.map((p) => h("li", {}, p))));
    errorBox.hidden = false;
    errorBox.focus();
    return;
  }
  const button = document.getElementById("hf-submit");
  button.disabled = true;
  try {
    const hearing = await api("/api/v1/hearings", { method: "POST", body });
    const created = hearing.occurrences ? hearing.occurrences.length : 1;
    for (const id of chosen.keys()) {
      await api(`/api/v1/hearings/${hearing.id}/petitions/${id}`, { method: "POST" });
    }
    window.location.assign(`/staff/hearings/${hearing.id}?created=${created}`);
  } catch (error) {
    showError(errorBox, error, FIELD_LABELS);
    button.disabled = false;
  }
}

async function init() {
  errorBox.tabIndex = -1;
  const todayParts = page.today.split("-");
  form.elements.date.value = `${todayParts[2]}/${todayParts[1]}/${todayParts[0]}`;
  try {
    fillOffices((await api("/api/v1/offices")).items);
  } catch (error) {
    showError(errorBox, error);
  }
  hostSelect.addEventListener("change", syncHost);
  sitesList.addEventListener("change", countSites);
  document.getElementById("hf-sites-filter").addEventListener("input", filterSites);
  form.addEventListener("change", syncRepeat);
  form.addEventListener("input", syncRepeat);
  const search = document.getElementById("hf-petition-search");
  if (search) {
    search.addEventListener("click", searchPetitions);
    document.getElementById("hf-petition-q").addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        searchPetitions();
      }
    });
    renderChosen();
  }
  form.addEventListener("submit", submit);
  syncRepeat();
  form.setAttribute("aria-busy", "false");
}

init();
