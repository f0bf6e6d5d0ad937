// A site's link drawn with uPlot (vendored from npm by the Makefile into /static/vendor/): the
// operator board's 15-minute sparkline per row and the site page's 24-hour graphs. Both read
// GET /api/v1/offices/{id}/link's series: [{at, samples, rtt_ms, loss_pct, jitter_ms,
// bitrate_in_kbps, bitrate_out_kbps, fps, ...}], one point per step, null where nothing was
// measured (uPlot leaves a gap there rather than drawing a line through it).
//
// uPlot styles its elements through the CSSOM only (el.style.x = ...) and takes the rest from
// uPlot.min.css, so the strict Content-Security-Policy (style-src 'self') needs no exception.
import { TIME_ZONE, t } from "./common.js";

let loading = null;

/** uPlot's constructor, imported once on first use. */
export function uplot() {
  loading ??= import("/static/vendor/uPlot.esm.js").then((module) => module.default);
  return loading;
}

const seconds = (iso) => Date.parse(iso) / 1000;
const value = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** The series' x (unix seconds) and one column per figure, in uPlot's column layout. */
export function columns(points, figures) {
  const usable = (points || []).filter((p) => p && typeof p.at === "string" && Number.isFinite(seconds(p.at)));
  return [usable.map((p) => seconds(p.at)), ...figures.map((name) => usable.map((p) => value(p[name])))];
}

/** How many points measured any of the figures (a series with none draws nothing). */
export function measured(points, figures) {
  return (points || []).filter((p) => p && p.samples > 0 && figures.some((f) => value(p[f]) !== null)).length;
}

// Colours from app.css's palette: the hub's RTT in the focus blue, loss in the danger red.
export const COLOURS = { rtt_ms: "#1f6feb", loss_pct: "#b42318", jitter_ms: "#8250df", in: "#2ea043", out: "#9f1c1c", fps: "#1b1f24" };

// Axis ticks and the legend in Vietnam's time, whatever the operator's machine is set to.
let tzDate = null; // uPlot.tzDate, once uPlot is loaded
const inVietnam = (ts) => (tzDate ? tzDate(new Date(ts * 1000), TIME_ZONE) : new Date(ts * 1000));

/**
 * The 15-minute sparkline of a board row: RTT (left scale) and loss (right scale), no axes,
 * legend or cursor. Returns {update(points)}; the chart is made on the first update.
 */
export async function sparkline(target, { width = 140, height = 32 } = {}) {
  const UPlot = await uplot();
  tzDate = UPlot.tzDate;
  const figures = ["rtt_ms", "loss_pct"];
  let chart = null;
  return {
    update(points) {
      const data = columns(points, figures);
      target.dataset.points = String(measured(points, figures));
      if (!chart) {
        chart = new UPlot(
          {
            width,
            height,
            pxAlign: false,
            legend: { show: false },
            cursor: { show: false },
            select: { show: false },
            tzDate: inVietnam,
            scales: { x: { time: true }, rtt: { range: (u, lo, hi) => [0, Math.max(hi || 0, 100)] }, loss: { range: (u, lo, hi) => [0, Math.max(hi || 0, 10)] } },
            axes: [{ show: false }, { show: false, scale: "rtt" }, { show: false, scale: "loss" }],
            series: [
              {},
              { scale: "rtt", stroke: COLOURS.rtt_ms, width: 1.5, points: { show: false } },
              { scale: "loss", stroke: COLOURS.loss_pct, width: 1, points: { show: false } },
            ],
          },
          data,
          target,
        );
      } else {
        chart.setData(data);
      }
    },
  };
}

/**
 * One 24-hour graph: `series` is [{figure, label, colour}], all on one scale with the unit on
 * its axis. Returns {update(points), resize(width)}.
 */
export async function graph(target, { unit, series, height = 180 }) {
  const UPlot = await uplot();
  tzDate = UPlot.tzDate;
  const figures = series.map((s) => s.figure);
  let chart = null;
  const width = () => Math.max(280, target.clientWidth || 600);
  return {
    update(points) {
      const data = columns(points, figures);
      target.dataset.points = String(measured(points, figures));
      if (!chart) {
        chart = new UPlot(
          {
            width: width(),
            height,
            tzDate: inVietnam,
            scales: { x: { time: true }, y: { range: (u, lo, hi) => [0, Math.max(hi || 0, 1)] } },
            axes: [{}, { scale: "y", label: unit, size: 60 }],
            series: [
              { label: t("col.at") },
              ...series.map((s) => ({
                label: s.label,
                scale: "y",
                stroke: s.colour,
                width: 1.5,
                value: (u, v) => (v === null || v === undefined ? "—" : `${Math.round(v * 10) / 10} ${unit}`),
              })),
            ],
          },
          data,
          target,
        );
      } else {
        chart.setData(data);
      }
    },
    resize() {
      if (chart) chart.setSize({ width: width(), height });
    },
  };
}
