/* The login page: whoever was logged in on this device has logged out (or their session ended). Forget the
   copies of pages the monitor's service worker kept for offline use (they hold cases) and the copies of the
   monitor's due items. Static files stay; the IndexedDB outbox stays too, because it holds checks not yet
   uploaded and uploads them only as the person who made them. */
(function () {
  "use strict";
  if (!("caches" in window)) { return; }
  caches.keys().then(function (names) {
    names.forEach(function (name) {
      if (name.indexOf("sulh-monitor-pages-") === 0 || name.indexOf("sulh-monitor-api-") === 0) {
        caches.delete(name);
      }
    });
  });
})();
