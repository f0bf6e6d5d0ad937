// The petition register: the filter form is a plain GET form (the URL holds the search), and this
// script turns the URL into GET /api/v1/petitions and shows one page of results.
import { api, badge, fmtDate, h, label, parseVnDate, showError, t } from "./common.js";
import { fillScopedOffices } from "./offices.js";

const PAGE_SIZE = 20;
const form = document.getElementById("pl-filters");
const errorBox = document.getElementById("pl-error");
const params = new URLSearchParams(window.location.search);
const pageNo = Math.max(1, Number.parseInt(params.get("page") || "1", 10) || 1);

function fillForm() {
  for (const name of ["text", "type", "status", "crowd", "due", "from", "to"]) {
    const value = params.get(name);
    if (value !== null) form.elements[name].value = value;
  }
  form.elements.personal.checked = params.get("personal") === "true";
}

async function fillOffices() {
  const select = form.elements.office;
  await fillScopedOffices(select);
  if (params.get("office")) select.value = params.get("office");
}

function query() {
  const q = { limit: PAGE_SIZE, offset: (pageNo - 1) * PAGE_SIZE };
  for (const name of ["text", "type", "status", "office", "crowd", "due"]) {
    const value = (params.get(name) || "").trim();
    if (value) q[name] = value;
  }
  // Searching the petitioner's personal data is a deliberate, audited choice (the checkbox).
  if (q.text && params.get("personal") === "true") q.personal = "true";
  const problems = [];
  for (const [name, apiName, fieldLabel] of [
    ["from", "received_from", t("pl.from")],
    ["to", "received_to", t("pl.to")],
  ]) {
    const value = (params.get(name) || "").trim();
    if (!value) continue;
    const iso = parseVnDate(value);
    if (iso) q[apiName] = iso;
    else problems.push(`${fieldLabel}: ${t("common.bad_date")}`);
  }
  return { q, problems };
}

function pageLink(n) {
  const next = new URLSearchParams(params);
  next.set("page", String(n));
  return `/staff/petitions?${next.toString()}`;
}

function renderPager(total, hasMore) {
  const pager = document.getElementById("pl-pager");
  // A search of personal data has no total (the hub does not count it): only "is there more".
  const pages = total === null ? null : Math.max(1, Math.ceil(total / PAGE_SIZE));
  const more = pages === null ? hasMore : pageNo < pages;
  const info = pages === null ? t("pl.page", { page: pageNo }) : t("common.page_of", { page: pageNo, pages });
  const parts = [
    pageNo > 1 ? h("a", { class: "btn", href: pageLink(pageNo - 1), rel: "prev" }, `‹ ${t("common.prev")}`) : null,
    h("span", { class: "pager__info" }, info),
    more ? h("a", { class: "btn", href: pageLink(pageNo + 1), rel: "next" }, `${t("common.next")} ›`) : null,
  ];
  pager.replaceChildren(...parts.filter(Boolean));
}

function renderTable(items) {
  if (!items.length) return h("p", { class: "empty" }, t("pl.empty"));
  const head = [
    "col.case_code",
    "col.received",
    "col.petitioner",
    "col.type",
    "col.subject",
    "col.office",
    "col.people",
    "col.status",
    "col.deadline",
  ].map((key) => h("th", { scope: "col" }, t(key)));
  const rows = items.map((p) =>
    h(
      "tr",
      { dataset: { petitionId: String(p.id) } },
      h("td", { class: "nowrap" }, h("a", { href: `/staff/petitions/${p.id}` }, p.case_code)),
      h("td", { class: "nowrap" }, fmtDate(p.received_on)),
      h("td", {}, p.petitioner_name),
      h("td", {}, label("ptype", p.type)),
      h("td", {}, p.subject_field || t("common.none")),
      h("td", {}, p.office_name || ""),
      h(
        "td",
        {},
        p.crowd ? h("span", { class: "badge badge--crowd" }, `${t("pl.crowd_mark")} · ${p.people_count}`) : String(p.people_count),
      ),
      h("td", {}, badge("pstatus", p.status)),
      h("td", { class: "nowrap" }, p.handling_deadline ? fmtDate(p.handling_deadline) : t("common.none")),
    ),
  );
  return h("table", { class: "table", id: "pl-table-results" }, h("thead", {}, h("tr", {}, head)), h("tbody", {}, rows));
}

async function load() {
  fillForm();
  const results = document.getElementById("pl-results");
  const { q, problems } = query();
  try {
    await fillOffices();
    if (problems.length) {
      errorBox.replaceChildren(h("span", {}, t("common.invalid")), h("ul", {}, problems.map((p) => h("li", {}, p))));
      errorBox.hidden = false;
    }
    const data = await api("/api/v1/petitions", { query: q });
    document.getElementById("pl-table").replaceChildren(renderTable(data.items));
    // No total: a personal-data search is not counted, and a text search is counted only up to
    // 200 matches (hub.services.petition_search.COUNT_UP_TO).
    const untold = q.personal ? t("pl.no_total") : t("pl.many", { n: 200 });
    const total = data.total === null ? untold : t("common.total", { n: data.total });
    document.getElementById("pl-total").textContent = `(${total})`;
    renderPager(data.total, data.has_more);
  } catch (error) {
    showError(errorBox, error, { text: t("pl.text"), office: t("pl.office") });
    document.getElementById("pl-table").replaceChildren();
  } finally {
    results.setAttribute("aria-busy", "false");
  }
}

load();
