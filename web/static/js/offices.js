// The office tree as the staff pages pick from it: one office's subtree (the scope a user
// sees, or the sites a host may invite), a diacritic-free search key, and the indented
// <select> of the signed-in user's offices. Offices come from GET /api/v1/offices.
import { api, h, me } from "./common.js";

/** Lowercase without Vietnamese diacritics, so "hung yen" finds "Hưng Yên". */
export const fold = (text) =>
  text.replace(/đ/g, "d").replace(/Đ/g, "D").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();

/** The search key of an office: its name and code, folded. */
export const searchKey = (office) => fold(`${office.name} ${office.code}`);

/** The offices in `rootId`'s subtree (the root included), in the order given. */
export function subtree(offices, rootId) {
  const children = new Map();
  for (const office of offices) {
    if (!children.has(office.parent_id)) children.set(office.parent_id, []);
    children.get(office.parent_id).push(office.id);
  }
  const ids = new Set([rootId]);
  const queue = [rootId];
  while (queue.length) {
    for (const child of children.get(queue.shift()) || []) {
      ids.add(child);
      queue.push(child);
    }
  }
  return offices.filter((o) => ids.has(o.id));
}

/** An <option> for an office, indented by its depth along the tree. */
export function officeOption(office) {
  return h("option", { value: office.id }, `${"— ".repeat(office.depth || 0)}${office.name}`);
}

/** Fill a <select> with the offices in the signed-in user's scope (own office and below);
 * `offices` when the page already has them, else fetched. Resolves to every office. */
export async function fillScopedOffices(select, offices = null) {
  const all = offices || (await api("/api/v1/offices")).items;
  select.append(...subtree(all, me.office_id).map(officeOption));
  return all;
}
