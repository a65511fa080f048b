// The live event stream over a WebSocket: reconnects by itself and resumes from the last
// cursor, so a dropped link or a server restart loses nothing (the server backfills in order).

import { goToLogin } from "./api.js";

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 5000;
const DEFAULT_HEARTBEAT_MS = 15000;
const CONNECT_TIMEOUT_MS = 10000;

/**
 * One stream for the ward (`sessionId` null) or one session.
 * Callbacks: onEvent(message) for each event, onReady() when backfill is done,
 * onReset() when the server no longer knows our cursor (reload the page data),
 * onStatus(state, attempt, lostSince) with state "connecting" | "live" | "reconnecting" and,
 * while not live, since when (ms) nothing could have reached us: the last message of a link
 * that went silent, the moment a socket closed, or when the page began connecting.
 */
export class LiveStream {
  constructor({ sessionId = null, after = null, onEvent, onReady, onReset, onStatus }) {
    this.sessionId = sessionId;
    this.cursor = after;
    this.onEvent = onEvent || (() => {});
    this.onReady = onReady || (() => {});
    this.onReset = onReset || (() => {});
    this.onStatus = onStatus || (() => {});
    this.ws = null;
    this.attempt = 0;
    this.stopped = true;
    this.reconnectTimer = null;
    this.watchdog = null;
    this.everLive = false;
    this.resetPending = false;
    // Heartbeats come every ~15 s (faster in tests). Until the server says or we measure,
    // assume 15 s; a link silent for three intervals is treated as dead.
    this.heartbeatMs = DEFAULT_HEARTBEAT_MS;
    this.lastMessageAt = 0;
    this.connectStartedAt = 0;
    this.lostSince = null;
    this.onOnline = () => this.reconnectNow();
    // The device lost its network: nothing more can arrive, so say so now rather than after
    // three missed heartbeats.
    this.onOffline = () => {
      if (this.stopped) return;
      this.markLost(Date.now());
      this.drop();
      this.scheduleReconnect();
    };
  }

  markLost(at) {
    if (this.lostSince === null) this.lostSince = at;
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.markLost(Date.now()); // not live until the server says it is ready
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    this.watchdog = setInterval(() => this.checkAlive(), 1000);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    clearInterval(this.watchdog);
    clearTimeout(this.reconnectTimer);
    this.drop();
  }

  url() {
    const params = new URLSearchParams();
    if (this.sessionId !== null) params.set("session_id", String(this.sessionId));
    if (this.cursor !== null) params.set("after", String(this.cursor));
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = params.toString();
    return `${scheme}//${location.host}/api/stream${query ? `?${query}` : ""}`;
  }

  connect() {
    this.onStatus(this.everLive ? "reconnecting" : "connecting", this.attempt, this.lostSince);
    this.connectStartedAt = Date.now();
    this.lastMessageAt = 0;
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onmessage = (ev) => this.receive(ev.data);
    ws.onclose = (ev) => this.closed(ev);
    // An error is always followed by a close; the close handler does the work.
    ws.onerror = () => {};
  }

  receive(text) {
    const now = Date.now();
    const previous = this.lastMessageAt || this.connectStartedAt;
    this.lastMessageAt = now;
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (message.cursor !== undefined && message.cursor !== null) this.cursor = message.cursor;
    switch (message.type) {
      case "event":
        this.onEvent(message);
        break;
      case "ready":
        if (message.heartbeat_seconds) this.heartbeatMs = message.heartbeat_seconds * 1000;
        this.attempt = 0;
        this.everLive = true;
        this.lostSince = null; // backfill is done: the page is current again
        this.onStatus("live", 0, null);
        if (this.resetPending) {
          this.resetPending = false;
          this.onReset();
        }
        this.onReady();
        break;
      case "heartbeat":
        // The server sends a heartbeat after an idle interval, so the silence before it
        // measures that interval.
        this.heartbeatMs = Math.min(60000, Math.max(1000, now - previous));
        break;
      case "reset":
        this.onReset();
        break;
      default:
        break;
    }
  }

  closed(ev) {
    if (ev.target !== this.ws) return; // a socket we already dropped
    this.ws = null;
    if (this.stopped) return;
    this.markLost(Date.now());
    if (ev.code === 4401) {
      this.stop();
      goToLogin();
      return;
    }
    if (ev.code === 4400) {
      // The server refused our cursor: start afresh and reload what the page shows.
      this.cursor = null;
      this.resetPending = true;
    }
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    if (this.stopped) return;
    clearTimeout(this.reconnectTimer);
    const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** this.attempt);
    const delay = base * (0.8 + Math.random() * 0.4); // jitter: a ward of tablets must not stampede
    this.attempt += 1;
    this.onStatus(this.everLive ? "reconnecting" : "connecting", this.attempt, this.lostSince);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  /** Forget the current socket without waiting for a close handshake a dead link never sends. */
  drop() {
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onmessage = null;
      ws.onclose = null;
      try {
        ws.close();
      } catch {
        /* already closed */
      }
    }
  }

  reconnectNow() {
    if (this.stopped || (this.ws && this.ws.readyState === WebSocket.OPEN)) return;
    this.drop();
    clearTimeout(this.reconnectTimer);
    this.connect();
  }

  checkAlive() {
    if (this.stopped || !this.ws) return;
    const now = Date.now();
    const silentFor = now - (this.lastMessageAt || this.connectStartedAt);
    const limit = this.lastMessageAt ? 3 * this.heartbeatMs : CONNECT_TIMEOUT_MS;
    if (silentFor > limit) {
      // Dead since its last message: that is when monitoring really stopped.
      this.markLost(this.lastMessageAt || this.connectStartedAt);
      this.drop();
      this.scheduleReconnect();
    }
  }
}
