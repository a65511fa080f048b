// The alarm strip every signed-in page pins above what it shows, like the alarm bar of a central
// station: one entry per chair with an open alarm, most urgent first, each a link to the chair
// (its tile on the ward, else its session page). Patients always come before drills; within each,
// alarms nobody has acknowledged come first, physiological (and advisory) by priority, then
// technical ones, then the acknowledged in the same order; the longest waiting first.

import { PRIORITY_WORDS, RANK, isUnacknowledged } from "./alerts.js";
import { fillAlarmBox } from "./session-alarms.js";

const ms = (iso) => (iso ? Date.parse(iso) : 0);
const byChairName = (a, b) => a.localeCompare(b, undefined, { numeric: true, sensitivity: "base" });

/** Sort key of one alarm's urgency: the lower, the more urgent (see the file's header). */
export function urgencyKey(alert) {
  return [
    alert.simulated ? 1 : 0,
    isUnacknowledged(alert) ? 0 : 1,
    alert.kind === "technical" ? 1 : 0,
    -(RANK[alert.priority] || 0),
    alert.escalated ? 0 : 1,
    ms(alert.raised_at),
  ];
}

function compareKeys(a, b) {
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

export const compareUrgency = (a, b) => compareKeys(urgencyKey(a), urgencyKey(b)) || byChairName(a.chair, b.chair);

/**
 * The chairs with open alarms, most urgent first: for each, the alarm that puts it there (its
 * most urgent), how many it has and how many nobody has acknowledged.
 */
export function chairsByUrgency(open) {
  const chairs = new Map();
  for (const alert of [...open].sort(compareUrgency)) {
    const chair = chairs.get(alert.session_id);
    if (chair) {
      chair.count += 1;
      if (isUnacknowledged(alert)) chair.waiting += 1;
      continue;
    }
    chairs.set(alert.session_id, {
      sessionId: alert.session_id,
      chair: alert.chair,
      simulated: Boolean(alert.simulated),
      top: alert,
      count: 1,
      waiting: isUnacknowledged(alert) ? 1 : 0,
    });
  }
  return [...chairs.values()];
}

/** "Chair 3: HIGH ALARM …" as a screen reader and a tooltip give it. */
function entryTitle(chair) {
  const more = chair.count > 1 ? ` (+${chair.count - 1} more)` : "";
  const sim = chair.simulated ? "SIMULATED " : "";
  const words = `${sim}${PRIORITY_WORDS[chair.top.priority]} ALARM`;
  return `${chair.chair}: ${words}: ${chair.top.message}${more}`;
}

export class AlarmStrip {
  /**
   * `root`: the strip's element (gets data-state "alarm" | "drill" | "none"); `list`: its list;
   * `none`: the "no alarms" line (optional); `note`: a line for what is left out (optional).
   * `linkFor(sessionId)`: where an entry leads (default its session page); `openLink`: also
   * give each entry a small link to its session page (the ward, whose main link is the tile);
   * `onGo(sessionId, event)`: called when an entry's main link is followed.
   */
  constructor({ root, list, none = null, note = null, linkFor = null, openLink = false, onGo = null, hideWhenEmpty = false }) {
    this.root = root;
    this.list = list;
    this.none = none;
    this.note = note;
    this.linkFor = linkFor || ((id) => `/sessions/${id}`);
    this.openLink = openLink;
    this.onGo = onGo;
    this.hideWhenEmpty = hideWhenEmpty;
    this.signature = null;
    if (onGo) {
      list.addEventListener("click", (event) => {
        const link = event.target.closest("a.strip-go");
        if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
        this.onGo(Number(link.closest("li").dataset.sessionId), event);
      });
    }
  }

  /**
   * Draw `open` (the alarms this page shows) one entry per chair, and after them `offScreen`:
   * chairs without an open alarm that the page cannot show ([{ sessionId, chair }]), so no chair
   * is left off silently; `note` says what else is left out (e.g. hidden simulated sessions).
   */
  draw(open, { offScreen = [], offScreenIds = new Set(), note = "" } = {}) {
    const chairs = chairsByUrgency(open);
    const signature = JSON.stringify([
      chairs.map((c) => [c.sessionId, c.chair, c.top.id, c.top.version, c.top.status, c.top.priority, c.count, c.waiting, c.top.message]),
      offScreen.map((c) => [c.sessionId, c.chair]),
      [...offScreenIds],
      note,
    ]);
    if (signature === this.signature) return;
    this.signature = signature;
    // Keep focus on the same chair's entry when the list is redrawn under it.
    const focused = document.activeElement && this.list.contains(document.activeElement) ? document.activeElement : null;
    const focusedAt = focused && [focused.closest("li").dataset.sessionId, focused.className];
    const items = chairs.map((chair) => this.entry(chair, offScreenIds.has(chair.sessionId)));
    for (const quiet of offScreen) items.push(this.quietEntry(quiet));
    this.list.replaceChildren(...items);
    if (focusedAt) {
      const again = this.list.querySelector(`li[data-session-id="${focusedAt[0]}"] a.${focusedAt[1].split(" ")[0]}`);
      if (again) again.focus();
    }
    const real = chairs.some((c) => !c.simulated);
    this.root.dataset.state = real ? "alarm" : chairs.length ? "drill" : "none";
    if (real) this.root.dataset.priority = chairs[0].top.priority;
    else delete this.root.dataset.priority;
    if (this.none) this.none.hidden = chairs.length > 0;
    if (this.note) {
      this.note.textContent = note;
      this.note.hidden = !note;
    }
    if (this.hideWhenEmpty) this.root.hidden = items.length === 0 && !note;
  }

  entry(chair, offScreen) {
    const li = document.createElement("li");
    li.dataset.sessionId = String(chair.sessionId);
    li.dataset.simulated = String(chair.simulated);
    li.dataset.priority = chair.top.priority;
    li.dataset.status = chair.top.status;
    li.dataset.kind = chair.top.kind;
    if (offScreen) li.dataset.offScreen = "true";
    const go = document.createElement("a");
    go.className = "strip-go";
    go.href = this.linkFor(chair.sessionId);
    fillAlarmBox(go, chair.top); // the priority's colour and words, or a drill's own look
    const name = document.createElement("strong");
    name.className = "strip-chair";
    name.textContent = chair.chair;
    const sep = document.createElement("span");
    sep.className = "visually-hidden";
    sep.textContent = ": ";
    go.querySelector(".alarm-body").prepend(name, sep);
    // Said first, where the entry's end may be cut short on a narrow strip.
    if (offScreen) name.after(offScreenFlag());
    if (chair.count > 1) {
      const more = document.createElement("span");
      more.className = "strip-more";
      more.textContent = ` +${chair.count - 1}`;
      more.title = `${chair.count - 1} more open alarm${chair.count > 2 ? "s" : ""} on this chair`;
      go.querySelector(".alarm-body").append(more);
    }
    go.title = entryTitle(chair);
    li.append(go);
    if (this.openLink) li.append(this.openEntry(chair.sessionId, chair.chair));
    return li;
  }

  /** A chair the screen cannot show and that has no alarm: named, so it is not missed. */
  quietEntry({ sessionId, chair }) {
    const li = document.createElement("li");
    li.dataset.sessionId = String(sessionId);
    li.dataset.offScreen = "true";
    li.dataset.state = "quiet";
    const go = document.createElement("a");
    go.className = "strip-go strip-quiet";
    go.href = `/sessions/${sessionId}`;
    const name = document.createElement("strong");
    name.className = "strip-chair";
    name.textContent = chair;
    go.append(name, " no alarm ", offScreenFlag());
    li.append(go);
    return li;
  }

  openEntry(sessionId, chair) {
    const open = document.createElement("a");
    open.className = "strip-open";
    open.href = `/sessions/${sessionId}`;
    open.textContent = "Open";
    open.setAttribute("aria-label", `Open the session of ${chair}`);
    return open;
  }
}

function offScreenFlag() {
  const flag = document.createElement("span");
  flag.className = "alarm-flag strip-off";
  flag.dataset.flag = "off-screen";
  flag.textContent = "NOT ON SCREEN";
  return flag;
}
