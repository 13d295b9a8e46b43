/* Drawing the room from its state (state.js) into the page that deliberation/templates/deliberation/room.html
   lays out: the connection line, the status, the floor and its countdown, the queue, who is here, the open
   proposals, the agenda, the facilitator's settings, and the transcript, which only grows (one line per event,
   and the lines still waiting to be sent at its end). Every word comes from t(), the page's translated
   strings. */

import { h } from "../common.js";
import { STANCES, iVote, participant, presenceChanges } from "./state.js";

const byId = (id) => document.getElementById(id);

function clock(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) { return ""; }
  try {
    return date.toLocaleTimeString(document.documentElement.lang || undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  } catch (error) {
    return date.toISOString().slice(11, 16);
  }
}

/** Names as a list in the page's language ("A, B and C"). */
function listOf(names) {
  try {
    return new Intl.ListFormat(document.documentElement.lang || undefined, { type: "conjunction" }).format(names);
  } catch (error) {
    return names.join(", ");
  }
}

/** Replace a list's items only when what they show changed (keeps focus and clicks steady). */
function fill(list, signature, build) {
  if (!list || list.dataset.signature === signature) { return; }
  list.dataset.signature = signature;
  list.replaceChildren(...build());
}

function keepScrolled(list) {
  // Follow the conversation when the reader is at its end; leave them where they are when reading back.
  if (list.scrollHeight - list.scrollTop - list.clientHeight < 120) { list.scrollTop = list.scrollHeight; }
}

export function createView(root, t, isFacilitator) {
  let drawn = null; // The state last drawn (the countdown ticks on it).
  let countdownTimer = null;
  const pendingLines = new Map(); // client_id → its "waiting to send" line.
  // Comings and goings in a row (a reload, a phone changing networks, people arriving) are drawn as one line,
  // {line, actors: Map(participant id → {name, first, last})}; each event keeps its own hidden line.
  let presence = null;

  const sessionId = Number(root.dataset.session);
  /** A room of this joint session by its id: the joint room, or a side's room. */
  const roomName = (state, id) => {
    if (id === (state.session && state.session.joint !== null ? state.session.joint : sessionId)) { return t("joint_room"); }
    const caucus = state.session && state.session.caucuses.find((c) => c.id === id);
    return caucus ? t(`caucus_${caucus.side}`) : t("another_room");
  };
  const roomUrl = (id) => (root.dataset.roomPath || "/sessions/0/").replace(/\/0\/$/, `/${id}/`);

  const nameOf = (state, id) => {
    if (id === null || id === undefined) { return t("someone"); }
    return state.names.get(id) || t("someone");
  };

  // --- The connection and refusals -----------------------------------------------------------------------------

  function setConnection(status) {
    const element = byId("connection");
    if (!element) { return; }
    element.dataset.state = status;
    element.textContent = t({ open: "connected", connecting: "connecting", reconnecting: "reconnecting", closed: "logged_out", revoked: "revoked" }[status]);
  }

  /** A refusal, with what the person may do about it (`action`: {label, hint, reason?, run}: a button under it; with
      `reason`, a line of text for the person to explain, handed to run). */
  function showError(code, detail, action) {
    const element = byId("room-error");
    if (!element) { return; }
    element.dataset.code = code || "error";
    let summary = t(code);
    // A refusal the page has no words of its own for says what the server said (what happened and what to do),
    // not a bare "Something went wrong".
    if (summary === t("error") && code !== "error" && detail) { summary = detail; detail = ""; }
    const children = [h("strong", {}, summary)];
    if (detail && detail !== summary) { children.push(" ", h("span", { class: "detail" }, detail)); }
    if (action) {
      children.push(h("span", { class: "action-hint" }, t(action.hint)));
      let reason = null;
      if (action.reason) {
        reason = h("input", { type: "text", id: "room-error-reason", maxlength: "500", dir: "auto" });
        children.push(h("label", { class: "action-reason", for: "room-error-reason" }, t(action.reason)), reason);
      }
      const button = h("button", { type: "button", class: "secondary", id: "room-error-action" }, t(action.label));
      button.addEventListener("click", () => {
        const said = reason ? reason.value.trim() : "";
        clearError();
        action.run(said);
      });
      children.push(button);
    }
    element.replaceChildren(...children);
    element.hidden = false;
  }

  function clearError() {
    const element = byId("room-error");
    if (element) { element.hidden = true; element.replaceChildren(); delete element.dataset.code; }
  }

  /** Put refused words back where they were typed, unless something new is there. */
  function giveBack(frame) {
    const field = { say: byId("say-text"), propose: byId("proposal-text"), agenda_add: byId("agenda-title-input") }[frame.type];
    const text = frame.body || frame.text || frame.title;
    if (field && text && !field.value.trim()) { field.value = text; }
  }

  // --- Lines waiting to be sent ----------------------------------------------------------------------------------

  /** Words typed by a person, shown as waiting to send in the list where they will appear. */
  function addPending(clientId, listId, label, state) {
    const pendingNote = h("span", { class: "pending-note" }, t("waiting_to_send"));
    const line = listId === "transcript"
      ? h("li", { class: "transcript-line pending mine", "data-client-id": clientId },
        h("span", { class: "who" }, nameOf(state, state.me)), h("span", { class: "body", dir: "auto" }, label), pendingNote)
      : h("li", { class: "pending", "data-client-id": clientId }, h("span", { class: "body" }, label), " ", pendingNote);
    const list = byId(listId);
    if (list) {
      list.querySelectorAll(":scope > .empty-line").forEach((empty) => empty.remove());
      list.append(line);
      if (listId === "transcript") { list.scrollTop = list.scrollHeight; }
    }
    pendingLines.set(clientId, line);
  }

  function dropPending(clientId) {
    const line = pendingLines.get(clientId);
    if (!line) { return; }
    pendingLines.delete(clientId);
    const list = line.parentElement;
    line.remove();
    if (list) { delete list.dataset.signature; } // Drawn again, with its "nothing yet" line if now empty.
  }

  // --- The transcript ---------------------------------------------------------------------------------------------

  function describe(event, state) {
    const data = event.data || {};
    const name = nameOf(state, event.actor);
    switch (event.kind) {
      case "joined": return t("ev_joined", { name: data.name || name });
      case "left": return t("ev_left", { name });
      case "presence": return "";  // Hidden: the presence summary line tells it.
      case "hand_raised": return t("ev_hand_raised", { name });
      case "hand_lowered": return t("ev_hand_lowered", { name });
      case "floor_given": return data.participant ? t("ev_floor_given", { name: nameOf(state, data.participant) }) : t("ev_floor_taken");
      case "proposed": {
        const line = data.carried_from
          ? t("ev_carried_here", { room: roomName(state, data.carried_from.session), text: data.text })
          : t("ev_proposed", { text: data.text });
        if (!data.screening || data.screening.verdict !== "review") { return line; }
        return `${line} — ${t("held_for_review")}${data.screening.refused ? ` ${t("refused_then_held")}` : ""}`;
      }
      case "responded":
        return STANCES.includes(data.stance) ? t(`ev_${data.stance}`, { name }) : t("ev_other", { kind: event.kind });
      case "proposal_decided": {
        let outcome = data.outcome === "accepted" ? t(data.term_error ? "accepted_not_added" : "accepted") : t("blocked");
        if (data.outcome === "accepted" && data.caucus) { outcome = t("accepted_in_caucus"); }
        if (data.outcome === "accepted" && data.screening && data.screening.verdict === "review") {
          outcome = `${outcome} ${t("held_for_review")}`;
        }
        const text = state.proposalTexts.get(data.proposal);
        return text ? `${outcome} — ${text}` : outcome;
      }
      case "screening_reviewed": {
        const text = state.proposalTexts.get(data.proposal) || t("term_n", { n: data.term_position });
        return t(data.decision === "prohibited" ? "ev_screening_prohibited" : "ev_screening_lawful", { text });
      }
      case "caucus_opened": return t("ev_caucus_opened", { room: t(`caucus_${data.side}`) });
      case "caucus_closed": return t("ev_caucus_closed", { room: t(`caucus_${data.side}`) });
      case "carried":
        return t("ev_carried", { room: roomName(state, data.to), text: state.proposalTexts.get(data.proposal) || "" });
      case "started": return t("ev_started");
      case "ended": return t("ev_ended");
      case "mode_set": return t("ev_mode_set");
      case "agenda_added": return t("ev_agenda_added", { title: data.title });
      case "agenda_done": return t("ev_agenda_done", { title: state.agendaTitles.get(data.item) || "" });
      default: return t("ev_other", { kind: event.kind });
    }
  }

  /** One sentence for a run of joined/left events: "X reconnected.", "3 people joined: A, B and C." */
  function presenceText(actors) {
    const joined = [];
    const left = [];
    const others = [];
    for (const { name, first, last } of actors.values()) {
      if (first === last) {
        (last === "joined" ? joined : left).push(name);
      } else {
        others.push(t(first === "left" ? "ev_reconnected" : "ev_joined_and_left", { name }));
      }
    }
    const sentences = [];
    if (joined.length === 1) { sentences.push(t("ev_joined", { name: joined[0] })); }
    if (joined.length > 1) { sentences.push(t("ev_many_joined", { count: joined.length, names: listOf(joined) })); }
    if (left.length === 1) { sentences.push(t("ev_left", { name: left[0] })); }
    if (left.length > 1) { sentences.push(t("ev_many_left", { count: left.length, names: listOf(left) })); }
    return [...sentences, ...others].join(" ");
  }

  function addPresence(list, line, event, state) {
    if (!presence) {
      const summary = h("li", { class: "transcript-line muted presence-summary", "data-presence": "" },
        h("time", { datetime: event.at }, clock(event.at)), h("span", { class: "body" }));
      list.insertBefore(summary, list.querySelector(":scope > .pending"));
      presence = { line: summary, actors: new Map() };
    }
    // A `presence` event tells several people's comings and goings at once: each counts as its own.
    for (const change of presenceChanges(event)) {
      const key = change.actor === null || change.actor === undefined ? `seq-${event.seq}` : change.actor;
      // Isolated (FSI … PDI), so a name in another direction does not reorder the sentence around it.
      const name = `\u2068${(change.kind === "joined" && change.name) || nameOf(state, change.actor)}\u2069`;
      const known = presence.actors.get(key);
      presence.actors.set(key, { name, first: known ? known.first : change.kind, last: change.kind });
    }
    presence.line.querySelector(".body").textContent = presenceText(presence.actors);
    line.hidden = true;
  }

  /** The transcript's line for an event, drawn with the state that includes it. */
  function addLine(event, state) {
    const list = byId("transcript");
    if (!list) { return; }
    const comingOrGoing = event.kind === "joined" || event.kind === "left" || event.kind === "presence";
    if (!comingOrGoing) { presence = null; }
    const said = event.kind === "said";
    const classes = ["transcript-line", `kind-${event.kind}`];
    if (!said && !["proposed", "proposal_decided"].includes(event.kind)) { classes.push("muted"); }
    if (event.kind === "proposal_decided") { classes.push(`outcome-${event.data && event.data.outcome}`); }
    if (said && event.actor === state.me) { classes.push("mine"); }
    const line = h(
      "li",
      { class: classes.join(" "), "data-seq": event.seq, "data-kind": event.kind, "data-actor": event.actor },
      h("time", { datetime: event.at }, clock(event.at)),
      said ? h("span", { class: "who" }, nameOf(state, event.actor)) : null,
      h("span", { class: "body", dir: said ? "auto" : null }, said ? (event.data && event.data.body) || "" : describe(event, state)),
    );
    // Confirmed lines go above the ones still waiting to be sent.
    list.insertBefore(line, list.querySelector(":scope > .pending"));
    if (comingOrGoing) { addPresence(list, line, event, state); }
    keepScrolled(list);
  }

  // --- The room ----------------------------------------------------------------------------------------------------

  function render(state) {
    if (!state.session) { return; }
    drawn = state;
    renderStatus(state);
    renderFloor(state);
    renderQueue(state);
    renderParticipants(state);
    renderProposals(state);
    renderAgenda(state);
    renderSettings(state);
    renderSpeaking(state);
    renderCaucuses(state);
    renderCarry(state);
  }

  // --- Side rooms (shuttle mediation) --------------------------------------------------------------------------------

  /** Whether this page's person may go into a side room: the forum's people (they come with no side) go into every
   *  one, a guest into their own side's only. The server decides (it refuses the others at the door); this only
   *  spares them a link that would not open. */
  function mayEnter(state, caucus) {
    const me = participant(state, state.me);
    if (!me) { return false; }
    if (["facilitator", "member", "monitor"].includes(me.role)) { return true; }
    return Boolean(me.side) && me.side === caucus.side;
  }

  function renderCaucuses(state) {
    const { caucuses, status, joint } = state.session;
    const banner = byId("caucus-over");
    if (banner) { banner.hidden = joint === null || status !== "ended"; }
    const list = byId("caucuses");
    if (!list || joint !== null) { return; }
    const me = participant(state, state.me);
    const signature = JSON.stringify([caucuses, status, me ? [me.role, me.side] : null]);
    fill(list, signature, () => {
      const shown = caucuses.filter((c) => c.status === "live" || isFacilitator);
      if (!shown.length) { return [h("li", { class: "muted empty-line" }, t("no_caucuses"))]; }
      return shown.map((c) => {
        const live = c.status === "live";
        const mine = me && me.side && me.side === c.side;
        return h(
          "li",
          { class: `caucus${live ? "" : " muted"}`, "data-caucus": c.id, "data-side": c.side, "data-status": c.status },
          h("span", { class: "name" }, t(`caucus_${c.side}`)),
          " ",
          h("span", { class: "tag" }, t(live ? "caucus_live" : "caucus_ended")),
          live && mayEnter(state, c)
            ? h("a", { class: "button-link caucus-link", href: roomUrl(c.id) }, t(mine ? "go_to_your_room" : "go_to_room"))
            : null,
          live && isFacilitator && status === "live"
            ? h("button", { type: "button", class: "small-button secondary", "data-close-caucus": c.id }, t("close_caucus"))
            : null,
        );
      });
    });
    for (const button of root.querySelectorAll("[data-open-caucus]")) {
      button.disabled = status !== "live" || caucuses.some((c) => c.side === button.dataset.openCaucus && c.status === "live");
    }
  }

  function renderCarry(state) {
    const form = byId("carry-form");
    if (!form) { return; }
    const { caucuses, joint, status } = state.session;
    const jointId = joint !== null ? joint : sessionId;
    const targets = [
      ...(joint !== null ? [{ id: jointId, label: t("joint_room") }] : []),
      ...caucuses.filter((c) => c.status === "live" && c.id !== sessionId).map((c) => ({ id: c.id, label: t(`caucus_${c.side}`) })),
    ];
    const proposals = Array.from(state.proposalTexts.entries());
    const fillSelect = (select, options) => {
      if (!select) { return; }
      const signature = JSON.stringify(options);
      if (select.dataset.signature === signature) { return; }
      const chosen = select.value;
      select.dataset.signature = signature;
      select.replaceChildren(...options.map(([value, label]) => h("option", { value }, label)));
      if (options.some(([value]) => String(value) === chosen)) { select.value = chosen; }
    };
    fillSelect(byId("carry-proposal"), proposals.map(([id, text]) => [id, text]));
    fillSelect(byId("carry-to"), targets.map((target) => [target.id, target.label]));
    const card = byId("carry-card");
    if (card) { card.hidden = !targets.length; }
    const button = byId("carry-button");
    if (button) { button.disabled = status !== "live" || !targets.length || !proposals.length; }
  }

  function renderStatus(state) {
    const { status } = state.session;
    root.dataset.status = status;
    const element = byId("session-status");
    if (element) {
      element.dataset.status = status;
      element.textContent = t(`status_${status}`);
    }
    const waiting = byId("waiting");
    if (waiting) { waiting.hidden = status !== "scheduled"; }
    const start = byId("start-form");
    const end = byId("end-form");
    if (start) { start.hidden = status !== "scheduled"; }
    if (end) { end.hidden = status !== "live"; }
  }

  function renderFloor(state) {
    const { floor } = state.session;
    const line = byId("floor");
    if (line) {
      if (floor === null || floor === undefined) {
        line.textContent = t("nobody_has_floor");
      } else if (floor === state.me) {
        line.textContent = t("you_have_the_floor");
      } else {
        line.textContent = t("has_the_floor", { name: nameOf(state, floor) });
      }
      line.dataset.participant = floor === null || floor === undefined ? "" : String(floor);
    }
    const take = byId("take-floor");
    if (take) { take.hidden = floor === null || floor === undefined || state.session.status !== "live"; }
    tick();
  }

  function tick() {
    const countdown = byId("floor-countdown");
    if (!countdown || !drawn) { return; }
    clearTimeout(countdownTimer);
    const { session, skew } = drawn;
    const until = session.floorUntil ? Date.parse(session.floorUntil) : NaN;
    if (session.floor === null || Number.isNaN(until)) {
      countdown.hidden = true;
      return;
    }
    const left = Math.ceil((until - skew - Date.now()) / 1000);
    countdown.hidden = false;
    if (left <= 0) {
      countdown.textContent = t("time_up");
      countdown.dataset.over = "true";
      return;
    }
    const minutes = Math.floor(left / 60);
    countdown.textContent = t("time_left", { time: `${minutes}:${String(left % 60).padStart(2, "0")}` });
    delete countdown.dataset.over;
    countdownTimer = setTimeout(tick, 1000 - (Date.now() % 1000) + 5);
  }

  function giveButton(state, id) {
    if (!isFacilitator || state.session.status !== "live" || state.session.floor === id || id === state.me) { return null; }
    return h("button", { type: "button", class: "small-button", "data-give": id }, t("give_floor"));
  }

  function renderQueue(state) {
    const { queue, status, floor } = state.session;
    const signature = JSON.stringify([queue, queue.map((id) => nameOf(state, id)), status, floor, state.me]);
    fill(byId("queue"), signature, () => {
      if (!queue.length) { return [h("li", { class: "muted empty-line" }, t("queue_empty"))]; }
      return queue.map((id) => h(
        "li",
        { class: "queue-item", "data-participant": id },
        h("span", { class: "name" }, nameOf(state, id), id === state.me ? ` ${t("you")}` : ""),
        giveButton(state, id),
      ));
    });
  }

  function renderParticipants(state) {
    const { participants, status, floor } = state.session;
    const signature = JSON.stringify([participants, status, floor, state.me]);
    fill(byId("participants"), signature, () => participants
      .slice()
      .sort((a, b) => Number(b.present) - Number(a.present))
      .map((p) => h(
        "li",
        { class: `participant ${p.present ? "present" : "away"}`, "data-participant": p.id, "data-present": String(p.present) },
        h("span", { class: "name" }, p.name, p.id === state.me ? ` ${t("you")}` : ""),
        h("span", { class: "tag role" }, t(`role_${p.role}`)),
        h("span", { class: "presence" }, p.present ? t("present") : t("away")),
        p.hand_raised ? h("span", { class: "tag hand" }, t("hand_raised")) : null,
        isFacilitator && p.priority ? h("span", { class: "tag priority" }, t("priority")) : null,
        p.present ? giveButton(state, p.id) : null,
      )));
  }

  function renderProposals(state) {
    const { proposals, status } = state.session;
    const voting = iVote(state) && status === "live";
    const voters = proposals.map((p) => Object.keys(p.responses).map(Number).map((id) => nameOf(state, id)));
    const signature = JSON.stringify([proposals, voting, state.me, voters]);
    const list = byId("proposals");
    if (!list || list.dataset.signature === signature) { return; }
    list.dataset.signature = signature;
    const pending = Array.from(list.querySelectorAll(":scope > .pending"));
    const items = proposals.map((p) => {
      const counts = { agree: 0, stand_aside: 0, block: 0 };
      for (const stance of Object.values(p.responses)) { if (stance in counts) { counts[stance] += 1; } }
      const mine = p.responses[String(state.me)];
      return h(
        "li",
        { class: "proposal", "data-proposal": p.id },
        h("p", { class: "proposal-text" }, h("span", { class: "tag kind" }, t(`kind_${p.term_kind}`)), " ", h("span", { dir: "auto" }, p.text)),
        h("p", { class: "tally muted small" }, t("tally", counts)),
        Object.keys(p.responses).length
          ? h("ul", { class: "stances" }, ...Object.entries(p.responses).map(([id, stance]) => h(
            "li", { "data-participant": id, "data-stance": stance }, t(`stance_${stance}`, { name: nameOf(state, Number(id)) }),
          )))
          : null,
        voting
          ? h("div", { class: "stance-buttons" }, ...STANCES.map((stance) => h(
            "button",
            { type: "button", class: `stance stance-${stance}`, "data-respond": p.id, "data-stance": stance, "aria-pressed": String(mine === stance), title: t(`term_${stance}`) },
            h("span", { class: "stance-words" }, t(stance)),
            h("small", { class: "stance-term" }, t(`term_${stance}`)),
          )))
          : null,
      );
    });
    if (!items.length && !pending.length) { items.push(h("li", { class: "muted empty-line" }, t("no_proposals"))); }
    if (proposals.length && !iVote(state)) { items.push(h("li", { class: "muted small observer-note" }, t("observers_do_not_vote"))); }
    list.replaceChildren(...items, ...pending);
  }

  function renderAgenda(state) {
    const { agenda, status } = state.session;
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

  function renderSettings(state) {
    if (!isFacilitator) { return; }
    const { session } = state;
    const live = session.status === "live";
    const floorOnly = byId("floor-only");
    const priorityFirst = byId("priority-first");
    const turnSeconds = byId("turn-seconds");
    if (floorOnly) { floorOnly.checked = session.floorOnly; floorOnly.disabled = !live; }
    if (priorityFirst) { priorityFirst.checked = session.priorityFirst; priorityFirst.disabled = !live; }
    if (turnSeconds) {
      turnSeconds.disabled = !live;
      if (document.activeElement !== turnSeconds) {
        turnSeconds.value = session.turnSeconds === null || session.turnSeconds === undefined ? "" : String(session.turnSeconds);
      }
    }
  }

  function renderSpeaking(state) {
    const { status, floorOnly, floor } = state.session;
    const live = status === "live";
    const me = participant(state, state.me);
    const raised = Boolean(me && me.hand_raised);
    const raise = byId("raise-hand");
    const lower = byId("lower-hand");
    if (raise) { raise.hidden = raised; raise.disabled = !live; }
    if (lower) { lower.hidden = !raised; lower.disabled = !live; }
    const say = byId("say-button");
    if (say) { say.disabled = !live; }
    const hint = byId("say-hint");
    if (hint) {
      const silenced = live && floorOnly && !isFacilitator && floor !== state.me;
      hint.hidden = !silenced;
      hint.textContent = silenced ? t("only_floor_speaks") : "";
    }
    // Proposals need a live session; the agenda can be drawn up before it starts.
    const propose = byId("propose-button");
    if (propose) { propose.disabled = !live; }
    const agendaButton = byId("agenda-form") && byId("agenda-form").querySelector("button[type=submit]");
    if (agendaButton) { agendaButton.disabled = status === "ended"; }
  }

  return { setConnection, showError, clearError, giveBack, addPending, dropPending, addLine, render };
}
