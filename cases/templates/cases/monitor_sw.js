{% autoescape off %}/* The service worker of the monitor's "Checks due" page (scope /monitor/), so that the page opens on a phone
   without signal. Served by cases.views.monitor_service_worker, which writes CONFIG below: the static files'
   URLs as the storage names them (hashed in production) and Workbox's own modules, vendored from npm into
   static/vendor/workbox/, so that nothing is fetched from a CDN.

   - The page (a navigation to /monitor/): network first, falling back to the copy kept at the last visit.
   - GET /api/monitor/due/: network first, falling back to the last answer.
   - /static/: cache first (names change with their content in production; in development the caches are
     renamed whenever a precached file changes).
   - Anything else, and every request that is not a GET (the checks' uploads), is left to the browser.

   Checks recorded offline are not kept here but in the page's IndexedDB outbox (static/js/monitor.js and
   static/js/monitor/outbox.js), which the page uploads itself: a service worker may be stopped at any moment,
   and the page must show what waits. CONFIG.precache lists the page's ES modules and every module they import:
   without one of them the page's script does not run offline, and the forms would post to a server out of
   reach. */
"use strict";

const CONFIG = {{ config }};

importScripts(CONFIG.workbox);
// debug: false, or Workbox loads its development builds on "localhost"; modulePathCb, so that each module is
// imported from the URL the storage gives it.
workbox.setConfig({ debug: false, modulePathCb: (name) => CONFIG.modules[name] });

const { registerRoute } = workbox.routing;
const { NetworkFirst, CacheFirst } = workbox.strategies;
const { ExpirationPlugin } = workbox.expiration;

const PREFIX = "sulh-monitor-";
const PAGES = `${PREFIX}pages-${CONFIG.version}`;
const STATIC = `${PREFIX}static-${CONFIG.version}`;
const API = `${PREFIX}api-${CONFIG.version}`;
const sameOrigin = (url) => url.origin === self.location.origin;
const isStatic = (url) => sameOrigin(url) && url.pathname.startsWith(CONFIG.staticPrefix);

// Only a whole page for the person logged in is kept: not a redirect to the login page, not an error page.
const onlyWholePages = {
  cacheWillUpdate: async ({ response }) =>
    response && response.status === 200 && response.type === "basic" && !response.redirected ? response : null,
};

// Logged out (the server redirects to the login page): forget the kept copy of the page, which holds cases.
const forgetOnLogout = {
  fetchDidSucceed: async ({ response }) => {
    if (response.type === "opaqueredirect" || response.redirected) {
      const pages = await caches.open(PAGES);
      await pages.delete(CONFIG.page);
    }
    return response;
  },
};

registerRoute(
  ({ request, url }) => request.mode === "navigate" && sameOrigin(url) && url.pathname === CONFIG.page,
  new NetworkFirst({
    cacheName: PAGES,
    networkTimeoutSeconds: 8,
    matchOptions: { ignoreVary: true, ignoreSearch: true },
    plugins: [
      onlyWholePages,
      forgetOnLogout,
      // One copy of the page, whatever was after "#" or "?" in the address.
      { cacheKeyWillBeUsed: async () => CONFIG.page },
    ],
  }),
);

registerRoute(
  ({ url }) => sameOrigin(url) && url.pathname === CONFIG.dueApi,
  new NetworkFirst({
    cacheName: API,
    networkTimeoutSeconds: 8,
    matchOptions: { ignoreVary: true },
    plugins: [onlyWholePages],
  }),
);

registerRoute(
  ({ url }) => isStatic(url),
  new CacheFirst({
    cacheName: STATIC,
    matchOptions: { ignoreVary: true },
    plugins: [onlyWholePages, new ExpirationPlugin({ maxEntries: 60 })],
  }),
);

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const statics = await caches.open(STATIC);
      await statics.addAll(CONFIG.precache);
      // The page as it is now, so that it opens offline even if it was never reloaded under this worker.
      try {
        const response = await fetch(CONFIG.page, { credentials: "same-origin", redirect: "manual" });
        if (response.status === 200 && response.type === "basic") {
          await (await caches.open(PAGES)).put(CONFIG.page, response);
        }
      } catch (error) {
        // Offline while installing: the page is kept at the next visit instead.
      }
    })(),
  );
  // A new worker takes over at once: its caches hold what the current page needs.
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const keep = [PAGES, STATIC, API];
      for (const name of await caches.keys()) {
        if (name.startsWith(PREFIX) && !keep.includes(name)) {
          await caches.delete(name);
        }
      }
      await self.clients.claim();
    })(),
  );
});

// The page lists the static files it loaded (its fonts depend on the reader's language): keep them too.
self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type !== "keep-static" || !Array.isArray(data.urls)) {
    return;
  }
  event.waitUntil(
    (async () => {
      const statics = await caches.open(STATIC);
      for (const href of data.urls) {
        const url = new URL(href, self.location.href);
        if (!isStatic(url) || (await statics.match(url.href, { ignoreVary: true }))) {
          continue;
        }
        try {
          await statics.add(url.href);
        } catch (error) {
          // Offline again: the file is kept at the next visit.
        }
      }
    })(),
  );
});
{% endautoescape %}
