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
//                     (good / poor / bad).
// Until a site's first status arrives its row says "Chưa có dữ liệu" (no data yet).
//
// Each site's last self-test (GET /api/v1/self-tests?latest=true) shows in its row: the score
// and when, the reasons on hover; read at load and every SELF_TEST_EVERY_MS after.
import { api, fmtDateTime, fmtTime, h, label, page, showError, t } from "./common.js";

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
    renderGrade(cells, null);
    renderFigures(cells, null);
    return;
  }
  cells.row.dataset.online = status.online ? "true" : "false";
  cells.status.replaceChildren(
    h("span", { class: `conn conn--${status.online ? "online" : "offline"}` }, t(status.online ? "op.online" : "op.offline")),
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

/** Apply one site_status message {office_id, online, hearing_id}. */
export function apply(message) {
  if (!message || typeof message.office_id !== "number") return;
  const since = message.since ? new Date(message.since) : null;
  state.set(message.office_id, {
    online: Boolean(message.online),
    hearing_id: typeof message.hearing_id === "number" ? message.hearing_id : null,
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

async function connect() {
  if (!page.signaling) {
    setLive("off");
    return;
  }
  setLive("connecting");
  const { io } = await import("/static/vendor/socket.io.esm.min.js");
  const socket = io({ path: "/socket.io/", withCredentials: true });
  socket.on("connect", () => {
    setLive("connected");
    socket.emit("monitor_subscribe", {}, (ack) => {
      if (ack && ack.ok && Array.isArray(ack.sites)) ack.sites.forEach(apply);
    });
  });
  socket.on("disconnect", () => setLive("lost"));
  socket.on("connect_error", () => setLive("lost"));
  socket.on("site_status", apply);
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
          selfTest: h("td", { class: "self-test-cell nowrap" }),
          at: h("td", { class: "nowrap" }),
        };
        cells.row = h(
          "tr",
          { dataset: { officeId: String(office.id), code: office.code } },
          h(
            "th",
            { scope: "row", style: { "--depth": office.depth || 0 }, class: "indent" },
            office.name,
            " ",
            h("span", { class: "muted" }, office.code),
          ),
          h("td", { class: "nowrap" }, label("level", office.level)),
          cells.status,
          cells.hearing,
          cells.grade,
          cells.figures,
          cells.selfTest,
          cells.at,
        );
        rows.set(office.id, cells);
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
  // A hook for tests and for the monitoring work to come: feed statuses by hand.
  window.tcdOperator = { apply, state, selfTests, refreshSelfTests };
  try {
    await connect();
  } catch {
    setLive("lost");
  }
}

load();
