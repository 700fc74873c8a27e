// Live updates: the SSE stream when it is allowed, polling when the server sends the console
// there (`event: fallback`, a 503 in degraded mode, the per-user stream limit), and the stream
// again later. Views subscribe to events and to resets; the header shows the state.

import { get } from "./api.js";

// The stream names each event by its type: EventSource delivers named events only to
// listeners registered for that name (not to onmessage).
const EVENT_TYPES = [
  "deal.created", "deal.updated", "deal.stage_changed", "deal.deleted",
  "action.proposed", "action.approved", "action.rejected", "action.expired",
];
const STREAM_RETRY_MS = 30000;

const eventListeners = new Set();
const resetListeners = new Set();
const statusListeners = new Set();
const seen = new Set();

let running = false;
let source = null;
let lastSeq = null;
let state = "offline";
let detail = "";
let pollTimer = null;
let pollActive = false;
let pollGeneration = 0;
let pollInterval = 5000;
let retryTimer = null;

/** Calls `fn(entry)` for each event ({sequence, type, occurred_at, data}); returns an unsubscribe. */
export function onEvent(fn) {
  eventListeners.add(fn);
  return () => eventListeners.delete(fn);
}

/** Calls `fn()` when events were missed and what is shown must be reloaded. */
export function onReset(fn) {
  resetListeners.add(fn);
  return () => resetListeners.delete(fn);
}

/** Calls `fn(state, detail)` now and at each change: connecting, live, reconnecting, polling, offline. */
export function onStatus(fn) {
  statusListeners.add(fn);
  fn(state, detail);
  return () => statusListeners.delete(fn);
}

function setState(next, why = "") {
  state = next;
  detail = why;
  statusListeners.forEach((fn) => fn(state, detail));
}

/** Starts listening (after sign-in). */
export async function start() {
  if (running) return;
  running = true;
  setState("connecting");
  try {
    // Where the log stands now: once the stream is open, what happened in between is fetched.
    lastSeq = (await get("/api/events/poll")).next_after;
  } catch {
    lastSeq = null;
  }
  if (running) openStream();
}

/** Stops everything (sign-out). */
export function stop() {
  running = false;
  closeStream();
  stopPolling();
  clearTimeout(retryTimer);
  retryTimer = null;
  lastSeq = null;
  seen.clear();
  setState("offline");
}

function openStream() {
  if (!running || source) return;
  if (typeof EventSource === "undefined") {
    startPolling(5000, "this browser has no EventSource");
    return;
  }
  if (state !== "polling") setState("connecting");
  const stream = new EventSource("/api/events/stream");
  source = stream;
  stream.onopen = () => {
    if (source !== stream) return;
    stopPolling();
    setState("live");
    catchUp();
  };
  stream.onerror = () => {
    if (source !== stream) return;
    if (stream.readyState === EventSource.CLOSED) {
      // The server answered with an error (401, 429, 503…): the browser will not retry.
      source = null;
      streamRefused();
    } else if (state !== "polling") {
      // The browser reconnects by itself and sends Last-Event-ID: the server replays.
      setState("reconnecting");
    }
  };
  for (const type of EVENT_TYPES) {
    stream.addEventListener(type, (message) => {
      let data = null;
      try {
        data = JSON.parse(message.data);
      } catch {
        return;
      }
      // The frame carries the record only: its own time stands in for the event's.
      const occurred = data && (data.updated_at || data.decided_at || data.created_at);
      receive({ sequence: Number(message.lastEventId), type, occurred_at: occurred || null, data });
    });
  }
  stream.addEventListener("reset", () => emitReset());
  stream.addEventListener("fallback", (message) => {
    let info = {};
    try {
      info = JSON.parse(message.data) || {};
    } catch {
      // Poll at the default interval.
    }
    closeStream();
    startPolling(Number(info.interval_ms) || 5000, info.reason || "");
    scheduleStreamRetry();
  });
}

function closeStream() {
  if (source) source.close();
  source = null;
}

async function streamRefused() {
  try {
    // A 401 here signs the console out (the api module's hook); anything else means poll.
    await get("/api/auth/me");
  } catch (error) {
    if (error.status === 401) return;
  }
  if (!running) return;
  startPolling(pollInterval, "the stream is unavailable");
  scheduleStreamRetry();
}

function scheduleStreamRetry() {
  clearTimeout(retryTimer);
  retryTimer = setTimeout(() => {
    retryTimer = null;
    openStream();
  }, STREAM_RETRY_MS);
}

function startPolling(interval, why) {
  pollInterval = interval;
  setState("polling", why);
  if (pollActive) return;
  pollActive = true;
  pollLoop(++pollGeneration);
}

function stopPolling() {
  pollActive = false;
  pollGeneration += 1;
  clearTimeout(pollTimer);
  pollTimer = null;
}

// One loop at a time: a generation that changed (stopped, restarted) ends the old loop.
async function pollLoop(generation) {
  let wait = pollInterval;
  try {
    await fetchAfter(lastSeq);
  } catch (error) {
    if (error.status === 401) return;
    if (error.retryAfter) wait = Math.max(wait, Number(error.retryAfter) * 1000);
  }
  if (!running || generation !== pollGeneration) return;
  pollTimer = setTimeout(() => pollLoop(generation), wait);
}

async function fetchAfter(after) {
  const page = await get("/api/events/poll", { after: after ?? undefined, limit: 500 });
  if (page.reset) emitReset();
  for (const entry of page.events) receive(entry);
  lastSeq = page.next_after;
  if (page.interval_ms) pollInterval = page.interval_ms;
  // More may be waiting beyond this page: read on at once.
  if (page.events.length === 500) await fetchAfter(lastSeq);
}

async function catchUp() {
  if (lastSeq === null) return;
  try {
    await fetchAfter(lastSeq);
  } catch {
    // The stream carries on; a gap shows at the next reload.
  }
}

function receive(entry) {
  if (Number.isFinite(entry.sequence)) {
    if (seen.has(entry.sequence)) return;
    seen.add(entry.sequence);
    if (seen.size > 2000) seen.delete(seen.values().next().value);
    if (lastSeq === null || entry.sequence > lastSeq) lastSeq = entry.sequence;
  }
  eventListeners.forEach((fn) => {
    try {
      fn(entry);
    } catch (error) {
      console.error(error);
    }
  });
}

function emitReset() {
  resetListeners.forEach((fn) => fn());
}
