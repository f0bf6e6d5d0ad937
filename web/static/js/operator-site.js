// One bridge point's link (/operator/sites/{id}): the grade now with its reasons, the latest
// figures, and the last 24 hours of RTT, loss, jitter, bitrate and frame rate in 5-minute steps,
// all from GET /api/v1/offices/{id}/link, read again every minute (a step is 5 minutes long).
import { api, fmtDateTime, h, page, showError, t } from "./common.js";
import { COLOURS, graph, measured } from "./link-charts.js";

const REFRESH_MS = 60_000;
const GRAPHS = {
  rtt: { unit: "ms", series: [{ figure: "rtt_ms", label: "RTT", colour: COLOURS.rtt_ms }] },
  loss: { unit: "%", series: [{ figure: "loss_pct", label: t("site.loss"), colour: COLOURS.loss_pct }] },
  jitter: { unit: "ms", series: [{ figure: "jitter_ms", label: "Jitter", colour: COLOURS.jitter_ms }] },
  bitrate: {
    unit: "kbit/s",
    series: [
      { figure: "bitrate_in_kbps", label: t("site.bitrate_in"), colour: COLOURS.in },
      { figure: "bitrate_out_kbps", label: t("site.bitrate_out"), colour: COLOURS.out },
    ],
  },
  fps: { unit: t("site.fps_unit"), series: [{ figure: "fps", label: t("site.fps"), colour: COLOURS.fps }] },
};
const charts = new Map(); // name -> graph()

const GRADES = ["good", "poor", "bad", "unknown"];
const rounded = (v) => (typeof v === "number" && Number.isFinite(v) ? Math.round(v * 10) / 10 : "—");

function showNow(report) {
  const grade = GRADES.includes(report.grade) ? report.grade : "unknown";
  const box = document.getElementById("site-grade");
  box.dataset.grade = grade;
  box.replaceChildren(h("span", { class: `grade grade--${grade === "unknown" ? "none" : grade}` }, t(`grade.${grade}`)));
  document.getElementById("site-updated").textContent = report.latest
    ? t("site.latest_at", { at: fmtDateTime(report.latest.at) })
    : t("site.no_recent");
  document.getElementById("site-reasons").replaceChildren(
    ...report.reasons.map((reason) =>
      h("li", { dataset: { reason: reason.code } }, t(`reason.${reason.code}`, { value: rounded(reason.value), limit: rounded(reason.limit) })),
    ),
  );
  const latest = report.latest || {};
  const items = [];
  const num = (v) => typeof v === "number" && Number.isFinite(v);
  const r = (v) => Math.round(v * 10) / 10;
  if (num(latest.rtt_ms)) items.push(t("op.rtt", { ms: r(latest.rtt_ms) }));
  if (num(latest.loss_pct)) items.push(t("op.loss", { pct: r(latest.loss_pct) }));
  if (num(latest.jitter_ms)) items.push(t("site.jitter", { ms: r(latest.jitter_ms) }));
  if (num(latest.bitrate_in_kbps)) items.push(t("op.bitrate", { kbps: Math.round(latest.bitrate_in_kbps) }));
  if (num(latest.fps)) items.push(t("site.fps_now", { fps: r(latest.fps) }));
  document.getElementById("site-latest").replaceChildren(...items.map((text) => h("span", { class: "figure" }, text)));
}

async function showGraphs(points) {
  for (const [name, spec] of Object.entries(GRAPHS)) {
    const figure = document.getElementById(`graph-${name}`);
    const plot = figure.querySelector(".link-graph__plot");
    let chart = charts.get(name);
    if (!chart) {
      chart = await graph(plot, spec);
      charts.set(name, chart);
    }
    chart.update(points);
    const any = measured(points, spec.series.map((s) => s.figure)) > 0;
    figure.dataset.points = plot.dataset.points;
    figure.querySelector(".link-graph__empty").hidden = any;
  }
}

async function refresh() {
  const error = document.getElementById("site-error");
  try {
    const report = await api(`/api/v1/offices/${page.office_id}/link`);
    error.hidden = true;
    showNow(report);
    await showGraphs(report.graph || []);
  } catch (problem) {
    showError(error, problem);
  } finally {
    document.getElementById("site-now").setAttribute("aria-busy", "false");
    document.getElementById("site-graphs").setAttribute("aria-busy", "false");
  }
}

let resizing = null;
window.addEventListener("resize", () => {
  clearTimeout(resizing);
  resizing = setTimeout(() => charts.forEach((chart) => chart.resize()), 200);
});

refresh();
setInterval(refresh, REFRESH_MS);
