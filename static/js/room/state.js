/* What the room knows: a reducer, `reduce(state, frame, now)`, a pure function from the state and one server
   frame (shared/CONTRACT.md section 5) to the next state. It never changes the state it is given: whatever
   changes is copied, so `next.session !== state.session` says that the room has something new to show.

   The connection (connection.js) hands frames over in seq order, each event once; the state only has to tell
   the replay (events up to the welcome's last_seq, already part of the welcome's state, which only add a line
   to the transcript) from the live events that change the room. */

export const STANCES = ["agree", "stand_aside", "block"];

export function initialState() {
  return {
    me: null, // The participant id of this page's person (the welcome says it).
    stateSeq: 0, // The welcome's last_seq: its state already includes the events up to it.
    session: null, // {status, floor, floorUntil, queue, proposals, participants, agenda, floorOnly, priorityFirst, turnSeconds}
    names: new Map(), // participant id → name, kept across reconnects for the transcript.
    proposalTexts: new Map(),
    agendaTitles: new Map(),
    raisedRank: new Map(), // participant id → order of raising the hand (for the queue's order).
    skew: 0, // Server clock minus ours, in ms, from the events' times.
  };
}

/** The next state after one server frame; `now` is the page's clock (Date.now()) when it arrived. */
export function reduce(state, frame, now) {
  if (!frame || typeof frame !== "object") { return state; }
  if (frame.type === "welcome") { return welcomed(state, frame); }
  if (frame.type === "event" && typeof frame.seq === "number") { return applied(state, frame, now); }
  return state;
}

// --- Reading the state ------------------------------------------------------------------------------------------

export function participant(state, id) {
  return state.session ? state.session.participants.find((p) => p.id === id) : undefined;
}

export function myRole(state) {
  const me = participant(state, state.me);
  return me ? me.role : null;
}

/** Whether this page's person takes part in consensus checks (the facilitator and monitors do not). */
export function iVote(state) {
  const role = myRole(state);
  return role !== null && role !== "facilitator" && role !== "monitor";
}

/** The side rooms as the server lists them now (GET /api/sessions/{id}/caucuses/): a side room hears of its
 *  siblings only at its welcome, so the facilitator's page asks again before carrying. */
export function withCaucuses(state, list) {
  if (!state.session || !Array.isArray(list)) { return state; }
  const caucuses = list.map((c) => ({ id: c.id, side: c.side, status: c.status }));
  return { ...state, session: { ...state.session, caucuses } };
}

// --- The welcome --------------------------------------------------------------------------------------------------

function welcomed(state, frame) {
  const given = frame.state || {};
  const session = {
    status: given.status,
    floor: given.floor,
    floorUntil: given.floor_until,
    queue: Array.isArray(given.queue) ? given.queue.slice() : [],
    proposals: (given.open_proposals || []).map((p) => ({ ...p, responses: { ...(p.responses || {}) } })),
    participants: (given.participants || []).map((p) => ({ ...p })),
    agenda: (given.agenda || []).map((item) => ({ ...item })),
    floorOnly: Boolean(given.floor_only),
    priorityFirst: Boolean(given.priority_first),
    turnSeconds: given.turn_seconds === undefined ? null : given.turn_seconds,
    // Shuttle mediation: the joint session of a side room (null in the joint room), its side, and the joint
    // session's side rooms [{id, side, status}].
    joint: given.joint === undefined ? null : given.joint,
    side: given.side || "",
    caucuses: (given.caucuses || []).map((c) => ({ id: c.id, side: c.side, status: c.status })),
  };
  const names = new Map(state.names);
  for (const p of session.participants) { names.set(p.id, p.name); }
  const proposalTexts = new Map(state.proposalTexts);
  for (const p of session.proposals) { proposalTexts.set(p.id, p.text); }
  const agendaTitles = new Map(state.agendaTitles);
  for (const item of session.agenda) { agendaTitles.set(item.id, item.title); }
  return {
    ...state,
    me: frame.participant,
    stateSeq: frame.last_seq,
    session,
    names,
    proposalTexts,
    agendaTitles,
    raisedRank: new Map(session.queue.map((id, index) => [id, index - 1e9])),
  };
}

// --- An event -------------------------------------------------------------------------------------------------------

function withEntry(map, key, value) {
  return new Map(map).set(key, value);
}

/** The comings and goings an event tells: a `joined` or `left` event one, a `presence` event (several people's
 *  presence announced together when many come or go at once) each of its own, as {kind, actor, name, role}. */
export function presenceChanges(event) {
  const data = event.data || {};
  if (event.kind === "joined" || event.kind === "left") {
    return [{ kind: event.kind, actor: event.actor, name: data.name, role: data.role }];
  }
  if (event.kind !== "presence") { return []; }
  const joined = Array.isArray(data.joined) ? data.joined : [];
  const left = Array.isArray(data.left) ? data.left : [];
  return [
    ...joined.map((p) => ({ kind: "joined", actor: p.participant, name: p.name, role: p.role })),
    ...left.map((id) => ({ kind: "left", actor: id })),
  ];
}

function applied(state, event, now) {
  const data = event.data || {};
  const next = { ...state };
  for (const change of presenceChanges(event)) {
    const name = change.kind === "joined" && change.actor !== null && (change.name || next.names.get(change.actor));
    if (name) { next.names = withEntry(next.names, change.actor, name); }
  }
  if (event.kind === "proposed") { next.proposalTexts = withEntry(state.proposalTexts, data.proposal, data.text); }
  if (event.kind === "agenda_added") { next.agendaTitles = withEntry(state.agendaTitles, data.item, data.title); }
  // A replayed event is in the welcome's state already: only its line is new.
  if (event.seq > state.stateSeq && state.session !== null) {
    const { session, raisedRank } = changed(state.session, state.raisedRank, event);
    next.session = session;
    next.raisedRank = raisedRank;
    const at = Date.parse(event.at);
    if (!Number.isNaN(at)) { next.skew = at - now; }
  }
  return next;
}

/** The session after a live event: always a new object (a live event redraws the room), sharing what is unchanged. */
function changed(before, raisedRank, event) {
  const data = event.data || {};
  const session = { ...before };
  let rank = raisedRank;
  const actorIndex = session.participants.findIndex((p) => p.id === event.actor);
  const changeParticipant = (index, fields) => {
    if (index >= 0) { session.participants = session.participants.map((p, i) => (i === index ? { ...p, ...fields } : p)); }
  };
  switch (event.kind) {
    case "joined":
    case "left":
    case "presence":
      for (const change of presenceChanges(event)) {
        const index = session.participants.findIndex((p) => p.id === change.actor);
        if (change.kind === "left") {
          changeParticipant(index, { present: false });
        } else if (index >= 0) {
          changeParticipant(index, { present: true });
        } else {
          session.participants = [
            ...session.participants,
            { id: change.actor, name: change.name, role: change.role, present: true, priority: false, hand_raised: false },
          ];
        }
      }
      break;
    case "hand_raised":
      changeParticipant(actorIndex, { hand_raised: true });
      if (!session.queue.includes(event.actor)) {
        session.queue = [...session.queue, event.actor];
        rank = withEntry(rank, event.actor, event.seq);
      }
      session.queue = sortedQueue(session, rank);
      break;
    case "hand_lowered":
      changeParticipant(actorIndex, { hand_raised: false });
      session.queue = session.queue.filter((id) => id !== event.actor);
      break;
    case "floor_given":
      session.floor = data.participant === undefined ? null : data.participant;
      session.floorUntil = data.until || null;
      changeParticipant(session.participants.findIndex((p) => p.id === session.floor), { hand_raised: false });
      session.queue = session.queue.filter((id) => id !== session.floor);
      break;
    case "proposed":
      if (!session.proposals.some((p) => p.id === data.proposal)) {
        session.proposals = [...session.proposals, { id: data.proposal, text: data.text, term_kind: data.term_kind, responses: {} }];
      }
      break;
    case "responded": {
      const index = session.proposals.findIndex((p) => p.id === data.proposal);
      if (index >= 0) {
        session.proposals = session.proposals.map((p, i) => (
          i === index ? { ...p, responses: { ...p.responses, [String(event.actor)]: data.stance } } : p
        ));
      }
      break;
    }
    case "proposal_decided":
      session.proposals = session.proposals.filter((p) => p.id !== data.proposal);
      break;
    case "started":
      session.status = "live";
      break;
    case "ended":
      session.status = "ended";
      session.floor = null;
      session.floorUntil = null;
      session.queue = [];
      session.participants = session.participants.map((p) => ({ ...p, hand_raised: false }));
      break;
    case "mode_set":
      if ("floor_only" in data) { session.floorOnly = Boolean(data.floor_only); }
      if ("priority_first" in data) {
        session.priorityFirst = Boolean(data.priority_first);
        session.queue = sortedQueue(session, rank);
      }
      if ("turn_seconds" in data) { session.turnSeconds = data.turn_seconds; }
      break;
    case "agenda_added":
      if (!session.agenda.some((item) => item.id === data.item)) {
        session.agenda = [...session.agenda, { id: data.item, position: data.position, title: data.title, done: false }]
          .sort((a, b) => a.position - b.position);
      }
      break;
    case "caucus_opened":
      if (!session.caucuses.some((c) => c.id === data.caucus)) {
        session.caucuses = [...session.caucuses, { id: data.caucus, side: data.side, status: "live" }];
      }
      break;
    case "caucus_closed":
      session.caucuses = session.caucuses.map((c) => (c.id === data.caucus ? { ...c, status: "ended" } : c));
      break;
    case "agenda_done": {
      const index = session.agenda.findIndex((item) => item.id === data.item);
      if (index >= 0) { session.agenda = session.agenda.map((item, i) => (i === index ? { ...item, done: true } : item)); }
      break;
    }
    default:
      break;
  }
  return { session, raisedRank: rank };
}

/** First come, first served; victims and women first when the facilitator asks for it (as the server). */
function sortedQueue(session, rank) {
  const rankOf = (id) => (rank.has(id) ? rank.get(id) : Number.MAX_SAFE_INTEGER);
  const priority = (id) => {
    const p = session.participants.find((entry) => entry.id === id);
    return p && p.priority ? 1 : 0;
  };
  return session.queue.slice().sort((a, b) => (session.priorityFirst ? priority(b) - priority(a) : 0) || rankOf(a) - rankOf(b));
}
