// The operator board: one row per bridge point (GET /api/v1/offices?bridge_only=true), the live
// hearings in scope (GET /api/v1/hearings?status=live), and each site's connection as the hub
// reports it over Socket.IO.
//
// Expected from the signaling server (same origin, default path /socket.io/, the session cookie
// authenticates the operator):
//   client -> server  monitor_subscribe {}  ack {ok: true, sites: [site_status, ...]} (a snapshot;
//                     an unknown-event ack is tolerated, the board then waits for pushes)
//   server -> client  site_status {office_id, online, hearing_id, state?, since?, ...}
//                     (hearing_id null when the site is in no hearing; state "waiting" while it
//                     waits to be admitted; since: ISO time of the change), on every change;
//                     while in a hearing every 3 s with the hub's figures (rtt_ms, loss_pct,
//                     bitrate_kbps), the site's own (client: sent_width/height/fps,
//                     candidate_type, quality_limitation, ...) and, when graded, grade
//                     (good / poor / bad), and presence (offline / online / in_hearing /
//                     degraded: in a hearing on a link graded poor or bad).
//   server -> client  alert {id, kind, office_id, office_name, hearing_id, opened_at, closed_at,
//                     open, detail, acknowledged_*} (signaling.protocol.AlertOut): a
//                     connectivity alert opened or closed, as GET /api/v1/alerts lists it.
// Until a site's first status arrives its row says "Chưa có dữ liệu" (no data yet).
//
// The alerts panel starts from GET /api/v1/alerts?open=true and follows the `alert` events: a new
// one appears at the top, a closed one stays, marked closed; "Xác nhận" acknowledges one
// (POST /api/v1/alerts/{id}/acknowledge) and then shows who did and when. Each row's 15-minute
// sparkline (RTT and loss) comes from GET /api/v1/offices/{id}/link?graph=false, for the rows
// on screen only, again every SPARK_REFRESH_MS.
// Each site's last self-test (GET /api/v1/self-tests?latest=true) shows in its row: the score
// and when, the reasons on hover; read at load and every SELF_TEST_EVERY_MS after.
import { api, can, fmtDateTime, fmtTime, h, label, page, showError, t } from "./common.js";
import { sparkline } from "./link-charts.js";

const SELF_TEST_EVERY_MS = 30_000;
const selfTests = new Map(); // office id -> its last self-test result

const rows = new Map(); // office id -> {row, status, hearing, grade, figures, at cells}
const state = new Map(); // office id -> {online, hearing_id, waiting, at, grade, figures}
const hearings = new Map(); // hearing id -> hearing
const expected = new Map(); // office id -> live hearing it should be in
const liveBox = document.getElementById("op-live");

function setLive(kind) {
  liveBox.dataset.state = kind;
  liveBox.setAttribute("aria-busy", kind === "connecting" ? "true" : "false");
  liveBox.textContent = t(
    { connected: "op.live_connected", connecting: "op.live_connecting", lost: "op.live_lost", off: "op.live_off" }[kind],
  );
}

function hearingLink(id) {
  const hearing = hearings.get(id);
  return h("a", { href: `/staff/hearings/${id}` }, hearing ? hearing.title : t("op.hearing_id", { id }));
}

function renderRow(officeId) {
  const cells = rows.get(officeId);
  if (!cells) return;
  const status = state.get(officeId);
  if (!status) {
    cells.status.replaceChildren(h("span", { class: "conn conn--unknown" }, t("op.no_data")));
    const hearing = expected.get(officeId);
    cells.hearing.replaceChildren(
      hearing ? h("span", { class: "muted" }, t("op.expected", { title: hearing.title })) : t("common.none"),
    );
    cells.at.textContent = t("common.none");
    cells.row.dataset.online = "unknown";
    cells.row.dataset.presence = "";
    renderGrade(cells, null);
    renderFigures(cells, null);
    return;
  }
  cells.row.dataset.online = status.online ? "true" : "false";
  cells.row.dataset.presence = status.presence;
  // in_hearing and degraded are online too: the dot stays green for them, amber when degraded.
  const dot = status.online ? "online" : "offline";
  cells.status.replaceChildren(
    h("span", { class: `conn conn--${dot} conn--${status.presence}` }, t(`presence.${status.presence}`)),
  );
  const planned = expected.get(officeId);
  cells.hearing.replaceChildren(
    status.hearing_id
      ? hearingLink(status.hearing_id)
      : planned
        ? h("span", { class: "muted" }, t("op.expected", { title: planned.title }))
        : t("common.none"),
    status.hearing_id && status.waiting ? h("span", { class: "badge badge--waiting" }, t("op.waiting")) : "",
  );
  cells.at.textContent = fmtTime(status.at);
  renderGrade(cells, status.hearing_id ? status.grade : null);
  renderFigures(cells, status.hearing_id ? status.figures : null);
}

const GRADES = ["good", "poor", "bad"];

function renderGrade(cells, grade) {
  const known = GRADES.includes(grade);
  cells.row.dataset.grade = known ? grade : "";
  cells.grade.replaceChildren(
    known ? h("span", { class: `grade grade--${grade}` }, t(`grade.${grade}`)) : t("common.none"),
  );
}

const figure = (value) => typeof value === "number" && Number.isFinite(value);
const round = (value) => (Math.abs(value) >= 100 ? Math.round(value) : Math.round(value * 10) / 10);

/** The link's figures: the hub's (RTT, loss, bitrate) and the site's own (what it sends). */
function renderFigures(cells, figures) {
  const items = [];
  const client = figures?.client ?? null;
  if (figures) {
    if (figure(figures.rtt_ms)) items.push(t("op.rtt", { ms: round(figures.rtt_ms) }));
    if (figure(figures.loss_pct)) items.push(t("op.loss", { pct: round(figures.loss_pct) }));
    if (figure(figures.bitrate_kbps)) items.push(t("op.bitrate", { kbps: Math.round(figures.bitrate_kbps) }));
  }
  if (client) {
    if (figure(client.sent_width) && figure(client.sent_height)) {
      items.push(
        t("op.video", {
          width: client.sent_width,
          height: client.sent_height,
          fps: figure(client.sent_fps) ? round(client.sent_fps) : "—",
        }),
      );
    }
    if (client.candidate_type) items.push(label("cand", client.candidate_type));
    if (client.quality_limitation && client.quality_limitation !== "none") {
      items.push(t("op.limited", { reason: label("limit", client.quality_limitation) }));
    }
  }
  const data = cells.figures.dataset;
  data.resolution = client && figure(client.sent_width) ? `${client.sent_width}x${client.sent_height}` : "";
  data.candidateType = client?.candidate_type ?? "";
  data.limitation = client?.quality_limitation ?? "";
  cells.figures.replaceChildren(
    ...(items.length
      ? items.map((text) => h("span", { class: "figure" }, text))
      : [h("span", { class: "muted" }, figures ? t("op.no_figures") : t("common.none"))]),
  );
}

/** A site's last self-test: its score and time; the reasons in the cell's title. */
function renderSelfTest(officeId) {
  const cells = rows.get(officeId);
  if (!cells) return;
  const result = selfTests.get(officeId);
  cells.selfTest.dataset.score = result ? result.score : "";
  cells.selfTest.title = result ? result.reasons.map((r) => label("selftest.reason", r)).join("; ") : "";
  cells.selfTest.replaceChildren(
    ...(result
      ? [
          h("span", { class: `st-score st-score--${result.score}` }, label("selftest.score", result.score)),
          " ",
          h("span", { class: "muted" }, t("op.self_test_at", { time: fmtDateTime(result.at) })),
        ]
      : [t("common.none")]),
  );
}

/** Read every site's last self-test again (the board's sites are all in the operator's scope). */
export async function refreshSelfTests() {
  const latest = await api("/api/v1/self-tests", { query: { latest: "true", limit: 200 } });
  selfTests.clear();
  for (const result of latest.items) selfTests.set(result.office_id, result);
  for (const id of rows.keys()) renderSelfTest(id);
}

function renderSummary() {
  let online = 0;
  let offline = 0;
  for (const id of rows.keys()) {
    const status = state.get(id);
    if (!status) continue;
    if (status.online) online += 1;
    else offline += 1;
  }
  const total = rows.size;
  document.getElementById("op-summary").textContent = `(${t("op.summary", {
    online,
    offline,
    unknown: total - online - offline,
    n: total,
  })})`;
}

const PRESENCES = ["offline", "online", "in_hearing", "degraded"];

/** The hub's presence, or the same rule (signaling.presence.presence_of) from the rest. */
function presenceOf(message, hearingId) {
  if (PRESENCES.includes(message.presence)) return message.presence;
  if (!message.online) return "offline";
  if (hearingId === null) return "online";
  return message.grade === "poor" || message.grade === "bad" ? "degraded" : "in_hearing";
}

/** Apply one site_status message {office_id, online, hearing_id}. */
export function apply(message) {
  if (!message || typeof message.office_id !== "number") return;
  const since = message.since ? new Date(message.since) : null;
  const hearingId = typeof message.hearing_id === "number" ? message.hearing_id : null;
  state.set(message.office_id, {
    online: Boolean(message.online),
    presence: presenceOf(message, hearingId),
    hearing_id: hearingId,
    waiting: message.state === "waiting",
    at: since && !Number.isNaN(since.getTime()) ? since : new Date(),
    grade: typeof message.grade === "string" ? message.grade : null,
    figures: {
      rtt_ms: message.rtt_ms,
      loss_pct: message.loss_pct,
      bitrate_kbps: message.bitrate_kbps,
      client: message.client && typeof message.client === "object" ? message.client : null,
    },
  });
  renderRow(message.office_id);
  renderSummary();
}

// --- alerts ---------------------------------------------------------------------------------

const alerts = new Map(); // alert id -> its latest view
const alertItems = new Map(); // alert id -> its <li>
const alertList = document.getElementById("op-alerts");

/** One alert view (from the API or an `alert` event): shown, or its item brought up to date.
 * A view never undoes what a newer one said: once closed or acknowledged, it stays so. */
export function applyAlert(view) {
  if (!view || typeof view.id !== "number") return;
  const known = alerts.get(view.id);
  const merged = { ...known, ...view };
  if (known && !known.open) Object.assign(merged, { open: false, closed_at: known.closed_at });
  if (known && known.acknowledged_at && !view.acknowledged_at) {
    for (const key of ["acknowledged_by", "acknowledged_by_name", "acknowledged_at"]) merged[key] = known[key];
  }
  alerts.set(view.id, merged);
  const item = renderAlert(merged);
  const old = alertItems.get(view.id);
  if (old) old.replaceWith(item);
  else alertList.prepend(item); // newest first, as the API lists them
  alertItems.set(view.id, item);
  renderAlertSummary();
}

function alertWhere(alert) {
  const office = alert.office_name || t("op.office_id", { id: alert.office_id });
  return alert.hearing_id
    ? [h("a", { href: `/operator/sites/${alert.office_id}` }, office), " · ", hearingLink(alert.hearing_id)]
    : [h("a", { href: `/operator/sites/${alert.office_id}` }, office)];
}

function renderAlert(alert) {
  const acknowledged = Boolean(alert.acknowledged_at);
  const item = h(
    "li",
    {
      class: `alert alert--${alert.open ? "open" : "closed"}`,
      dataset: {
        alertId: String(alert.id),
        kind: alert.kind,
        officeId: String(alert.office_id),
        open: String(Boolean(alert.open)),
        acknowledged: String(acknowledged),
      },
    },
    h("span", { class: "alert__kind" }, label("alert", alert.kind)),
    " ",
    ...alertWhere(alert),
    h(
      "span",
      { class: "alert__when muted" },
      alert.open
        ? t("op.alert_opened", { at: fmtTime(alert.opened_at) })
        : t("op.alert_closed", { opened: fmtTime(alert.opened_at), closed: fmtTime(alert.closed_at) }),
    ),
  );
  if (acknowledged) {
    item.append(
      h(
        "span",
        { class: "alert__ack" },
        t("op.alert_acked", { name: alert.acknowledged_by_name || "—", at: fmtTime(alert.acknowledged_at) }),
      ),
    );
  } else if (can("monitor")) {
    const button = h("button", { type: "button", class: "btn btn--small alert__button" }, t("op.acknowledge"));
    button.addEventListener("click", () => acknowledge(alert.id, button));
    item.append(button);
  }
  return item;
}

async function acknowledge(id, button) {
  button.disabled = true;
  try {
    applyAlert(await api(`/api/v1/alerts/${id}/acknowledge`, { method: "POST" }));
  } catch (error) {
    button.disabled = false;
    showError(document.getElementById("op-error"), error);
  }
}

function renderAlertSummary() {
  const open = [...alerts.values()].filter((a) => a.open).length;
  document.getElementById("op-alerts-summary").textContent = `(${t("op.alerts_open", { n: open })})`;
  document.getElementById("op-alerts-none").hidden = alerts.size > 0;
}

/** The open alerts at load; after a reconnect of the socket also the latest closed ones, so
 * that an alert shown open that closed while the board was not listening is marked closed. */
async function loadAlerts({ again = false } = {}) {
  try {
    const query = again ? { limit: 100 } : { open: "true", limit: 100 };
    const listed = await api("/api/v1/alerts", { query });
    // Oldest first, each prepended: the newest ends on top.
    for (const view of [...listed.items].reverse()) {
      if (view.open || alerts.has(view.id)) applyAlert(view);
    }
  } catch (error) {
    showError(document.getElementById("op-error"), error);
  } finally {
    renderAlertSummary();
    document.getElementById("op-alerts-panel").setAttribute("aria-busy", "false");
  }
}

// --- sparklines --------------------------------------------------------------------------------

const SPARK_REFRESH_MS = 20_000;
const SPARK_CONCURRENCY = 4;
const shown = new Set(); // office ids whose rows are on screen
const sparks = new Map(); // office id -> sparkline()
const observer =
  "IntersectionObserver" in window
    ? new IntersectionObserver((entries) => {
        const fresh = [];
        for (const entry of entries) {
          const id = Number(entry.target.dataset.officeId);
          if (entry.isIntersecting) {
            if (!shown.has(id)) fresh.push(id);
            shown.add(id);
          } else shown.delete(id);
        }
        if (fresh.length) refreshSparks(fresh);
      })
    : null;

function watchRow(officeId, cells) {
  if (observer) observer.observe(cells.row);
  else shown.add(officeId);
}

async function drawSpark(officeId) {
  const cells = rows.get(officeId);
  if (!cells) return;
  const report = await api(`/api/v1/offices/${officeId}/link`, { query: { graph: "false" } });
  let spark = sparks.get(officeId);
  if (!spark) {
    const box = h("a", {
      href: `/operator/sites/${officeId}`,
      class: "spark",
      "aria-label": t("op.spark_label", { office: report.office_name }),
    });
    cells.spark.replaceChildren(box);
    spark = await sparkline(box);
    sparks.set(officeId, spark);
  }
  spark.update(report.sparkline);
  cells.spark.dataset.points = cells.spark.firstChild.dataset.points;
  cells.spark.dataset.at = new Date().toISOString();
}

let refreshing = false;

/** Redraw the sparklines of `ids` (default: every row on screen), a few requests at a time. */
async function refreshSparks(ids) {
  if (!Array.isArray(ids)) {
    if (refreshing) return;
    ids = [...shown];
  }
  const queue = ids.filter((id) => rows.has(id));
  refreshing = true;
  try {
    await Promise.all(
      Array.from({ length: Math.min(SPARK_CONCURRENCY, queue.length) }, async () => {
        while (queue.length) {
          const id = queue.shift();
          try {
            await drawSpark(id);
          } catch {
            // One site's sparkline missing says nothing about the others; the next pass retries.
          }
        }
      }),
    );
  } finally {
    refreshing = false;
  }
}

async function connect() {
  if (!page.signaling) {
    setLive("off");
    return;
  }
  setLive("connecting");
  const { io } = await import("/static/vendor/socket.io.esm.min.js");
  const socket = io({ path: "/socket.io/", withCredentials: true });
  let connections = 0;
  socket.on("connect", () => {
    setLive("connected");
    if (connections++ > 0) loadAlerts({ again: true });
    socket.emit("monitor_subscribe", {}, (ack) => {
      if (ack && ack.ok && Array.isArray(ack.sites)) ack.sites.forEach(apply);
    });
  });
  socket.on("disconnect", () => setLive("lost"));
  socket.on("connect_error", () => setLive("lost"));
  socket.on("site_status", apply);
  socket.on("alert", applyAlert);
  // The protocol reports refused events as `error` events; the board has nothing to add.
  socket.on("error", () => {});
}

async function load() {
  const board = document.getElementById("op-board");
  try {
    const [offices, live] = await Promise.all([
      api("/api/v1/offices", { query: { bridge_only: "true" } }),
      api("/api/v1/hearings", { query: { status: "live", limit: 200 } }),
    ]);
    for (const hearing of live.items) {
      hearings.set(hearing.id, hearing);
      for (const officeId of [hearing.host_office_id, ...hearing.site_office_ids]) expected.set(officeId, hearing);
    }
    const body = document.querySelector("#op-table tbody");
    body.replaceChildren(
      ...offices.items.map((office) => {
        const cells = {
          status: h("td", {}),
          hearing: h("td", {}),
          grade: h("td", { class: "grade-cell nowrap" }),
          figures: h("td", { class: "figures" }),
          spark: h("td", { class: "spark-cell" }),
          selfTest: h("td", { class: "self-test-cell nowrap" }),
          at: h("td", { class: "nowrap" }),
        };
        cells.row = h(
          "tr",
          { dataset: { officeId: String(office.id), code: office.code } },
          h(
            "th",
            { scope: "row", style: { "--depth": office.depth || 0 }, class: "indent" },
            h("a", { href: `/operator/sites/${office.id}`, class: "site-link" }, office.name),
            " ",
            h("span", { class: "muted" }, office.code),
          ),
          h("td", { class: "nowrap" }, label("level", office.level)),
          cells.status,
          cells.hearing,
          cells.grade,
          cells.figures,
          cells.spark,
          cells.selfTest,
          cells.at,
        );
        rows.set(office.id, cells);
        watchRow(office.id, cells);
        return cells.row;
      }),
    );
    for (const id of rows.keys()) renderRow(id);
    renderSummary();
    await refreshSelfTests().catch((error) => showError(document.getElementById("op-error"), error));
    setInterval(() => refreshSelfTests().catch(() => {}), SELF_TEST_EVERY_MS);
    const list = document.getElementById("op-hearings");
    list.replaceChildren(
      ...(live.items.length
        ? live.items.map((hearing) =>
            h(
              "li",
              { dataset: { hearingId: String(hearing.id) } },
              h("a", { href: `/staff/hearings/${hearing.id}` }, hearing.title),
              " ",
              h(
                "span",
                { class: "muted" },
                `${fmtTime(hearing.starts_at)}–${fmtTime(hearing.ends_at)} · ${hearing.host_office_name} · ${t("ld.sites", { n: hearing.site_office_ids.length + 1 })}`,
              ),
            ),
          )
        : [h("li", { class: "muted" }, t("op.no_live"))]),
    );
  } catch (error) {
    showError(document.getElementById("op-error"), error);
  } finally {
    board.setAttribute("aria-busy", "false");
  }
  await loadAlerts();
  setInterval(refreshSparks, SPARK_REFRESH_MS);
  // A hook for tests and for the monitoring work to come: feed statuses by hand.
  window.tcdOperator = { apply, applyAlert, state, alerts, selfTests, refreshSelfTests };
  try {
    await connect();
  } catch {
    setLive("lost");
  }
}

load();
