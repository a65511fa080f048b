// The ward's site and room filter: a screen in one room shows that room's chairs (remembered on
// this screen, like "Hide simulated sessions"); "All sites and rooms" shows every chair.

import { api } from "./api.js";

const PLACE_KEY = "vigil.ward.place";
const ALL = "all";

export class PlaceFilter {
  /** `select` is the filter control; `onChange` runs when the choice changes. */
  constructor({ select, onChange }) {
    this.select = select;
    this.onChange = onChange;
    this.value = localStorage.getItem(PLACE_KEY) || ALL;
    this.names = new Map([[ALL, ""]]); // choice -> what the screen says it shows
    this.rooms = 0; // rooms in use, across the sites
    select.addEventListener("change", () => {
      this.value = select.value;
      localStorage.setItem(PLACE_KEY, this.value);
      this.onChange();
    });
  }

  /** Offer the clinic's sites and rooms; without them the ward shows every chair. */
  async load() {
    let sites;
    try {
      sites = await api("/api/sites");
    } catch {
      sites = [];
    }
    const options = [new Option("All sites and rooms", ALL)];
    for (const site of sites.filter((s) => s.active)) {
      const group = document.createElement("optgroup");
      group.label = site.name;
      const whole = `site:${site.id}`;
      group.append(new Option(`${site.name}: all rooms`, whole));
      this.names.set(whole, site.name);
      for (const room of site.rooms.filter((r) => r.active)) {
        const key = `room:${room.id}`;
        group.append(new Option(room.name, key));
        this.names.set(key, `${site.name} · ${room.name}`);
      }
      options.push(group);
    }
    this.select.replaceChildren(...options);
    this.rooms = sites.filter((s) => s.active).reduce((n, s) => n + s.rooms.filter((r) => r.active).length, 0);
    // A remembered room that no longer exists: show everything rather than nothing.
    if (!this.names.has(this.value)) this.value = ALL;
    this.select.value = this.value;
    this.select.closest(".place-filter").hidden = sites.length < 2 && !sites.some((s) => s.rooms.length > 1);
  }

  /** Whether `session` is on a chair of the chosen site or room. */
  matches(session) {
    if (this.value === ALL) return true;
    const [kind, id] = this.value.split(":");
    return Number(kind === "site" ? session.site_id : session.room_id) === Number(id);
  }

  /** What the screen shows, e.g. "Demo clinic · Main room"; "" for everything. */
  label() {
    return this.names.get(this.value) || "";
  }

  /** Whether the screen shows chairs of more than one room (so tiles say which room). */
  showsRooms() {
    return this.rooms > 1 && !this.value.startsWith("room:");
  }

  /** The chosen room's id, or null (the start dialog offers its chairs first). */
  roomId() {
    return this.value.startsWith("room:") ? Number(this.value.slice(5)) : null;
  }

  siteId() {
    return this.value.startsWith("site:") ? Number(this.value.slice(5)) : null;
  }
}
