// The report page's charts (Chart.js, vendored from npm by the Makefile as a UMD build that sets
// window.Chart): drawn from the same figures the page's tables show, handed in as page data.
import { label, lang, page, t } from "./common.js";

const report = page.report;
const Chart = window.Chart;
// Colours that stay apart in print and for the common colour-vision deficiencies.
const COLOURS = ["#1f5fa8", "#d0731c", "#2e8b57", "#8e44ad", "#c0392b", "#7f8c8d", "#b8860b"];
const TYPES = ["complaint", "denunciation", "recommendation", "feedback", "mixed"];
const STATUSES = ["received", "accepted", "transferred", "returned", "filed", "suspended", "resolved"];
const KINDS = ["periodic", "adhoc", "regular"];
const ALERTS = ["site_offline", "site_degraded", "media_device_missing", "self_test_failed", "site_not_connected_at_start"];
const ROWS = ["regular", "leaders"];
const MAX_SUBJECTS = 12;

function options(extra = {}) {
  return {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    locale: lang === "vi" ? "vi-VN" : "en-GB",
    scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { beginAtZero: true, ticks: { precision: 0 } } },
    plugins: { legend: { display: false } },
    ...extra,
  };
}

function single(labels, data, title) {
  return { labels, datasets: [{ label: title, data, backgroundColor: COLOURS[0] }] };
}

function specs() {
  const p = report.petitions;
  const subjects = p.by_subject.slice(0, MAX_SUBJECTS);
  const h = report.hearings.by_kind;
  const r = report.reception;
  const inc = report.connection_incidents.by_kind;
  const legend = { plugins: { legend: { display: true, position: "bottom" } } };
  return {
    types: { type: "bar", data: single(TYPES.map((k) => label("ptype", k)), TYPES.map((k) => p.by_type[k]), t("rp.ch.petitions")), options: options() },
    outcomes: {
      type: "bar",
      data: single(STATUSES.map((k) => label("pstatus", k)), STATUSES.map((k) => p.by_status[k]), t("rp.ch.petitions")),
      options: options(),
    },
    subjects: {
      type: "bar",
      data: single(
        subjects.map((s) => s.subject_field || t("rp.no_subject")),
        subjects.map((s) => s.total),
        t("rp.ch.petitions"),
      ),
      options: options({ indexAxis: "y" }),
    },
    hearings: {
      type: "bar",
      data: {
        labels: KINDS.map((k) => label("hkind", k)),
        datasets: [
          { label: t("rp.c.online"), data: KINDS.map((k) => h[k].online), backgroundColor: COLOURS[0] },
          { label: t("rp.c.in_person"), data: KINDS.map((k) => h[k].in_person), backgroundColor: COLOURS[1] },
        ],
      },
      options: options({ ...legend, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } }),
    },
    reception: {
      type: "bar",
      data: {
        labels: ROWS.map((k) => t(`rp.r.${k}`)),
        datasets: ["visits", "people", "cases_new", "cases_repeated"].map((c, i) => ({
          label: t(`rp.c.${c}`),
          data: ROWS.map((k) => r[k][c]),
          backgroundColor: COLOURS[i],
        })),
      },
      options: options(legend),
    },
    incidents: {
      type: "bar",
      data: single(ALERTS.map((k) => label("alert", k)), ALERTS.map((k) => inc[k].total), t("rp.c.incidents")),
      options: options(),
    },
  };
}

const panel = document.getElementById("rp-charts");
try {
  if (report && Chart && panel) {
    for (const [name, spec] of Object.entries(specs())) {
      const figure = document.getElementById(`chart-${name}`);
      if (!figure) continue;
      new Chart(figure.querySelector("canvas"), spec);
      figure.dataset.drawn = "true";
    }
    panel.dataset.drawn = "true";
  }
} finally {
  // The tables above hold every figure: without the chart library the page still reads.
  panel?.removeAttribute("aria-busy");
}
