/* The live room of a dialogue session: one websocket (shared/CONTRACT.md section 5), the room drawn from the
   welcome's state, then every event applied once, in seq order.

   Reliability (PITFALLS.md: a Redis restart closes every socket; a pub/sub layer can lose messages silently):
   - the last seq applied is kept; a closed socket reconnects by itself with backoff (0.5 s doubling to 10 s,
     with jitter) to …/?after=<last seq>, and the replayed events are applied, each once;
   - an event ahead of its turn (seq > last + 1) is held back and `resume` asks for the missing ones;
   - a ping every 15 s: a pong that says the server sent more than we applied asks for it too, and no pong
     at all means the connection is dead, so it is replaced;
   - what a person typed (say, propose, agenda_add) carries a client_id and stays in the outbox, shown as
     "waiting to send", until its own event comes back; after a reconnect it is sent again (the server makes
     no second event for a client_id it has seen).
   Every word on the page comes from the page (the room-strings JSON, translated by Django). */
(() => {
  "use strict";

  const root = document.getElementById("room");
  const stringsElement = document.getElementById("room-strings");
  if (!root || !stringsElement) { return; }

  const S = JSON.parse(stringsElement.textContent);
  const isFacilitator = root.dataset.facilitator === "true";
  const wsPath = root.dataset.wsPath;
  const byId = (id) => document.getElementById(id);

  const PING_EVERY = 15000;
  const PONG_WAIT = 10000;
  const RESUME_WAIT = 2000;
  const BACKOFF_FIRST = 500;
  const BACKOFF_MAX = 10000;
  const CLOSE_LOGGED_OUT = 4401;
  const OUTBOX_TYPES = new Set(["say", "propose", "agenda_add"]);
  const STANCES = ["agree", "stand_aside", "block"];

  // --- Strings and elements ------------------------------------------------------------------------------

  function t(key, values) {
    let text = Object.prototype.hasOwnProperty.call(S, key) ? S[key] : S.error;
    if (values) {
      text = text.replace(/%\((\w+)\)s/g, (match, name) => (name in values ? String(values[name]) : match));
    }
    return text;
  }

  /** An element with attributes (class, data-*, anything else) and children (nodes or text). */
  function h(tag, attributes, ...children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) { continue; }
      if (name === "class") { element.className = value; } else { element.setAttribute(name, value === true ? "" : String(value)); }
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) { continue; }
      element.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return element;
  }

  /** Replace a list's items only when what they show changed (keeps focus and clicks steady). */
  function fill(list, signature, build) {
    if (!list || list.dataset.signature === signature) { return; }
    list.dataset.signature = signature;
    list.replaceChildren(...build());
  }

  function newClientId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") { return window.crypto.randomUUID(); }
    // Pages served over plain http (not localhost) have no randomUUID; getRandomValues works everywhere.
    const bytes = window.crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function clock(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) { return ""; }
    try {
      return date.toLocaleTimeString(document.documentElement.lang || undefined, { hour: "2-digit", minute: "2-digit" });
    } catch (error) {
      return date.toISOString().slice(11, 16);
    }
  }

  // --- What the room knows ---------------------------------------------------------------------------------

  const room = {
    socket: null,
    welcomed: false,
    everOpen: false,
    attempt: 0,
    me: null,
    lastSeq: 0, // The last event applied: the transcript shows every event up to it, each once.
    stateSeq: 0, // The welcome's last_seq: its state already includes the events up to it.
    serverSeq: 0, // The highest seq the server says it has sent us.
    held: new Map(), // seq → an event that came ahead of its turn.
    outbox: new Map(), // client_id → {frame, pending: the "waiting to send" element}
    answers: [], // The frames sent on this connection that the server will answer, oldest first.
    state: null,
    names: new Map(), // participant id → name, kept across reconnects for the transcript.
    proposalTexts: new Map(),
    agendaTitles: new Map(),
    raisedRank: new Map(), // participant id → order of raising the hand (for the queue's order).
    skew: 0, // Server clock minus ours, in ms, from the events' times.
    timers: {},
  };

  function participant(id) {
    return room.state ? room.state.participants.find((p) => p.id === id) : undefined;
  }

  function nameOf(id) {
    if (id === null || id === undefined) { return t("someone"); }
    return room.names.get(id) || t("someone");
  }

  function myRole() {
    const me = participant(room.me);
    return me ? me.role : null;
  }

  function iVote() {
    const role = myRole();
    return role !== null && role !== "facilitator" && role !== "monitor";
  }

  // --- The connection ----------------------------------------------------------------------------------------

  function setConnection(state) {
    const element = byId("connection");
    if (!element) { return; }
    element.dataset.state = state;
    element.textContent = t({ open: "connected", connecting: "connecting", reconnecting: "reconnecting", closed: "logged_out" }[state]);
  }

  function connect() {
    clearTimeout(room.timers.reconnect);
    if (room.socket) { return; }
    setConnection(room.everOpen || room.attempt > 0 ? "reconnecting" : "connecting");
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    let socket;
    try {
      socket = new WebSocket(`${scheme}//${window.location.host}${wsPath}?after=${room.lastSeq}`);
    } catch (error) {
      scheduleReconnect();
      return;
    }
    room.socket = socket;
    room.welcomed = false;
    room.answers = [];
    socket.addEventListener("message", (message) => { if (room.socket === socket) { receive(message.data); } });
    socket.addEventListener("close", (event) => { if (room.socket === socket) { closed(event.code); } });
  }

  function closed(code) {
    const socket = room.socket;
    room.socket = null;
    room.welcomed = false;
    room.answers = [];
    stopTimers();
    if (socket) {
      try { socket.close(); } catch (error) { /* already closed */ }
    }
    if (code === CLOSE_LOGGED_OUT) {
      setConnection("closed");
      return;
    }
    setConnection("reconnecting");
    scheduleReconnect();
  }

  function scheduleReconnect() {
    clearTimeout(room.timers.reconnect);
    const ceiling = Math.min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** room.attempt);
    room.attempt += 1;
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    room.timers.reconnect = setTimeout(connect, delay);
  }

  /** Give up on this socket now (no pong, or a resume that never came back) and open another. */
  function replaceSocket() {
    if (room.socket) { closed(1006); }
  }

  function stopTimers() {
    clearInterval(room.timers.ping);
    clearTimeout(room.timers.pong);
    clearTimeout(room.timers.resume);
    room.timers.resumeTries = 0;
  }

  /** Send a frame on the open connection; false when there is none. */
  function send(frame) {
    const socket = room.socket;
    if (!socket || !room.welcomed || socket.readyState !== WebSocket.OPEN) { return false; }
    socket.send(JSON.stringify(frame));
    if (frame.type !== "resume") { room.answers.push(frame); }
    return true;
  }

  function ping() {
    if (!send({ type: "ping" })) { return; }
    clearTimeout(room.timers.pong);
    room.timers.pong = setTimeout(replaceSocket, PONG_WAIT);
  }

  function askResume() {
    if (room.timers.resumePending) { return; }
    if (!send({ type: "resume", after: room.lastSeq })) { return; }
    room.timers.resumePending = true;
    clearTimeout(room.timers.resume);
    room.timers.resume = setTimeout(() => {
      room.timers.resumePending = false;
      if (room.held.size || room.serverSeq > room.lastSeq) {
        room.timers.resumeTries = (room.timers.resumeTries || 0) + 1;
        if (room.timers.resumeTries >= 3) { replaceSocket(); } else { askResume(); }
      } else {
        room.timers.resumeTries = 0;
      }
    }, RESUME_WAIT);
  }

  // --- Frames from the server ---------------------------------------------------------------------------------

  function receive(text) {
    let frame;
    try { frame = JSON.parse(text); } catch (error) { return; }
    if (!frame || typeof frame !== "object") { return; }
    if (frame.type === "welcome") { welcome(frame); } else if (frame.type === "event") { arrived(frame); } else if (frame.type === "pong") { pong(frame); } else if (frame.type === "error") { refused(frame); }
  }

  function welcome(frame) {
    room.welcomed = true;
    room.everOpen = true;
    room.attempt = 0;
    room.me = frame.participant;
    room.stateSeq = frame.last_seq;
    room.serverSeq = Math.max(room.serverSeq, frame.last_seq);
    room.held.clear(); // Everything after lastSeq comes again on this connection.
    room.timers.resumePending = false;
    adoptState(frame.state);
    setConnection("open");
    render();
    clearInterval(room.timers.ping);
    room.timers.ping = setInterval(ping, PING_EVERY);
    // What was typed and not yet seen back goes again; the server answers a known client_id with the original.
    for (const item of room.outbox.values()) { send(item.frame); }
  }

  function adoptState(state) {
    room.state = {
      status: state.status,
      floor: state.floor,
      floorUntil: state.floor_until,
      queue: Array.isArray(state.queue) ? state.queue.slice() : [],
      proposals: (state.open_proposals || []).map((p) => ({ ...p, responses: { ...(p.responses || {}) } })),
      participants: (state.participants || []).map((p) => ({ ...p })),
      agenda: (state.agenda || []).map((item) => ({ ...item })),
      floorOnly: Boolean(state.floor_only),
      priorityFirst: Boolean(state.priority_first),
      turnSeconds: state.turn_seconds === undefined ? null : state.turn_seconds,
    };
    for (const p of room.state.participants) { room.names.set(p.id, p.name); }
    for (const p of room.state.proposals) { room.proposalTexts.set(p.id, p.text); }
    for (const item of room.state.agenda) { room.agendaTitles.set(item.id, item.title); }
    room.raisedRank.clear();
    room.state.queue.forEach((id, index) => room.raisedRank.set(id, index - 1e9));
  }

  function arrived(event) {
    if (typeof event.seq !== "number") { return; }
    // The replay of what was missed (?after=…) comes before any answer to this connection's frames.
    const replayed = event.seq <= room.stateSeq && room.lastSeq < room.stateSeq;
    if (!replayed) { answered(event); }
    room.serverSeq = Math.max(room.serverSeq, event.seq);
    if (event.seq <= room.lastSeq) {
      confirm(event); // A frame sent again: its original event, already shown.
      return;
    }
    if (event.seq > room.lastSeq + 1) {
      room.held.set(event.seq, event);
      askResume();
      return;
    }
    let changed = apply(event);
    while (room.held.has(room.lastSeq + 1)) {
      const next = room.held.get(room.lastSeq + 1);
      room.held.delete(next.seq);
      changed = apply(next) || changed;
    }
    for (const seq of room.held.keys()) { if (seq <= room.lastSeq) { room.held.delete(seq); } }
    if (!room.held.size && room.serverSeq <= room.lastSeq) {
      clearTimeout(room.timers.resume);
      room.timers.resumePending = false;
      room.timers.resumeTries = 0;
    }
    if (changed) { render(); } // A replayed event is in the welcome's state already: only its line is new.
  }

  function pong(frame) {
    answered(frame);
    clearTimeout(room.timers.pong);
    if (typeof frame.last_seq === "number") { room.serverSeq = Math.max(room.serverSeq, frame.last_seq); }
    if (room.serverSeq > room.lastSeq || room.held.size) { askResume(); }
  }

  /** Match what came back with the frame it answers: the server answers one connection's frames in order. */
  function answers(frame, reply) {
    if (reply.type === "pong") { return frame.type === "ping"; }
    if (reply.actor !== room.me) { return false; }
    const kinds = {
      say: "said", propose: "proposed", agenda_add: "agenda_added", agenda_done: "agenda_done",
      raise_hand: "hand_raised", lower_hand: "hand_lowered", give_floor: "floor_given", set_mode: "mode_set",
      respond: "responded",
    };
    if (kinds[frame.type] !== reply.kind) { return false; }
    if (frame.client_id) { return reply.client_id === frame.client_id; }
    if (frame.type === "respond") { return reply.data && reply.data.proposal === frame.proposal; }
    return true;
  }

  function answered(reply) {
    const index = room.answers.findIndex((frame) => answers(frame, reply));
    // Frames before it were answered too (raising a hand already raised is answered by nothing).
    if (index >= 0) { room.answers.splice(0, index + 1); }
  }

  function refused(frame) {
    const refusedFrame = room.answers.shift();
    const item = refusedFrame && refusedFrame.client_id ? room.outbox.get(refusedFrame.client_id) : undefined;
    if (item && frame.code === "rate_limited") {
      // Too many frames at once: the same frame again in a moment (same client_id, so never twice).
      setTimeout(() => { if (room.outbox.get(refusedFrame.client_id) === item) { send(item.frame); } }, 2500);
      return;
    }
    if (item) {
      room.outbox.delete(refusedFrame.client_id);
      dropPending(item);
      giveBack(refusedFrame);
    }
    showError(frame.code, frame.detail);
    render(); // Settings changed optimistically by a control go back to what the room says.
  }

  /** Put refused words back where they were typed, unless something new is there. */
  function giveBack(frame) {
    const field = { say: byId("say-text"), propose: byId("proposal-text"), agenda_add: byId("agenda-title-input") }[frame.type];
    const text = frame.body || frame.text || frame.title;
    if (field && text && !field.value.trim()) { field.value = text; }
  }

  function showError(code, detail) {
    const element = byId("room-error");
    if (!element) { return; }
    element.dataset.code = code || "error";
    const summary = Object.prototype.hasOwnProperty.call(S, code) ? t(code) : t("error");
    const children = [h("strong", {}, summary)];
    if (detail && detail !== summary) { children.push(" ", h("span", { class: "detail" }, detail)); }
    element.replaceChildren(...children);
    element.hidden = false;
  }

  function clearError() {
    const element = byId("room-error");
    if (element) { element.hidden = true; element.replaceChildren(); delete element.dataset.code; }
  }

  // --- Applying an event -----------------------------------------------------------------------------------------

  function apply(event) {
    room.lastSeq = event.seq;
    const data = event.data || {};
    if (event.kind === "joined" && event.actor !== null) { room.names.set(event.actor, data.name || nameOf(event.actor)); }
    if (event.kind === "proposed") { room.proposalTexts.set(data.proposal, data.text); }
    if (event.kind === "agenda_added") { room.agendaTitles.set(data.item, data.title); }
    const live = event.seq > room.stateSeq && room.state !== null;
    if (live) {
      change(room.state, event);
      const at = Date.parse(event.at);
      if (!Number.isNaN(at)) { room.skew = at - Date.now(); }
    }
    addLine(event);
    return confirm(event) || live;
  }

  function change(state, event) {
    const data = event.data || {};
    const actor = participant(event.actor);
    switch (event.kind) {
      case "joined":
        if (actor) {
          actor.present = true;
        } else {
          state.participants.push({ id: event.actor, name: data.name, role: data.role, present: true, priority: false, hand_raised: false });
        }
        break;
      case "left":
        if (actor) { actor.present = false; }
        break;
      case "hand_raised":
        if (actor) { actor.hand_raised = true; }
        if (!state.queue.includes(event.actor)) {
          state.queue.push(event.actor);
          room.raisedRank.set(event.actor, event.seq);
        }
        sortQueue(state);
        break;
      case "hand_lowered":
        if (actor) { actor.hand_raised = false; }
        state.queue = state.queue.filter((id) => id !== event.actor);
        break;
      case "floor_given": {
        state.floor = data.participant === undefined ? null : data.participant;
        state.floorUntil = data.until || null;
        const holder = participant(state.floor);
        if (holder) { holder.hand_raised = false; }
        state.queue = state.queue.filter((id) => id !== state.floor);
        break;
      }
      case "proposed":
        if (!state.proposals.some((p) => p.id === data.proposal)) {
          state.proposals.push({ id: data.proposal, text: data.text, term_kind: data.term_kind, responses: {} });
        }
        break;
      case "responded": {
        const proposal = state.proposals.find((p) => p.id === data.proposal);
        if (proposal) { proposal.responses[String(event.actor)] = data.stance; }
        break;
      }
      case "proposal_decided":
        state.proposals = state.proposals.filter((p) => p.id !== data.proposal);
        break;
      case "started":
        state.status = "live";
        break;
      case "ended":
        state.status = "ended";
        state.floor = null;
        state.floorUntil = null;
        state.queue = [];
        for (const p of state.participants) { p.hand_raised = false; }
        break;
      case "mode_set":
        if ("floor_only" in data) { state.floorOnly = Boolean(data.floor_only); }
        if ("priority_first" in data) { state.priorityFirst = Boolean(data.priority_first); sortQueue(state); }
        if ("turn_seconds" in data) { state.turnSeconds = data.turn_seconds; }
        break;
      case "agenda_added":
        if (!state.agenda.some((item) => item.id === data.item)) {
          state.agenda.push({ id: data.item, position: data.position, title: data.title, done: false });
          state.agenda.sort((a, b) => a.position - b.position);
        }
        break;
      case "agenda_done": {
        const item = state.agenda.find((entry) => entry.id === data.item);
        if (item) { item.done = true; }
        break;
      }
      default:
        break;
    }
  }

  /** First come, first served; victims and women first when the facilitator asks for it (as the server). */
  function sortQueue(state) {
    const rank = (id) => (room.raisedRank.has(id) ? room.raisedRank.get(id) : Number.MAX_SAFE_INTEGER);
    const priority = (id) => (participant(id) && participant(id).priority ? 1 : 0);
    state.queue.sort((a, b) => (state.priorityFirst ? priority(b) - priority(a) : 0) || rank(a) - rank(b));
  }

  /** Its own event came back: the words are sent. */
  function confirm(event) {
    if (!event.client_id || event.actor !== room.me) { return false; }
    const item = room.outbox.get(event.client_id);
    if (!item) { return false; }
    room.outbox.delete(event.client_id);
    dropPending(item);
    return true;
  }

  function dropPending(item) {
    const list = item.pending.parentElement;
    item.pending.remove();
    if (list) { delete list.dataset.signature; } // Drawn again, with its "nothing yet" line if now empty.
  }

  // --- The transcript ------------------------------------------------------------------------------------------

  function describe(event) {
    const data = event.data || {};
    const name = nameOf(event.actor);
    switch (event.kind) {
      case "joined": return t("ev_joined", { name: data.name || name });
      case "left": return t("ev_left", { name });
      case "hand_raised": return t("ev_hand_raised", { name });
      case "hand_lowered": return t("ev_hand_lowered", { name });
      case "floor_given": return data.participant ? t("ev_floor_given", { name: nameOf(data.participant) }) : t("ev_floor_taken");
      case "proposed": return t("ev_proposed", { text: data.text });
      case "responded":
        return STANCES.includes(data.stance) ? t(`ev_${data.stance}`, { name }) : t("ev_other", { kind: event.kind });
      case "proposal_decided": {
        const outcome = data.outcome === "accepted" ? t(data.term_error ? "accepted_not_added" : "accepted") : t("blocked");
        const text = room.proposalTexts.get(data.proposal);
        return text ? `${outcome} — ${text}` : outcome;
      }
      case "started": return t("ev_started");
      case "ended": return t("ev_ended");
      case "mode_set": return t("ev_mode_set");
      case "agenda_added": return t("ev_agenda_added", { title: data.title });
      case "agenda_done": return t("ev_agenda_done", { title: room.agendaTitles.get(data.item) || "" });
      default: return t("ev_other", { kind: event.kind });
    }
  }

  function addLine(event) {
    const list = byId("transcript");
    if (!list) { return; }
    const said = event.kind === "said";
    const classes = ["transcript-line", `kind-${event.kind}`];
    if (!said && !["proposed", "proposal_decided"].includes(event.kind)) { classes.push("muted"); }
    if (event.kind === "proposal_decided") { classes.push(`outcome-${event.data && event.data.outcome}`); }
    if (said && event.actor === room.me) { classes.push("mine"); }
    const line = h(
      "li",
      { class: classes.join(" "), "data-seq": event.seq, "data-kind": event.kind, "data-actor": event.actor },
      h("time", { datetime: event.at }, clock(event.at)),
      said ? h("span", { class: "who" }, nameOf(event.actor)) : null,
      h("span", { class: "body", dir: said ? "auto" : null }, said ? (event.data && event.data.body) || "" : describe(event)),
    );
    // Confirmed lines go above the ones still waiting to be sent.
    list.insertBefore(line, list.querySelector(":scope > .pending"));
    keepScrolled(list);
  }

  function keepScrolled(list) {
    // Follow the conversation when the reader is at its end; leave them where they are when reading back.
    if (list.scrollHeight - list.scrollTop - list.clientHeight < 120) { list.scrollTop = list.scrollHeight; }
  }

  // --- Drawing the room ---------------------------------------------------------------------------------------------

  function render() {
    if (!room.state) { return; }
    renderStatus();
    renderFloor();
    renderQueue();
    renderParticipants();
    renderProposals();
    renderAgenda();
    renderSettings();
    renderSpeaking();
  }

  function renderStatus() {
    const status = room.state.status;
    root.dataset.status = status;
    const element = byId("session-status");
    if (element) {
      element.dataset.status = status;
      element.textContent = t(`status_${status}`);
    }
    const start = byId("start-form");
    const end = byId("end-form");
    if (start) { start.hidden = status !== "scheduled"; }
    if (end) { end.hidden = status !== "live"; }
  }

  function renderFloor() {
    const { floor } = room.state;
    const line = byId("floor");
    if (line) {
      if (floor === null || floor === undefined) {
        line.textContent = t("nobody_has_floor");
      } else if (floor === room.me) {
        line.textContent = t("you_have_the_floor");
      } else {
        line.textContent = t("has_the_floor", { name: nameOf(floor) });
      }
      line.dataset.participant = floor === null || floor === undefined ? "" : String(floor);
    }
    const take = byId("take-floor");
    if (take) { take.hidden = floor === null || floor === undefined || room.state.status !== "live"; }
    tick();
  }

  function tick() {
    const countdown = byId("floor-countdown");
    if (!countdown || !room.state) { return; }
    clearTimeout(room.timers.countdown);
    const until = room.state.floorUntil ? Date.parse(room.state.floorUntil) : NaN;
    if (room.state.floor === null || Number.isNaN(until)) {
      countdown.hidden = true;
      return;
    }
    const left = Math.ceil((until - room.skew - Date.now()) / 1000);
    countdown.hidden = false;
    if (left <= 0) {
      countdown.textContent = t("time_up");
      countdown.dataset.over = "true";
      return;
    }
    const minutes = Math.floor(left / 60);
    countdown.textContent = t("time_left", { time: `${minutes}:${String(left % 60).padStart(2, "0")}` });
    delete countdown.dataset.over;
    room.timers.countdown = setTimeout(tick, 1000 - (Date.now() % 1000) + 5);
  }

  function giveButton(id) {
    if (!isFacilitator || room.state.status !== "live" || room.state.floor === id || id === room.me) { return null; }
    return h("button", { type: "button", class: "small-button", "data-give": id }, t("give_floor"));
  }

  function renderQueue() {
    const { queue, status, floor } = room.state;
    const signature = JSON.stringify([queue, queue.map(nameOf), status, floor, room.me]);
    fill(byId("queue"), signature, () => {
      if (!queue.length) { return [h("li", { class: "muted empty-line" }, t("queue_empty"))]; }
      return queue.map((id) => h(
        "li",
        { class: "queue-item", "data-participant": id },
        h("span", { class: "name" }, nameOf(id), id === room.me ? ` ${t("you")}` : ""),
        giveButton(id),
      ));
    });
  }

  function renderParticipants() {
    const { participants, status, floor } = room.state;
    const signature = JSON.stringify([participants, status, floor, room.me]);
    fill(byId("participants"), signature, () => participants
      .slice()
      .sort((a, b) => Number(b.present) - Number(a.present))
      .map((p) => h(
        "li",
        { class: `participant ${p.present ? "present" : "away"}`, "data-participant": p.id, "data-present": String(p.present) },
        h("span", { class: "name" }, p.name, p.id === room.me ? ` ${t("you")}` : ""),
        h("span", { class: "tag role" }, t(`role_${p.role}`)),
        h("span", { class: "presence" }, p.present ? t("present") : t("away")),
        p.hand_raised ? h("span", { class: "tag hand" }, t("hand_raised")) : null,
        isFacilitator && p.priority ? h("span", { class: "tag priority" }, t("priority")) : null,
        p.present ? giveButton(p.id) : null,
      )));
  }

  function renderProposals() {
    const { proposals, status } = room.state;
    const voting = iVote() && status === "live";
    const signature = JSON.stringify([proposals, voting, room.me, proposals.map((p) => Object.keys(p.responses).map(Number).map(nameOf))]);
    const list = byId("proposals");
    if (!list || list.dataset.signature === signature) { return; }
    list.dataset.signature = signature;
    const pending = Array.from(list.querySelectorAll(":scope > .pending"));
    const items = proposals.map((p) => {
      const counts = { agree: 0, stand_aside: 0, block: 0 };
      for (const stance of Object.values(p.responses)) { if (stance in counts) { counts[stance] += 1; } }
      const mine = p.responses[String(room.me)];
      return h(
        "li",
        { class: "proposal", "data-proposal": p.id },
        h("p", { class: "proposal-text" }, h("span", { class: "tag kind" }, t(`kind_${p.term_kind}`)), " ", h("span", { dir: "auto" }, p.text)),
        h("p", { class: "tally muted small" }, t("tally", counts)),
        Object.keys(p.responses).length
          ? h("ul", { class: "stances" }, ...Object.entries(p.responses).map(([id, stance]) => h(
            "li", { "data-participant": id, "data-stance": stance }, `${nameOf(Number(id))}: ${t(stance)}`,
          )))
          : null,
        voting
          ? h("div", { class: "stance-buttons" }, ...STANCES.map((stance) => h(
            "button",
            { type: "button", class: `stance stance-${stance}`, "data-respond": p.id, "data-stance": stance, "aria-pressed": String(mine === stance) },
            t(stance),
          )))
          : null,
      );
    });
    if (!items.length && !pending.length) { items.push(h("li", { class: "muted empty-line" }, t("no_proposals"))); }
    if (proposals.length && !iVote()) { items.push(h("li", { class: "muted small observer-note" }, t("observers_do_not_vote"))); }
    list.replaceChildren(...items, ...pending);
  }

  function renderAgenda() {
    const { agenda, status } = room.state;
    const list = byId("agenda");
    const signature = JSON.stringify([agenda, status]);
    if (!list || list.dataset.signature === signature) { return; }
    list.dataset.signature = signature;
    const pending = Array.from(list.querySelectorAll(":scope > .pending"));
    const items = agenda.map((item) => h(
      "li",
      { class: `agenda-item${item.done ? " done" : ""}`, "data-item": item.id },
      h("span", { class: "title" }, item.title),
      item.done ? h("span", { class: "tag done-tag" }, t("done")) : null,
      isFacilitator && !item.done && status === "live"
        ? h("button", { type: "button", class: "small-button", "data-agenda-done": item.id }, t("mark_done"))
        : null,
    ));
    if (!items.length && !pending.length) { items.push(h("li", { class: "muted empty-line" }, t("agenda_empty"))); }
    list.replaceChildren(...items, ...pending);
  }

  function renderSettings() {
    if (!isFacilitator) { return; }
    const live = room.state.status === "live";
    const floorOnly = byId("floor-only");
    const priorityFirst = byId("priority-first");
    const turnSeconds = byId("turn-seconds");
    if (floorOnly) { floorOnly.checked = room.state.floorOnly; floorOnly.disabled = !live; }
    if (priorityFirst) { priorityFirst.checked = room.state.priorityFirst; priorityFirst.disabled = !live; }
    if (turnSeconds) {
      turnSeconds.disabled = !live;
      if (document.activeElement !== turnSeconds) {
        turnSeconds.value = room.state.turnSeconds === null || room.state.turnSeconds === undefined ? "" : String(room.state.turnSeconds);
      }
    }
  }

  function renderSpeaking() {
    const { status, floorOnly, floor } = room.state;
    const live = status === "live";
    const me = participant(room.me);
    const raised = Boolean(me && me.hand_raised);
    const raise = byId("raise-hand");
    const lower = byId("lower-hand");
    if (raise) { raise.hidden = raised; raise.disabled = !live; }
    if (lower) { lower.hidden = !raised; lower.disabled = !live; }
    const say = byId("say-button");
    if (say) { say.disabled = !live; }
    const hint = byId("say-hint");
    if (hint) {
      const silenced = live && floorOnly && !isFacilitator && floor !== room.me;
      hint.hidden = !silenced;
      hint.textContent = silenced ? t("only_floor_speaks") : "";
    }
    // Proposals need a live session; the agenda can be drawn up before it starts.
    const propose = byId("propose-button");
    if (propose) { propose.disabled = !live; }
    const agendaButton = byId("agenda-form") && byId("agenda-form").querySelector("button[type=submit]");
    if (agendaButton) { agendaButton.disabled = status === "ended"; }
  }

  // --- What the person does -------------------------------------------------------------------------------------------

  /** Words typed by a person: kept until their own event comes back, shown meanwhile as waiting to send. */
  function post(frame, listId, label) {
    clearError();
    frame.client_id = newClientId();
    const pendingNote = h("span", { class: "pending-note" }, t("waiting_to_send"));
    const pending = listId === "transcript"
      ? h("li", { class: "transcript-line pending mine", "data-client-id": frame.client_id },
        h("span", { class: "who" }, nameOf(room.me)), h("span", { class: "body", dir: "auto" }, label), pendingNote)
      : h("li", { class: "pending", "data-client-id": frame.client_id }, h("span", { class: "body" }, label), " ", pendingNote);
    const list = byId(listId);
    if (list) {
      list.querySelectorAll(":scope > .empty-line").forEach((line) => line.remove());
      list.append(pending);
      if (listId === "transcript") { list.scrollTop = list.scrollHeight; }
    }
    room.outbox.set(frame.client_id, { frame, pending });
    send(frame); // If the connection is down, the reconnect sends it.
  }

  /** A control (hand, floor, answer, setting): only now, on an open connection. */
  function act(frame) {
    clearError();
    if (!send(frame)) {
      showError("offline");
      render(); // A setting switched while offline goes back to what the room says.
    }
  }

  function onSubmit(id, handler) {
    const form = byId(id);
    if (form) {
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        handler(form);
      });
    }
  }

  onSubmit("say-form", () => {
    const field = byId("say-text");
    const body = field.value.trim();
    if (!body) { return; }
    field.value = "";
    post({ type: "say", body }, "transcript", body);
    field.focus();
  });

  onSubmit("propose-form", () => {
    const field = byId("proposal-text");
    const text = field.value.trim();
    if (!text) { return; }
    const kind = byId("proposal-kind");
    field.value = "";
    post({ type: "propose", text, term_kind: kind ? kind.value : "other" }, "proposals", text);
  });

  onSubmit("agenda-form", () => {
    const field = byId("agenda-title-input");
    const title = field.value.trim();
    if (!title) { return; }
    field.value = "";
    post({ type: "agenda_add", title }, "agenda", title);
  });

  // Ctrl/Cmd + Enter says it.
  const sayText = byId("say-text");
  if (sayText) {
    sayText.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        byId("say-form").requestSubmit();
      }
    });
  }

  root.addEventListener("click", (event) => {
    const target = event.target.closest("button");
    if (!target || !root.contains(target)) { return; }
    if (target.id === "raise-hand") {
      act({ type: "raise_hand" });
    } else if (target.id === "lower-hand") {
      act({ type: "lower_hand" });
    } else if (target.id === "take-floor") {
      act({ type: "give_floor", participant: null });
    } else if (target.dataset.give) {
      act({ type: "give_floor", participant: Number(target.dataset.give) });
    } else if (target.dataset.respond) {
      act({ type: "respond", proposal: Number(target.dataset.respond), stance: target.dataset.stance });
    } else if (target.dataset.agendaDone) {
      act({ type: "agenda_done", item: Number(target.dataset.agendaDone) });
    }
  });

  const settings = {
    "floor-only": (input) => ({ floor_only: input.checked }),
    "priority-first": (input) => ({ priority_first: input.checked }),
    "turn-seconds": (input) => ({ turn_seconds: input.value.trim() === "" ? null : Number.parseInt(input.value, 10) }),
  };
  for (const [id, value] of Object.entries(settings)) {
    const input = byId(id);
    if (input) {
      input.addEventListener("change", () => act({ type: "set_mode", ...value(input) }));
    }
  }

  // Back online, or back to the page: do not wait for the backoff.
  const soon = () => {
    if (!room.socket) {
      room.attempt = 0;
      connect();
    }
  };
  window.addEventListener("online", soon);
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") { soon(); } });

  // For tests and for looking at a room from the console.
  window.sulhRoom = {
    get socket() { return room.socket; },
    get lastSeq() { return room.lastSeq; },
    get state() { return room.state; },
    get outbox() { return Array.from(room.outbox.keys()); },
    get participant() { return room.me; },
  };

  connect();
})();
