// Shared by the pages' scripts: the message catalogue, the page's data, the JSON API with its
// CSRF header, Vietnam-time dates (dd/mm/yyyy, Asia/Ho_Chi_Minh) and a small DOM builder.

const readJson = (id) => {
  const node = document.getElementById(id);
  try {
    return node ? JSON.parse(node.textContent) : {};
  } catch {
    return {};
  }
};

const messages = readJson("tcd-i18n");
export const page = readJson("tcd-page");
export const lang = page.lang || "vi";
// A message that counts something holds its plural forms by CLDR category ("one", "other"),
// chosen by its {n} parameter, as hub/i18n.py chooses them on the server.
const plurals = new Intl.PluralRules(lang);
export const me = page.me || null;
export const TIME_ZONE = "Asia/Ho_Chi_Minh";

/** The message `key` with {params} filled in; the key itself when the catalogue lacks it. */
export function t(key, params = {}) {
  let text = messages[key] ?? key;
  if (typeof text === "object") {
    const n = Number(params.n);
    text = (Number.isFinite(n) && text[plurals.select(n)]) || text.other;
  }
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** An enum value's label, e.g. label("pstatus", "accepted"). */
export function label(prefix, value) {
  if (value === null || value === undefined || value === "") return t("common.none");
  const key = `${prefix}.${value}`;
  return key in messages ? messages[key] : String(value);
}

/** Whether the signed-in role may do an action (names as in hub/domain/users.py). */
export function can(action) {
  return Boolean(me && me.can && me.can[action]);
}

// --- the API --------------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(status, message, fields = {}) {
    super(message);
    this.status = status;
    this.fields = fields;
  }
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)tcd_csrf=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : page.csrf || "";
}

/** Call the JSON API; resolves to the decoded body, rejects with ApiError naming the problem. */
export async function api(path, { method = "GET", body, query } = {}) {
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
    }
    const text = params.toString();
    if (text) url += `?${text}`;
  }
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, t("common.network_error"));
  }
  if (response.status === 401) {
    const next = encodeURIComponent(window.location.pathname + window.location.search);
    window.location.assign(`/login?next=${next}`);
    throw new ApiError(401, t("login.title"));
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = data && data.error ? data.error : {};
    throw new ApiError(response.status, error.message || `HTTP ${response.status}`, error.fields || {});
  }
  return data;
}

/** Every item of a paged list endpoint (at most `max`). */
export async function apiAll(path, query = {}, max = 1000) {
  const items = [];
  const limit = 200;
  for (let offset = 0; offset < max; offset += limit) {
    const data = await api(path, { query: { ...query, limit, offset } });
    items.push(...data.items);
    if (items.length >= data.total || data.items.length < limit) break;
  }
  return items;
}

// --- dates in Vietnam's time ---------------------------------------------------------------

const partsOf = (value) => {
  const date = value instanceof Date ? value : new Date(value);
  const parts = {};
  for (const part of new Intl.DateTimeFormat("en-GB", {
    timeZone: TIME_ZONE,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(date)) {
    parts[part.type] = part.value;
  }
  return parts;
};

/** dd/mm/yyyy of an instant (ISO string or Date) or of a plain "yyyy-mm-dd" date. */
export function fmtDate(value) {
  if (!value) return t("common.none");
  if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const [y, m, d] = value.split("-");
    return `${d}/${m}/${y}`;
  }
  const p = partsOf(value);
  return `${p.day}/${p.month}/${p.year}`;
}

/** hh:mm (24-hour) of an instant in Vietnam. */
export function fmtTime(value) {
  if (!value) return t("common.none");
  const p = partsOf(value);
  return `${p.hour}:${p.minute}`;
}

/** hh:mm dd/mm/yyyy of an instant in Vietnam. */
export function fmtDateTime(value) {
  if (!value) return t("common.none");
  return `${fmtTime(value)} ${fmtDate(value)}`;
}

/** "dd/mm/yyyy" typed by a person -> "yyyy-mm-dd", or null when it is not a real date. */
export function parseVnDate(text) {
  const match = /^\s*(\d{1,2})\/(\d{1,2})\/(\d{4})\s*$/.exec(text || "");
  if (!match) return null;
  const [d, m, y] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const probe = new Date(Date.UTC(y, m - 1, d));
  if (probe.getUTCFullYear() !== y || probe.getUTCMonth() !== m - 1 || probe.getUTCDate() !== d) {
    return null;
  }
  return `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

/** "hh:mm" typed by a person -> "hh:mm" padded, or null. */
export function parseTime(text) {
  const match = /^\s*(\d{1,2})[:h.](\d{2})\s*$/.exec(text || "");
  if (!match) return null;
  const [h, m] = [Number(match[1]), Number(match[2])];
  if (h > 23 || m > 59) return null;
  return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`;
}

/** ISO 8601 with Vietnam's offset for a local date and time: "2026-12-15T08:00:00+07:00". */
export function vnIso(isoDate, hhmm = "00:00") {
  return `${isoDate}T${hhmm}:00+07:00`;
}

// --- DOM ---------------------------------------------------------------------------------

/** Build an element: h("a", {href: "/x", class: "btn"}, "text", child, ...). Text is never HTML;
 * `style` is an object of properties, e.g. {"--depth": 2}. */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    // Through the CSSOM: the Content-Security-Policy refuses style attributes (style-src 'self').
    else if (name === "style") {
      for (const [property, setting] of Object.entries(value)) node.style.setProperty(property, String(setting));
    }
    else if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Show an API error in a box: the message, then each field's problem. */
export function showError(box, error, fieldLabels = {}) {
  box.replaceChildren();
  const fields = error instanceof ApiError ? Object.entries(error.fields || {}) : [];
  if (fields.length) {
    box.append(h("span", {}, t("common.invalid")));
    box.append(
      h("ul", {}, fields.map(([name, problem]) => h("li", {}, `${fieldLabels[name] || name}: ${problem}`))),
    );
  } else {
    box.append(error && error.message ? error.message : String(error));
  }
  box.hidden = false;
}

/** A status badge for a hearing or a petition. */
export function badge(prefix, value) {
  return h("span", { class: `badge badge--${value}` }, label(prefix, value));
}
