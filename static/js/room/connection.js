/* The room's one websocket (shared/CONTRACT.md section 5): it hands the page every event once, in seq order, and
   keeps what a person typed until it is sent.

   Reliability (shared/PITFALLS.md: a Redis restart closes every socket; a pub/sub layer can lose messages
   silently):
   - the last seq handed over is kept; a closed socket reconnects by itself with backoff (0.5 s doubling to
     10 s, with jitter) to …/?after=<last seq>, and the replayed events are handed over, each once;
   - an event ahead of its turn (seq > last + 1) is held back and `resume` asks for the missing ones;
   - a ping every 15 s: a pong that says the server sent more than we handed over asks for it too, and no pong
     at all means the connection is dead, so it is replaced;
   - what a person typed (say, propose, agenda_add) carries a client_id and stays in the outbox until its own
     event comes back; after a reconnect it is sent again (the server makes no second event for a client_id
     it has seen).

   It knows nothing of the page: it reports through the hooks given to createConnection. */

export const CLOSE_LOGGED_OUT = 4401;
// The server closed the socket because its user may no longer attend (a membership or role removed).
export const CLOSE_NOT_ALLOWED = 4403;
const PING_EVERY = 15000;
const PONG_WAIT = 10000;
const RESUME_WAIT = 2000;
const RESUME_TRIES = 3;
const RATE_LIMITED_WAIT = 2500;
const BACKOFF_FIRST = 500;
const BACKOFF_MAX = 10000;

// The event kind that answers each client frame.
const ANSWER_KINDS = {
  say: "said", propose: "proposed", agenda_add: "agenda_added", agenda_done: "agenda_done",
  raise_hand: "hand_raised", lower_hand: "hand_lowered", give_floor: "floor_given", set_mode: "mode_set",
  respond: "responded", open_caucus: "caucus_opened", close_caucus: "caucus_closed", carry: "carried",
};

/** Whether a reply (an event or a pong) answers a frame this participant sent. */
export function answers(frame, reply, me) {
  if (reply.type === "pong") { return frame.type === "ping"; }
  if (reply.actor !== me) { return false; }
  if (ANSWER_KINDS[frame.type] !== reply.kind) { return false; }
  if (frame.client_id) { return reply.client_id === frame.client_id; }
  if (frame.type === "respond") { return reply.data && reply.data.proposal === frame.proposal; }
  return true;
}

/**
 * hooks:
 * - status(state): "connecting", "reconnecting", "open", or "closed" (logged out: no reconnecting);
 * - welcome(frame): a (new) connection's welcome;
 * - events(batch): the events now in order, oldest first, each [{event, sent}] where `sent` says that it is
 *   the event of a frame from the outbox, which has left it;
 * - sent(clientId): an outbox frame whose event was handed over already (sent again after a reconnect);
 * - refused(error, frame): an error frame; `frame` is the outbox frame it refuses (it has left the outbox), or
 *   null when it refuses something else.
 */
export function createConnection(path, hooks) {
  let socket = null;
  let welcomed = false;
  let everOpen = false;
  let attempt = 0;
  let me = null;
  let lastSeq = 0; // The last event handed over: the page has every event up to it, each once.
  let stateSeq = 0; // The welcome's last_seq.
  let serverSeq = 0; // The highest seq the server says it has sent us.
  const held = new Map(); // seq → an event that came ahead of its turn.
  const outbox = new Map(); // client_id → a frame typed by the person, until its event comes back.
  let waiting = []; // The frames sent on this connection that the server will answer, oldest first.
  const timers = { reconnect: null, ping: null, pong: null, resume: null, resumePending: false, resumeTries: 0 };

  function connect() {
    clearTimeout(timers.reconnect);
    if (socket) { return; }
    hooks.status(everOpen || attempt > 0 ? "reconnecting" : "connecting");
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    let opened;
    try {
      opened = new WebSocket(`${scheme}//${window.location.host}${path}?after=${lastSeq}`);
    } catch (error) {
      scheduleReconnect();
      return;
    }
    socket = opened;
    welcomed = false;
    waiting = [];
    opened.addEventListener("message", (message) => { if (socket === opened) { receive(message.data); } });
    opened.addEventListener("close", (event) => { if (socket === opened) { closed(event.code); } });
  }

  function closed(code) {
    const old = socket;
    socket = null;
    welcomed = false;
    waiting = [];
    stopTimers();
    if (old) {
      try { old.close(); } catch (error) { /* already closed */ }
    }
    if (code === CLOSE_LOGGED_OUT) {
      hooks.status("closed");
      return;
    }
    if (code === CLOSE_NOT_ALLOWED) {
      hooks.status("revoked");
      return;
    }
    hooks.status("reconnecting");
    scheduleReconnect();
  }

  function scheduleReconnect() {
    clearTimeout(timers.reconnect);
    const ceiling = Math.min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** attempt);
    attempt += 1;
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    timers.reconnect = setTimeout(connect, delay);
  }

  /** Give up on this socket now (no pong, or a resume that never came back) and open another. */
  function replaceSocket() {
    if (socket) { closed(1006); }
  }

  function stopTimers() {
    clearInterval(timers.ping);
    clearTimeout(timers.pong);
    clearTimeout(timers.resume);
    timers.resumeTries = 0;
  }

  /** Send a frame on the open connection; false when there is none. */
  function send(frame) {
    if (!socket || !welcomed || socket.readyState !== WebSocket.OPEN) { return false; }
    socket.send(JSON.stringify(frame));
    if (frame.type !== "resume") { waiting.push(frame); }
    return true;
  }

  /** Keep a frame with a client_id in the outbox until its event comes back; send it now if connected. */
  function post(frame) {
    outbox.set(frame.client_id, frame);
    send(frame); // If the connection is down, the reconnect sends it.
  }

  function ping() {
    if (!send({ type: "ping" })) { return; }
    clearTimeout(timers.pong);
    timers.pong = setTimeout(replaceSocket, PONG_WAIT);
  }

  function askResume() {
    if (timers.resumePending) { return; }
    if (!send({ type: "resume", after: lastSeq })) { return; }
    timers.resumePending = true;
    clearTimeout(timers.resume);
    timers.resume = setTimeout(() => {
      timers.resumePending = false;
      if (held.size || serverSeq > lastSeq) {
        timers.resumeTries += 1;
        if (timers.resumeTries >= RESUME_TRIES) { replaceSocket(); } else { askResume(); }
      } else {
        timers.resumeTries = 0;
      }
    }, RESUME_WAIT);
  }

  // --- Frames from the server -------------------------------------------------------------------------------------

  function receive(text) {
    let frame;
    try { frame = JSON.parse(text); } catch (error) { return; }
    if (!frame || typeof frame !== "object") { return; }
    if (frame.type === "welcome") {
      welcome(frame);
    } else if (frame.type === "event") {
      arrived(frame);
    } else if (frame.type === "pong") {
      pong(frame);
    } else if (frame.type === "error") {
      refused(frame);
    }
  }

  function welcome(frame) {
    welcomed = true;
    everOpen = true;
    attempt = 0;
    me = frame.participant;
    stateSeq = frame.last_seq;
    serverSeq = Math.max(serverSeq, frame.last_seq);
    held.clear(); // Everything after lastSeq comes again on this connection.
    timers.resumePending = false;
    hooks.welcome(frame);
    hooks.status("open");
    clearInterval(timers.ping);
    timers.ping = setInterval(ping, PING_EVERY);
    // What was typed and not yet seen back goes again; the server answers a known client_id with the original.
    for (const frameToSend of outbox.values()) { send(frameToSend); }
  }

  function arrived(event) {
    if (typeof event.seq !== "number") { return; }
    // The replay of what was missed (?after=…) comes before any answer to this connection's frames.
    const replayed = event.seq <= stateSeq && lastSeq < stateSeq;
    if (!replayed) { answered(event); }
    serverSeq = Math.max(serverSeq, event.seq);
    if (event.seq <= lastSeq) {
      // A frame sent again: its original event, already handed over.
      if (confirm(event)) { hooks.sent(event.client_id); }
      return;
    }
    if (event.seq > lastSeq + 1) {
      held.set(event.seq, event);
      askResume();
      return;
    }
    const batch = [handOver(event)];
    while (held.has(lastSeq + 1)) {
      const next = held.get(lastSeq + 1);
      held.delete(next.seq);
      batch.push(handOver(next));
    }
    for (const seq of held.keys()) { if (seq <= lastSeq) { held.delete(seq); } }
    if (!held.size && serverSeq <= lastSeq) {
      clearTimeout(timers.resume);
      timers.resumePending = false;
      timers.resumeTries = 0;
    }
    hooks.events(batch);
  }

  function handOver(event) {
    lastSeq = event.seq;
    return { event, sent: confirm(event) };
  }

  /** Its own event came back: the frame is sent. */
  function confirm(event) {
    if (!event.client_id || event.actor !== me || !outbox.has(event.client_id)) { return false; }
    outbox.delete(event.client_id);
    return true;
  }

  function pong(frame) {
    answered(frame);
    clearTimeout(timers.pong);
    if (typeof frame.last_seq === "number") { serverSeq = Math.max(serverSeq, frame.last_seq); }
    if (serverSeq > lastSeq || held.size) { askResume(); }
  }

  /** Match what came back with the frame it answers: the server answers one connection's frames in order. */
  function answered(reply) {
    const index = waiting.findIndex((frame) => answers(frame, reply, me));
    // Frames before it were answered too (raising a hand already raised is answered by nothing).
    if (index >= 0) { waiting.splice(0, index + 1); }
  }

  function refused(error) {
    // The refusal names its frame by client_id when it had one: a frame refused at once (slow_down) is answered
    // before the frames taken before it are.
    const named = typeof error.client_id === "string" ? waiting.findIndex((f) => f.client_id === error.client_id) : -1;
    const [frame] = waiting.splice(Math.max(named, 0), 1);
    const kept = frame && frame.client_id ? outbox.get(frame.client_id) : undefined;
    if (kept && (error.code === "rate_limited" || error.code === "slow_down")) {
      // Too many frames at once, or a session too busy: the same frame again in a moment (same client_id, so never
      // twice), after the retry_after the server asks for.
      const wait = error.code === "slow_down" && typeof error.retry_after === "number"
        ? Math.max(100, error.retry_after * 1000) : RATE_LIMITED_WAIT;
      setTimeout(() => { if (outbox.get(frame.client_id) === kept) { send(kept); } }, wait);
      return;
    }
    if (kept) { outbox.delete(frame.client_id); }
    hooks.refused(error, kept ? frame : null);
  }

  return {
    start: connect,
    send,
    post,
    /** Back online, or back to the page: do not wait for the backoff. */
    wake() {
      if (!socket) {
        attempt = 0;
        connect();
      }
    },
    get socket() { return socket; },
    get lastSeq() { return lastSeq; },
    get outbox() { return Array.from(outbox.keys()); },
  };
}
