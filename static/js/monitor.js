/* The monitor's "Checks due" page, for phones that are often offline (an ES module).

   Without this script each term's form posts to the server and comes back (post/redirect/get). With it, a
   check goes first into an outbox in IndexedDB (static/js/monitor/outbox.js: its own idempotency key, observed
   now) and is then uploaded to the API; the outbox is flushed when the page opens, when the browser says it is
   online again and every 30 seconds. An answer of 201 or 200 (the same key again: stored once) takes the check
   out of the outbox; a network failure keeps it, listed under "Waiting to upload (n)"; a refusal (4xx) keeps
   it, marked with the server's reason and a "Discard" button. A service worker
   (cases/templates/cases/monitor_sw.js) keeps the page itself, and these modules, for when the phone has no
   signal.

   Every word on the page comes from the page (the monitor-strings JSON, translated by Django). */

import { fetchWithCsrf, h, interpolate as fill, newClientId, readStrings } from "./common.js";
import { adoptLegacyOutbox, forget, pending as pendingOf, save } from "./monitor/outbox.js";

const root = document.getElementById("monitor");
if (root && document.getElementById("monitor-strings") && window.indexedDB && window.fetch) {
  openMonitor(root, readStrings("monitor-strings"));
} // Otherwise the forms post as they do without JavaScript.

function openMonitor(root, S) {
  const USER = root.dataset.user;
  const FLUSH_EVERY_MS = 30000;
  // Day, month by name, year and a 24-hour time: "12/6/2026" is 12 June to a reader in Pakistan, and not every
  // browser knows Pashto's or Dari's own order.
  const DAY = { day: "numeric", month: "short", year: "numeric" };
  const WHEN = { ...DAY, hour: "2-digit", minute: "2-digit", hourCycle: "h23" };

  const connection = document.getElementById("connection");
  const outbox = document.getElementById("outbox");
  const outboxHeading = document.getElementById("outbox-heading");
  const outboxList = document.getElementById("outbox-list");
  const uploaded = document.getElementById("uploaded");
  const uploadedList = document.getElementById("uploaded-list");

  const pending = () => pendingOf(USER);

  // --- What the page shows ----------------------------------------------------------------------------

  let unreachable = false; // The browser says online, but the server did not answer.

  function showConnection() {
    const online = navigator.onLine && !unreachable;
    connection.hidden = false;
    connection.dataset.state = online ? "online" : "offline";
    connection.textContent = online ? S.online : navigator.onLine ? S.unreachable : S.offline;
  }

  function describe(entry) {
    const parts = [`${entry.caseRef} · ${entry.termLabel}: ${S.statuses[entry.status] || entry.status}`];
    if (entry.paid) {
      parts.push(fill(S.paid, { amount: entry.paid }));
    }
    parts.push(fill(S.observed, { time: new Date(entry.observedAt).toLocaleString(document.documentElement.lang, WHEN) }));
    return parts.join(" · ");
  }

  let loginExpired = false;

  async function render() {
    const entries = await pending();
    outbox.hidden = entries.length === 0;
    outboxHeading.textContent = fill(S.waiting, { count: entries.length });
    outboxList.replaceChildren(
      ...entries.map((entry) => {
        const item = h("li", { class: `outbox-item outbox-${entry.state}`, "data-key": entry.key },
          h("span", { class: "outbox-what" }, describe(entry)));
        if (entry.state === "failed") {
          item.append(
            h("span", { class: "outbox-reason error", role: "alert" }, fill(S.refused, { detail: entry.error || S.refused_unknown })),
            h("button", { type: "button", class: "discard-button", "data-discard": entry.key }, S.discard),
          );
        } else if (loginExpired) {
          item.append(h("span", { class: "outbox-reason hint" }, S.login));
        }
        return item;
      }),
    );
  }

  // The notice under the form a check was recorded with says where that check is now: being sent, kept on this
  // phone, stored on the server or refused (by key; the notice of a check recorded before a reload is gone).
  const notices = new Map();

  function tell(entry, text) {
    const notice = notices.get(entry.key);
    if (notice) {
      notice.textContent = text;
      notice.hidden = false;
    }
  }

  // Paid totals and instalments as the server now counts them (every check of the term, also other monitors'),
  // without reloading the page: the page is fetched and the stored terms' figures swapped in.
  async function redrawMoney(terms) {
    if (!terms.size) { return; }
    let page;
    try {
      const response = await fetch(location.pathname, { headers: { Accept: "text/html" }, cache: "no-store", credentials: "same-origin" });
      if (!response.ok) { return; }
      page = new DOMParser().parseFromString(await response.text(), "text/html");
    } catch (networkError) {
      return; // The signal went again: the next load of the page shows them.
    }
    terms.forEach((term) => {
      const now = document.querySelector(`#term-${term} [data-money]`);
      const fresh = page.querySelector(`#term-${term} [data-money]`);
      if (now && fresh) { now.replaceWith(document.importNode(fresh, true)); }
    });
  }

  function showStored(entry) {
    tell(entry, S.stored_notice);
    uploaded.hidden = false;
    uploadedList.prepend(h("li", { class: "outbox-item outbox-stored" }, `${describe(entry)} · ${S.stored}`));
    // The term's latest status on the page is now this one.
    const term = document.getElementById(`term-${entry.term}`);
    const latest = term && term.querySelector("[data-latest]");
    if (latest) {
      latest.textContent = S.statuses[entry.status] || entry.status;
      latest.className = `check-status status-${entry.status}`;
    }
    const when = term && term.querySelector("[data-latest-at]");
    if (when) {
      when.textContent = new Date(entry.observedAt).toLocaleDateString(document.documentElement.lang, DAY);
    }
    document.querySelectorAll(`.due-item[data-kind="check_due"][data-term="${entry.term}"]`).forEach((item) => {
      item.classList.add("done");
      const done = item.querySelector("[data-done]");
      if (done) { done.hidden = false; }
    });
  }

  // --- Uploading ------------------------------------------------------------------------------------

  async function errorOf(response) {
    try {
      const body = await response.json();
      const error = body.error || {};
      const parts = [error.detail || ""];
      Object.values(error.fields || {}).forEach((problems) => {
        [].concat(problems).forEach((problem) => {
          if (typeof problem === "string" && !parts.includes(problem)) { parts.push(problem); }
        });
      });
      return { code: error.code || "", detail: parts.filter(Boolean).join(" ") };
    } catch (parseError) {
      return { code: "", detail: "" };
    }
  }

  async function upload(entry) {
    const body = { term: entry.term, status: entry.status, notes: entry.notes, observed_at: entry.observedAt };
    if (entry.paid) { body.paid = entry.paid; }
    return fetchWithCsrf(entry.url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", "Idempotency-Key": entry.key },
      body: JSON.stringify(body),
    });
  }

  let flushing = null;
  let again = false;

  // One flush at a time; a request for another while one runs makes it go round once more.
  function flush() {
    if (flushing) {
      again = true;
      return flushing;
    }
    flushing = flushOnce()
      .catch(() => undefined)
      .then(() => {
        flushing = null;
        if (again) {
          again = false;
          return flush();
        }
        return undefined;
      });
    return flushing;
  }

  async function flushOnce() {
    if (!navigator.onLine) {
      // The phone says it has no network: nothing is tried (a "true" may be wrong, a "false" is not).
      showConnection();
      await render();
      return;
    }
    const waiting = (await pending()).filter((entry) => entry.state === "waiting");
    const paidFor = new Set();
    for (const entry of waiting) {
      let response;
      try {
        response = await upload(entry);
      } catch (networkError) {
        // No connection (or no server): everything stays in the outbox for the next try.
        unreachable = navigator.onLine;
        break;
      }
      unreachable = false;
      if (response.status === 200 || response.status === 201) {
        loginExpired = false;
        await forget(entry.key);
        showStored(entry);
        if (entry.paid) { paidFor.add(entry.term); }
        continue;
      }
      const error = await errorOf(response);
      if (response.status === 401 || error.code === "csrf_failed" || error.code === "not_authenticated") {
        // Not the check's fault: it waits until its monitor logs in again.
        loginExpired = true;
        break;
      }
      if (response.status === 429 || response.status >= 500) {
        break; // The server is busy or failing: try again later.
      }
      entry.state = "failed";
      entry.error = error.detail;
      await save(entry);
      tell(entry, fill(S.refused, { detail: entry.error || S.refused_unknown }));
    }
    // What is still waiting is kept on this phone: say so (not "sending") under its form.
    (await pending()).filter((entry) => entry.state === "waiting").forEach((entry) => tell(entry, S.saved));
    showConnection();
    await render();
    await redrawMoney(paidFor);
  }

  // --- Recording a check ------------------------------------------------------------------------------

  root.addEventListener("submit", async (event) => {
    const form = event.target.closest("form.check-form");
    if (!form) { return; }
    event.preventDefault();
    const data = new FormData(form);
    const entry = {
      key: newClientId(),
      user: USER,
      url: form.dataset.api,
      caseId: form.dataset.case,
      caseRef: form.dataset.caseRef,
      term: Number(form.dataset.term),
      termLabel: form.dataset.termLabel,
      status: data.get("status"),
      notes: data.get("notes") || "",
      paid: (data.get("paid") || "").trim() || null,
      observedAt: new Date().toISOString(),
      createdAt: Date.now(),
      state: "waiting",
      error: "",
    };
    try {
      await save(entry);
    } catch (storageError) {
      form.submit(); // No IndexedDB here (a private window): send it the way a page without script does.
      return;
    }
    form.reset();
    const notice = form.querySelector("[data-form-notice]");
    if (notice) {
      notices.set(entry.key, notice);
      tell(entry, navigator.onLine ? S.sending : S.saved);
    }
    await render();
    flush();
  });

  root.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-discard]");
    if (!button) { return; }
    await forget(button.dataset.discard);
    render();
  });

  // --- Working offline ----------------------------------------------------------------------------------

  function keepStaticFiles(worker) {
    const prefix = new URL(root.dataset.static, location.href).pathname;
    const urls = performance.getEntriesByType("resource")
      .map((entry) => new URL(entry.name))
      .filter((url) => url.origin === location.origin && url.pathname.startsWith(prefix))
      .map((url) => url.href);
    if (worker && urls.length) {
      worker.postMessage({ type: "keep-static", urls: urls });
    }
  }

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker
      .register(root.dataset.sw, { scope: root.dataset.scope, updateViaCache: "none" })
      .then(() => navigator.serviceWorker.ready)
      .then((registration) => {
        const keep = () => keepStaticFiles(registration.active);
        // Fonts load once the text is laid out; list the files after them.
        (document.fonts ? document.fonts.ready : Promise.resolve()).then(keep, keep);
      })
      .catch(() => undefined); // Without a service worker the page still records and uploads checks.
  }
  if (navigator.storage && navigator.storage.persist) {
    // Ask the browser not to clear the outbox when the phone runs short of space.
    navigator.storage.persist().catch(() => undefined);
  }

  window.addEventListener("online", () => {
    unreachable = false;
    loginExpired = false;
    showConnection();
    flush();
  });
  window.addEventListener("offline", showConnection);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") { flush(); }
  });
  setInterval(flush, FLUSH_EVERY_MS);

  showConnection();
  // Checks kept by the page's earlier versions join the outbox before it is shown and uploaded.
  adoptLegacyOutbox()
    .catch(() => 0)
    .then(() => render())
    .then(flush, flush);
}
