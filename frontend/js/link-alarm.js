// The lost server link as a technical alarm, like a central station's "no central monitoring":
// when the live stream has been down for longer than a short grace (a routine reconnect takes
// a second or two and must not alarm), the page says in a banner that alarms are NOT being
// monitored on this screen, since when and for how long, and sounds a medium-priority alarm
// (IEC 60601-1-8: 3 pulses, repeated every 17 s) through the page's alarm sound. Both go by
// themselves once the stream is live again, which it is only after its backfill: the page has
// then caught up with everything it missed.

import { announce } from "./announce.js";
import { showLiveStatus } from "./header.js";
import { localTime } from "./time.js";

/** How long the link may be down before it alarms (README, "Alarms"). */
export const LINK_GRACE_MS = 8000;
const TICK_MS = 500;

/** "0:09", "12:30", "1:02:03": how long the screen has been blind. */
export function elapsedText(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

export class LinkAlarm {
  /**
   * `sound`: the page's AlarmSound (null on a page without alarm sound); `root` gets
   * data-link="lost" while the alarm stands (the page is shown as not current).
   */
  constructor({ sound = null, graceMs = LINK_GRACE_MS, clock = () => Date.now(), root = document.documentElement } = {}) {
    this.sound = sound;
    this.graceMs = graceMs;
    this.clock = clock;
    this.root = root;
    this.downSince = clock(); // a page is not monitoring until its stream first says ready
    this.attempt = 0;
    this.raised = false;
    this.banner = document.getElementById("link-banner");
    this.text = document.getElementById("link-banner-text");
    this.elapsed = document.getElementById("link-banner-elapsed");
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  /** The stream's onStatus: draws the header's live indicator and follows the link. */
  status(state, attempt = 0, lostSince = null) {
    showLiveStatus(state, attempt);
    this.attempt = attempt;
    if (state === "live") {
      this.downSince = null;
      this.clear();
      return;
    }
    if (this.downSince === null) this.downSince = lostSince ?? this.clock();
    else if (lostSince !== null && lostSince < this.downSince) this.downSince = lostSince;
    this.tick();
  }

  tick() {
    if (this.downSince === null) return;
    const down = this.clock() - this.downSince;
    if (!this.raised && down >= this.graceMs) this.raise();
    if (this.raised) this.drawElapsed(down);
  }

  raise() {
    this.raised = true;
    const since = localTime(new Date(this.downSince));
    this.root.dataset.link = "lost";
    this.banner.dataset.since = String(this.downSince);
    // The alert's words are set once (a screen reader speaks them when the banner appears);
    // the elapsed time ticks beside them, outside the alert, so it is not read out every second.
    this.text.textContent =
      `Connection to Vigil lost — alarms are NOT being monitored on this screen since ${since}.`;
    this.banner.hidden = false;
    if (this.sound) {
      this.sound.setAlarms(
        [{ id: "link", priority: "medium", kind: "technical", status: "active", alerted_at: String(this.downSince) }],
        "link",
      );
    }
  }

  drawElapsed(down) {
    const trying = this.attempt > 1 ? ` (try ${this.attempt})` : "";
    this.elapsed.textContent = `No connection for ${elapsedText(down)} · reconnecting${trying}…`;
  }

  clear() {
    if (!this.raised) return;
    this.raised = false;
    this.banner.hidden = true;
    delete this.root.dataset.link;
    delete this.banner.dataset.since;
    if (this.sound) this.sound.setAlarms([], "link");
    announce("Connection to Vigil restored: alarms are monitored on this screen again.");
  }
}
