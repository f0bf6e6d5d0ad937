// The delegations page's board: every delegation in scope by the province it came from (open,
// being handled, closed, how many skipped a level), from GET /api/v1/delegations/board. The
// open ones are the live panel's (delegations-live.js).
import { api, h, showError, t } from "./common.js";

async function board() {
  const panel = document.getElementById("dl-board-panel");
  try {
    const data = await api("/api/v1/delegations/board");
    const cells = (row) => [
      h("td", { class: "num", dataset: { col: "open" } }, String(row.open)),
      h("td", { class: "num", dataset: { col: "handling" } }, String(row.handling)),
      h("td", { class: "num", dataset: { col: "closed" } }, String(row.closed)),
      h("td", { class: "num", dataset: { col: "skipped_level" } }, String(row.skipped_level)),
      h("td", { class: "num", dataset: { col: "total" } }, String(row.total)),
    ];
    document.querySelector("#dl-board tbody").replaceChildren(
      ...data.provinces.map((row) =>
        h("tr", { dataset: { provinceId: String(row.province_office_id) } }, h("th", { scope: "row" }, row.province_name), ...cells(row)),
      ),
    );
    document.querySelector("#dl-board tfoot").replaceChildren(
      h("tr", { dataset: { provinceId: "all" } }, h("th", { scope: "row" }, t("dl.totals")), ...cells(data.totals)),
    );
    document.getElementById("dl-board-empty").hidden = data.provinces.length > 0;
  } catch (error) {
    showError(document.getElementById("dl-error"), error);
  } finally {
    panel.setAttribute("aria-busy", "false");
  }
}

board();
