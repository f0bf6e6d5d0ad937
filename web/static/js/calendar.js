// The hearing calendar: a month grid or a week of day columns, from GET /api/v1/hearings with
// starts_from / starts_to. State lives in the URL (?view=month|week&date=yyyy-mm-dd), so the
// previous / next links are plain links and every view can be bookmarked.
import { apiAll, badge, fmtDate, fmtTime, h, page, showError, t, vnIso } from "./common.js";

const DAY = 86400000;
// Calendar days are handled as UTC midnights: pure dates, whatever the browser's own zone.
const parseDay = (text) => {
  const [y, m, d] = text.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d));
};
const isoDay = (date) => date.toISOString().slice(0, 10);
const addDays = (date, n) => new Date(date.getTime() + n * DAY);
const mondayOf = (date) => addDays(date, -((date.getUTCDay() + 6) % 7));
const weekdayIndex = (date) => (date.getUTCDay() + 6) % 7;

const params = new URLSearchParams(window.location.search);
const view = params.get("view") === "week" ? "week" : "month";
const today = page.today;
let anchor;
try {
  anchor = parseDay(/^\d{4}-\d{2}-\d{2}$/.test(params.get("date") || "") ? params.get("date") : today);
  if (Number.isNaN(anchor.getTime())) throw new Error("bad date");
} catch {
  anchor = parseDay(today);
}

const link = (v, date) => `/staff/calendar?view=${v}&date=${isoDay(date)}`;

function range() {
  if (view === "week") {
    const start = mondayOf(anchor);
    return { start, end: addDays(start, 7) };
  }
  const first = new Date(Date.UTC(anchor.getUTCFullYear(), anchor.getUTCMonth(), 1));
  const last = new Date(Date.UTC(anchor.getUTCFullYear(), anchor.getUTCMonth() + 1, 0));
  return { start: mondayOf(first), end: addDays(mondayOf(last), 7), first };
}

function setupToolbar() {
  const prev = document.getElementById("cal-prev");
  const next = document.getElementById("cal-next");
  const label = document.getElementById("cal-label");
  if (view === "week") {
    const monday = mondayOf(anchor);
    prev.href = link("week", addDays(monday, -7));
    next.href = link("week", addDays(monday, 7));
    prev.textContent = `‹ ${t("cal.prev_week")}`;
    next.textContent = `${t("cal.next_week")} ›`;
    label.textContent = t("cal.week_label", {
      start: fmtDate(isoDay(monday)),
      end: fmtDate(isoDay(addDays(monday, 6))),
    });
  } else {
    const y = anchor.getUTCFullYear();
    const m = anchor.getUTCMonth();
    prev.href = link("month", new Date(Date.UTC(y, m - 1, 1)));
    next.href = link("month", new Date(Date.UTC(y, m + 1, 1)));
    prev.textContent = `‹ ${t("cal.prev_month")}`;
    next.textContent = `${t("cal.next_month")} ›`;
    label.textContent = t("cal.month_label", { m: m + 1, y, mname: t(`month.${m + 1}`) });
  }
  document.getElementById("cal-today").href = `/staff/calendar?view=${view}`;
  for (const v of ["month", "week"]) {
    const a = document.getElementById(`cal-view-${v}`);
    a.href = link(v, anchor);
    if (v === view) {
      a.setAttribute("aria-current", "true");
      a.classList.add("btn--selected");
    }
  }
}

function eventLink(hearing, withDetails) {
  const status = t(`hstatus.${hearing.status}`);
  return h(
    "a",
    {
      class: `cal-event cal-event--${hearing.status}`,
      href: `/staff/hearings/${hearing.id}`,
      dataset: { hearingId: String(hearing.id) },
      title: `${fmtTime(hearing.starts_at)}–${fmtTime(hearing.ends_at)} ${hearing.title} (${status})`,
    },
    h("span", { class: "cal-event__time" }, fmtTime(hearing.starts_at)),
    " ",
    h("span", { class: "cal-event__title" }, hearing.title),
    withDetails
      ? h(
          "span",
          { class: "cal-event__meta" },
          `${fmtTime(hearing.starts_at)}–${fmtTime(hearing.ends_at)} · ${hearing.host_office_name || ""}`,
          " ",
          badge("hstatus", hearing.status),
        )
      : h("span", { class: "visually-hidden" }, ` (${status})`),
  );
}

function renderMonth(byDay, { start, end, first }) {
  const head = h(
    "tr",
    {},
    [0, 1, 2, 3, 4, 5, 6].map((i) =>
      h("th", { scope: "col" }, h("abbr", { title: t(`wdlong.${i}`) }, t(`wd.${i}`))),
    ),
  );
  const rows = [];
  for (let week = start; week < end; week = addDays(week, 7)) {
    const cells = [];
    for (let i = 0; i < 7; i += 1) {
      const day = addDays(week, i);
      const key = isoDay(day);
      const items = byDay.get(key) || [];
      const classes = ["cal-day"];
      if (day.getUTCMonth() !== first.getUTCMonth()) classes.push("is-outside");
      if (key === today) classes.push("is-today");
      cells.push(
        h(
          "td",
          { class: classes.join(" "), "aria-current": key === today ? "date" : null, dataset: { date: key } },
          h(
            "span",
            { class: "cal-day__number" },
            h("span", { "aria-hidden": "true" }, day.getUTCDate() === 1 ? `${day.getUTCDate()}/${day.getUTCMonth() + 1}` : day.getUTCDate()),
            h("span", { class: "visually-hidden" }, `${t(`wdlong.${i}`)} ${fmtDate(key)}`),
          ),
          items.length ? h("ul", { class: "plain cal-day__events" }, items.map((x) => h("li", {}, eventLink(x, false)))) : null,
        ),
      );
    }
    rows.push(h("tr", {}, cells));
  }
  return h(
    "table",
    { class: "cal-month" },
    h("caption", { class: "visually-hidden" }, document.getElementById("cal-label").textContent),
    h("thead", {}, head),
    h("tbody", {}, rows),
  );
}

function renderWeek(byDay, { start }) {
  const columns = [];
  for (let i = 0; i < 7; i += 1) {
    const day = addDays(start, i);
    const key = isoDay(day);
    const items = byDay.get(key) || [];
    columns.push(
      h(
        "section",
        {
          class: `cal-weekday${key === today ? " is-today" : ""}`,
          "aria-current": key === today ? "date" : null,
          dataset: { date: key },
        },
        h("h3", { class: "cal-weekday__title" }, `${t(`wdlong.${i}`)} ${fmtDate(key)}`),
        items.length
          ? h("ul", { class: "plain cal-day__events" }, items.map((x) => h("li", {}, eventLink(x, true))))
          : h("p", { class: "muted" }, t("cal.no_day")),
      ),
    );
  }
  return h("div", { class: "cal-week" }, columns);
}

async function load() {
  setupToolbar();
  const root = document.getElementById("calendar");
  const body = document.getElementById("cal-body");
  const span = range();
  try {
    const items = await apiAll("/api/v1/hearings", {
      starts_from: vnIso(isoDay(span.start)),
      starts_to: vnIso(isoDay(span.end)),
    });
    const byDay = new Map();
    for (const item of items) {
      // starts_at carries Vietnam's offset, so its first ten characters are the local day.
      const key = item.starts_at.slice(0, 10);
      if (!byDay.has(key)) byDay.set(key, []);
      byDay.get(key).push(item);
    }
    body.replaceChildren(
      view === "week" ? renderWeek(byDay, span) : renderMonth(byDay, span),
      h("p", { class: "muted calendar__count", id: "cal-count" }, items.length ? t("cal.count", { n: items.length }) : t("cal.empty")),
    );
  } catch (error) {
    showError(document.getElementById("cal-error"), error);
  } finally {
    root.setAttribute("aria-busy", "false");
  }
}

load();
