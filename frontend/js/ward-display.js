// The ward as a wall display (a central station on a large screen): no navigation, large type,
// every chair on one screen without scrolling. Chosen with /ward?display=wall or the button,
// remembered on this screen, left with Esc or the visible button.

const KEY = "vigil.ward.display";
// Up to 12 chairs get full-size tiles; 13–24 share the screen in smaller ones (a central
// station's sectors shrink as beds are added); beyond 24 a tile would be too small to read
// across the room, so the rest are named in the alarm strip instead (ward.js).
const MIN_TILE_W = 290; // narrower and the BP value and its trend no longer fit a row
const MIN_TILE_H = 180;
export const WALL_CAPACITY = 24;
const TILE_ASPECT = 1.55; // width / height the tile's content reads best at
// A tile's text shrinks at most to this; a tile that still does not fit makes the grid scroll.
const MIN_SCALE = 0.75;
// Small tiles (13–24 chairs) may go a little further before the grid scrolls: a chair pushed
// below the screen is worse than slightly smaller type.
const MIN_SCALE_SMALL = 0.65;
const SMALL_TILE_H = 250; // as the ward.css container query that makes a tile compact
// A decision to scroll is tried again this often (a tile that grew for a moment, e.g. while its
// first data arrived, must not leave the wall scrolling for good); trying costs one layout pass.
const RETRY_FIT_MS = 15000;

function fromUrl() {
  const value = new URLSearchParams(location.search).get("display");
  return value === "wall" || value === "normal" ? value : null;
}

function stored() {
  try {
    return localStorage.getItem(KEY) === "wall" ? "wall" : "normal";
  } catch {
    return "normal";
  }
}

function remember(mode) {
  try {
    localStorage.setItem(KEY, mode);
  } catch {
    // Private mode or storage full: the choice lasts for this page only.
  }
}

/** The URL says what is shown, so a reload or a bookmark gives the same screen. */
function writeUrl(mode) {
  const url = new URL(location.href);
  if (mode === "wall") url.searchParams.set("display", "wall");
  else url.searchParams.delete("display");
  history.replaceState(history.state, "", url);
}

/**
 * Columns and rows for `count` tiles in a `width` × `height` area: the split whose tiles come
 * closest to their best shape at the largest size; null when even that needs scrolling.
 */
export function wallGrid(count, width, height, gap) {
  if (count < 1) return { cols: 1, rows: 1 };
  let best = null;
  for (let cols = 1; cols <= count; cols += 1) {
    const rows = Math.ceil(count / cols);
    const w = (width - gap * (cols - 1)) / cols;
    const h = (height - gap * (rows - 1)) / rows;
    if (w < MIN_TILE_W) break;
    const scale = Math.min(w / TILE_ASPECT, h);
    if (!best || scale > best.scale) best = { cols, rows, scale, h };
  }
  if (!best || best.h < MIN_TILE_H) return null;
  return { cols: best.cols, rows: best.rows };
}

export class WallDisplay {
  constructor({ root = document.documentElement, tiles, toggle, exit, onChange = () => {} }) {
    this.root = root;
    this.tiles = tiles;
    this.toggleButton = toggle;
    this.exitButton = exit;
    this.onChange = onChange;
    this.count = 0;
    this.enteredFullscreen = false;
    const initial = fromUrl() || stored();
    toggle.addEventListener("click", () => this.set("wall", { fullscreen: true }));
    exit.addEventListener("click", () => this.set("normal"));
    document.addEventListener("keydown", (event) => {
      if (event.key !== "Escape" || !this.on || event.defaultPrevented) return;
      if (document.querySelector("dialog[open]")) return; // Esc closes the dialog first
      this.set("normal");
    });
    // Esc in fullscreen is taken by the browser to leave fullscreen: leave the wall display too,
    // so one Esc does what the button says.
    document.addEventListener("fullscreenchange", () => {
      if (!document.fullscreenElement && this.enteredFullscreen) {
        this.enteredFullscreen = false;
        if (this.on) this.set("normal");
      }
    });
    window.addEventListener("resize", () => this.layout(this.count));
    this.set(initial, { focus: false });
  }

  get on() {
    return this.root.dataset.display === "wall";
  }

  /** How many tiles this screen shows at most (all of them when not a wall display). */
  get capacity() {
    return this.on ? WALL_CAPACITY : Infinity;
  }

  set(mode, { fullscreen = false, focus = true } = {}) {
    const wall = mode === "wall";
    if (wall) this.root.dataset.display = "wall";
    else delete this.root.dataset.display;
    remember(mode);
    writeUrl(mode);
    this.toggleButton.hidden = wall;
    this.exitButton.hidden = !wall;
    if (wall && fullscreen && document.fullscreenEnabled && !document.fullscreenElement) {
      // Optional: a screen that refuses fullscreen still gets the wall layout.
      document.documentElement
        .requestFullscreen()
        .then(() => {
          this.enteredFullscreen = true;
        })
        .catch(() => {});
    }
    if (!wall && document.fullscreenElement && this.enteredFullscreen) {
      this.enteredFullscreen = false;
      document.exitFullscreen().catch(() => {});
    }
    if (focus) (wall ? this.exitButton : this.toggleButton).focus();
    this.layout(this.count);
    this.onChange(wall);
  }

  /**
   * Shrink a tile's type until its content fits the tile (a tile with an alarm, four trends and
   * a nurse's observations holds more than a quiet one). Measured again only when what the tile
   * holds or its size changed, so the once-a-second redraws cost no layout work.
   */
  fit(tile) {
    if (!this.on || this.tiles.dataset.fit !== "screen") {
      tile.style.removeProperty("--s");
      delete tile.dataset.fitKey;
      delete tile.dataset.fits;
      return true;
    }
    const shown = (selector) => tile.querySelector(`${selector}:not([hidden])`) !== null;
    const key = [
      tile.querySelectorAll(".vital").length,
      // The alarm's "since" ticks every second: only a real change of length counts.
      shown(".tile-alarm") ? Math.round(tile.querySelector(".alarm-body").textContent.length / 25) : -1,
      shown(".tile-data-note"),
      tile.querySelector(".tile-news2").textContent.length > 40,
      // Trends drawn once loaded: their sparklines can make a row taller than its value.
      tile.dataset.trend,
      tile.querySelectorAll(".vital-extras .vital").length,
      tile.clientWidth,
      tile.clientHeight,
    ].join("|");
    if (tile.dataset.fitKey === key) return tile.dataset.fits !== "false";
    tile.dataset.fitKey = key;
    let scale = 1;
    tile.style.setProperty("--s", "1");
    const floor = tile.clientHeight < SMALL_TILE_H ? MIN_SCALE_SMALL : MIN_SCALE;
    while (tile.scrollHeight > tile.clientHeight + 1 && scale > floor + 0.001) {
      scale -= 0.05;
      tile.style.setProperty("--s", scale.toFixed(2));
    }
    const fits = tile.scrollHeight <= tile.clientHeight + 1;
    tile.dataset.fits = String(fits);
    return fits;
  }

  /**
   * Fit every shown tile (after a batch of redraws: one layout pass for all of them). One that
   * does not fit even at MIN_SCALE turns the grid back into a scrolling one: text too small to
   * read across the room is worse than scrolling.
   */
  fitAll() {
    let overflow = false;
    for (const tile of this.tiles.children) if (!tile.hidden && !this.fit(tile)) overflow = true;
    if (overflow && this.tiles.dataset.fit === "screen") {
      this.scrollFor = this.sizeKey();
      this.scroll();
      this.fitAll();
    }
  }

  /**
   * What a decision to scroll holds for: until the tile count, the window or the room left for
   * the tiles changes (the alarm strip growing, the sound or lost-link bar at the foot going).
   */
  sizeKey() {
    const foot = document.querySelector(".foot-bars");
    const top = Math.round(this.tiles.getBoundingClientRect().top + window.scrollY);
    const round = Math.floor(Date.now() / RETRY_FIT_MS);
    return `${this.count}|${window.innerWidth}x${window.innerHeight}|${top}|${foot ? foot.offsetHeight : 0}|${round}`;
  }

  scroll() {
    this.tiles.style.removeProperty("--wall-cols");
    this.tiles.style.removeProperty("--wall-rows");
    this.tiles.dataset.fit = "scroll";
  }

  /** Size the grid for `count` shown tiles: all on one screen when they fit. */
  layout(count) {
    this.count = count;
    const style = this.tiles.style;
    if (!this.on) {
      style.removeProperty("--wall-top");
      style.removeProperty("--wall-cols");
      style.removeProperty("--wall-rows");
      delete this.tiles.dataset.fit;
      return;
    }
    const top = this.tiles.getBoundingClientRect().top + window.scrollY;
    const gap = parseFloat(getComputedStyle(this.tiles).rowGap) || 12;
    const bottomPad = 12;
    const grid = wallGrid(count, this.tiles.clientWidth, window.innerHeight - top - bottomPad, gap);
    if (grid && this.scrollFor !== this.sizeKey()) {
      style.setProperty("--wall-top", `${Math.ceil(top + bottomPad)}px`);
      style.setProperty("--wall-cols", String(grid.cols));
      style.setProperty("--wall-rows", String(grid.rows));
      this.tiles.dataset.fit = "screen";
    } else {
      this.scroll();
    }
    this.fitAll();
  }
}
