// A chair picker: the configured chairs (GET /api/chairs) room by room, in each room the free
// ones first in the room's order, then the taken ones, shown as taken and not choosable.

import { ApiError, api } from "./api.js";
import { showFieldError } from "./form-errors.js";

function chairOption(chair) {
  const option = new Option(chair.name, String(chair.id));
  option.dataset.place = `${chair.site} · ${chair.room}`;
  if (chair.occupied_by) {
    option.disabled = true;
    option.textContent = `${chair.name} (taken: ${chair.occupied_by.simulated ? "drill running" : "patient"})`;
  }
  return option;
}

/**
 * Fill `select` with the chairs; `first(chair)` true puts that chair's room before the others
 * (the room the ward shows). A choice still free stays chosen. Returns the chairs, or null
 * when they could not be loaded (said beside the picker).
 */
export async function loadChairs(select, first = () => false) {
  let chairs;
  try {
    chairs = await api("/api/chairs");
  } catch (err) {
    if (err instanceof ApiError) showFieldError(select, `The chairs could not be loaded: ${err.message}`);
    return null;
  }
  // Unchanged, the list is left alone: rebuilding it would close a picker the person has open.
  const signature = JSON.stringify(chairs.map((c) => [c.id, c.name, c.room_id, Boolean(c.occupied_by), first(c)]));
  if (select.dataset.signature === signature) return chairs;
  select.dataset.signature = signature;
  const chosen = select.value;
  const rooms = new Map();
  for (const chair of chairs) {
    if (!rooms.has(chair.room_id)) rooms.set(chair.room_id, []);
    rooms.get(chair.room_id).push(chair);
  }
  const rank = (list) => (first(list[0]) ? 0 : 1);
  const groups = [...rooms.values()]
    .map((list, i) => [list, i])
    .sort(([a, i], [b, j]) => rank(a) - rank(b) || i - j)
    .map(([list]) => {
      const group = document.createElement("optgroup");
      group.label = `${list[0].site} · ${list[0].room}`;
      const free = list.filter((c) => !c.occupied_by);
      const taken = list.filter((c) => c.occupied_by);
      group.append(...free.map(chairOption), ...taken.map(chairOption));
      return group;
    });
  const prompt = new Option(chairs.length ? "Choose a chair" : "No chairs configured: ask an admin", "");
  select.replaceChildren(prompt, ...groups);
  const stillFree = chairs.some((c) => String(c.id) === chosen && !c.occupied_by);
  select.value = stillFree ? chosen : "";
  const lost = chosen && !stillFree ? chairs.find((c) => String(c.id) === chosen) : null;
  if (lost && select.getAttribute("aria-invalid") !== "true") {
    // Taken by someone else while this form was open: said, not silently dropped.
    showFieldError(select, `${lost.name} has just been taken; choose a free chair.`);
  }
  if (!select.dataset.wired) {
    select.dataset.wired = "true";
    select.addEventListener("change", () => showPlace(select));
  }
  showPlace(select);
  return chairs;
}

/** Closed, a picker shows the chair's name only: its site and room are said beside it. */
function showPlace(select) {
  const hint = document.getElementById("chair-place");
  if (!hint) return;
  const option = select.selectedOptions[0];
  hint.textContent = option && option.value ? `In ${option.dataset.place}.` : "";
}
