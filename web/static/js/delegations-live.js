// The open crowd delegations of the signed-in user's office on its start page: read from
// GET /api/v1/delegations?status=open,handling, then kept up to date over Socket.IO without a
// reload. The socket sends `watch_delegations` {} (ack {ok, office_id}); the hub then pushes
// `delegation` {id, home_office_name, receiving_office_name, people_count, status, ...} (as the
// API lists it, no personal data) whenever a delegation from the office's area, or received
// there, is registered or changes. A new one is announced at the top of the panel.
import { api, fmtDate, h, label, me, showError, t } from "./common.js";

const panel = document.getElementById("dl-live");
const list = document.getElementById("dl-live-list");
const none = document.getElementById("dl-live-none");
const news = document.getElementById("dl-live-news");
const stateBox = document.getElementById("dl-live-state");
const shown = new Map(); // delegation id -> {view, item}

function setState(kind) {
  panel.dataset.state = kind;
  stateBox.textContent = kind === "connected" ? `· ${t("dl.live_on")}` : kind === "lost" ? `· ${t("dl.live_off")}` : "";
}

function render(view) {
  const fromHere = me && view.home_office_id === me.office_id;
  return h(
    "li",
    {
      class: `delegation delegation--${view.status}`,
      dataset: {
        delegationId: String(view.id),
        status: view.status,
        homeOfficeId: String(view.home_office_id),
        skippedLevel: String(Boolean(view.skipped_level)),
      },
    },
    h("a", { href: `/staff/delegations/${view.id}` }, t("dl.link", { date: fmtDate(view.received_on), home: view.home_office_name })),
    " ",
    h("span", { class: `badge badge--dl-${view.status}` }, label("dlstatus", view.status)),
    view.skipped_level ? h("span", { class: "badge badge--crowd" }, t("dl.skipped")) : "",
    view.visit_number > 1 ? h("span", { class: "badge" }, t("dl.visit", { visit: view.visit_number })) : "",
    h(
      "span",
      { class: "muted delegation__where" },
      ` ${t("dl.people_count", { n: view.people_count })} · ${t("dl.receiving")}: ${view.receiving_office_name}`,
      fromHere ? ` · ${t("dl.from_here")}` : "",
    ),
    view.hearing_id ? h("a", { class: "btn btn--small", href: `/staff/hearings/${view.hearing_id}` }, t("dl.hearings")) : "",
  );
}

/** One delegation's view (from the API or a `delegation` event): shown while open or being
 * handled, taken off once closed. */
export function apply(view, { announce = false } = {}) {
  if (!view || typeof view.id !== "number") return;
  const known = shown.get(view.id);
  if (view.status === "closed") {
    if (known) known.item.remove();
    shown.delete(view.id);
  } else {
    const item = render(view);
    if (known) known.item.replaceWith(item);
    else list.prepend(item);
    shown.set(view.id, { view, item });
    if (announce && !known) {
      news.textContent = t("dl.live_new", {
        people: view.people_count,
        home: view.home_office_name,
        receiving: view.receiving_office_name,
      });
      news.dataset.delegationId = String(view.id);
      news.hidden = false;
    }
  }
  none.hidden = shown.size > 0;
}

async function load() {
  try {
    const open = await api("/api/v1/delegations", { query: { status: "open,handling", limit: 50 } });
    for (const view of [...open.items].reverse()) apply(view);
  } catch (error) {
    const box = document.getElementById("dl-error");
    if (box) showError(box, error);
  } finally {
    none.hidden = shown.size > 0;
    panel.setAttribute("aria-busy", "false");
  }
}

async function connect() {
  setState("connecting");
  const { io } = await import("/static/vendor/socket.io.esm.min.js");
  // watcher: this page is no bridge point; the operators' board must not show its office
  // online because a staff member has the start page open.
  const socket = io({ path: "/socket.io/", withCredentials: true, auth: { watcher: true } });
  let connections = 0;
  socket.on("connect", () => {
    // After a reconnect the list is read again: a delegation may have come meanwhile.
    if (connections++ > 0) load();
    socket.emit("watch_delegations", {}, (ack) => setState(ack && ack.ok ? "connected" : "lost"));
  });
  socket.on("disconnect", () => setState("lost"));
  socket.on("connect_error", () => setState("lost"));
  socket.on("delegation", (view) => apply(view, { announce: true }));
  socket.on("error", () => {});
}

window.tcdDelegations = { apply, shown };
load().then(() => connect().catch(() => setState("lost")));
