/* The live room of a dialogue session (deliberation/templates/deliberation/room.html): the connection
   (connection.js) hands over the server's frames in seq order, the reducer (state.js) turns each into the next
   state, and the view (render.js) draws it; this module wires them to each other and to what the person does.
   Every word on the page comes from the page (the room-strings JSON, translated by Django). */

import { fetchWithCsrf, newClientId, readStrings, translator } from "../common.js";
import { createConnection } from "./connection.js";
import { createView } from "./render.js";
import { initialState, reduce, withCaucuses } from "./state.js";

const root = document.getElementById("room");
const strings = readStrings("room-strings");
if (root && strings) { openRoom(root, strings); }

function openRoom(root, strings) {
  const byId = (id) => document.getElementById(id);
  const isFacilitator = root.dataset.facilitator === "true";
  const view = createView(root, translator(strings, "error"), isFacilitator);
  let state = initialState();

  const connection = createConnection(root.dataset.wsPath, {
    status: view.setConnection,
    welcome(frame) {
      state = reduce(state, frame, Date.now());
      view.render(state);
    },
    events(batch) {
      let changed = false;
      for (const { event, sent } of batch) {
        const before = state;
        state = reduce(state, event, Date.now());
        view.addLine(event, state);
        if (sent) { view.dropPending(event.client_id); }
        // A replayed event is in the welcome's state already: only its line is new.
        // A replayed proposal changes nothing in the room but the facilitator's list of proposals to carry.
        changed = changed || sent || state.session !== before.session || state.proposalTexts !== before.proposalTexts;
      }
      if (changed) { view.render(state); }
    },
    sent: view.dropPending,
    refused(error, frame) {
      if (frame) {
        view.dropPending(frame.client_id);
        view.giveBack(frame);
      }
      view.showError(error.code, error.detail, askReviewer(error, frame));
      view.render(state); // Settings changed optimistically by a control go back to what the room says.
    },
  });

  // --- What the person does ---------------------------------------------------------------------------------------

  /** A proposal the screening refused may go to a legal reviewer instead, when the refusal says so: the same words
      sent again with ask_review, held in the draft until the reviewer decides. */
  function askReviewer(error, frame) {
    if (error.code !== "prohibited_term" || error.may_ask_review !== true || !frame || frame.type !== "propose") {
      return undefined;
    }
    return {
      label: "ask_review",
      hint: "ask_review_hint",
      reason: "ask_review_reason",
      run(reason) {
        const field = byId("proposal-text");
        if (field && field.value.trim() === frame.text) { field.value = ""; }
        const again = { type: "propose", text: frame.text, term_kind: frame.term_kind, ask_review: true };
        if (reason) { again.ask_review_reason = reason; }
        post(again, "proposals", frame.text);
      },
    };
  }

  /** Words typed by a person: kept until their own event comes back, shown meanwhile as waiting to send. */
  function post(frame, listId, label) {
    view.clearError();
    frame.client_id = newClientId();
    view.addPending(frame.client_id, listId, label, state);
    connection.post(frame);
  }

  /** A control (hand, floor, answer, setting): only now, on an open connection. */
  function act(frame) {
    view.clearError();
    if (!connection.send(frame)) {
      view.showError("offline");
      view.render(state); // A setting switched while offline goes back to what the room says.
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

  // Shuttle mediation: the facilitator carries a proposal of this room to another room of the joint session.
  onSubmit("carry-form", () => {
    const proposal = Number(byId("carry-proposal").value);
    const to = Number(byId("carry-to").value);
    if (!proposal || !to) { return; }
    view.clearError();
    connection.post({ type: "carry", proposal, to, client_id: newClientId() });
  });

  // A side room hears of the others only at its welcome: the facilitator's list of rooms to carry to is asked
  // for again when they go to choose.
  const carryTo = byId("carry-to");
  if (carryTo) {
    carryTo.addEventListener("focus", async () => {
      try {
        const response = await fetchWithCsrf(root.dataset.caucusesUrl);
        if (response.ok) {
          state = withCaucuses(state, await response.json());
          view.render(state);
        }
      } catch (error) { /* Offline: the rooms known so far stay. */ }
    });
  }

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
    } else if (target.dataset.openCaucus) {
      act({ type: "open_caucus", side: target.dataset.openCaucus });
    } else if (target.dataset.closeCaucus) {
      act({ type: "close_caucus", caucus: Number(target.dataset.closeCaucus) });
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
  window.addEventListener("online", connection.wake);
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") { connection.wake(); } });

  // For tests and for looking at a room from the console.
  window.sulhRoom = {
    get socket() { return connection.socket; },
    get lastSeq() { return connection.lastSeq; },
    get state() { return state.session; },
    get outbox() { return connection.outbox; },
    get participant() { return state.me; },
  };

  connection.start();
}
