/* The monitor's outbox: the checks recorded on this phone and not yet stored by the server, kept in IndexedDB
   with idb-keyval (vendored in static/vendor/idb-keyval/) under each check's Idempotency-Key. An entry is
   {key, user, url, caseId, caseRef, term, termLabel, status, notes, paid, observedAt, createdAt, state
   ("waiting" or "failed"), error}; the entries of every person who used the phone are kept, and each person
   sees and uploads only their own.

   Until this module, the page kept the outbox in its own database, "sulh-monitor" (version 1, store "outbox",
   keyPath "key"). idb-keyval keys its stores out of line, so it cannot write that store: the outbox is now the
   database "sulh-monitor-outbox". The checks still in the old one were recorded where there was no signal and
   exist nowhere else, so adoptLegacyOutbox() moves them over on every load of the page: copied first, then
   deleted from the old store, never the other way round. The old database itself stays (empty): a page of the
   old version still open in another tab may hold it open and write to it, and what it writes is moved over at
   the next load. */

import { createStore, del, delMany, keys, set, setMany, values } from "../../vendor/idb-keyval/index.js";

const store = createStore("sulh-monitor-outbox", "outbox");

const LEGACY_DATABASE = "sulh-monitor";
const LEGACY_STORE = "outbox";

/** The checks of this person, oldest first (a shared phone must not upload one monitor's checks as another's). */
export async function pending(user) {
  const all = (await values(store)) || [];
  return all.filter((entry) => entry.user === user).sort((a, b) => a.createdAt - b.createdAt);
}

export const save = (entry) => set(entry.key, entry, store);

export const forget = (key) => del(key, store);

/** The old database when this phone has one; null otherwise (it is not created to find out). */
function openLegacy() {
  return new Promise((resolve) => {
    let request;
    try {
      request = indexedDB.open(LEGACY_DATABASE);
    } catch (error) {
      resolve(null);
      return;
    }
    // An upgrade means there is no such database: abort it, so that opening does not create one.
    request.onupgradeneeded = () => request.transaction.abort();
    request.onsuccess = () => {
      const database = request.result;
      if (database.objectStoreNames.contains(LEGACY_STORE)) {
        resolve(database);
      } else {
        database.close();
        resolve(null);
      }
    };
    request.onerror = (event) => {
      event.preventDefault();
      resolve(null);
    };
  });
}

/** Move the checks left in the old database into the outbox; how many were added. */
export async function adoptLegacyOutbox() {
  const database = await openLegacy();
  if (!database) { return 0; }
  try {
    // idb-keyval works on any store that a function like its createStore's gives.
    const legacy = (mode, work) => Promise.resolve().then(() => work(database.transaction(LEGACY_STORE, mode).objectStore(LEGACY_STORE)));
    const old = ((await values(legacy)) || []).filter((entry) => entry && typeof entry.key === "string");
    if (!old.length) { return 0; }
    // An entry already in the outbox is the newer copy (a refusal, say, noted since): it stays as it is.
    const known = new Set(await keys(store));
    const fresh = old.filter((entry) => !known.has(entry.key));
    if (fresh.length) { await setMany(fresh.map((entry) => [entry.key, entry]), store); }
    await delMany(old.map((entry) => entry.key), legacy);
    return fresh.length;
  } finally {
    database.close();
  }
}
