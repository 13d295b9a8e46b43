/* The case pages' few lines of script: add a row to a Django formset, and let HTMX swap refusals in.
   Everything works without it: forms post and redirect, and the formsets start with the rows they need. */
(function () {
  "use strict";

  // A button with data-add-row="<prefix>" copies the formset's empty form from <template id="<prefix>-empty">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-add-row]");
    if (!button) { return; }
    event.preventDefault();
    var prefix = button.getAttribute("data-add-row");
    var form = button.closest("form");
    var total = form.querySelector("input[name='" + prefix + "-TOTAL_FORMS']");
    var max = form.querySelector("input[name='" + prefix + "-MAX_NUM_FORMS']");
    var template = form.querySelector("#" + prefix + "-empty");
    var rows = form.querySelector("#" + prefix + "-rows");
    var index = parseInt(total.value, 10);
    if (max && index >= parseInt(max.value, 10)) { return; }
    var row = template.content.firstElementChild.cloneNode(true);
    row.querySelectorAll("[name], [id], [for], [aria-describedby]").forEach(function (el) {
      ["name", "id", "for", "aria-describedby"].forEach(function (attr) {
        var value = el.getAttribute(attr);
        if (value) { el.setAttribute(attr, value.replace(/__prefix__/g, String(index))); }
      });
    });
    rows.appendChild(row);
    total.value = String(index + 1);
    var first = row.querySelector("select, input, textarea");
    if (first) { first.focus(); }
  });

  // The buttons above need this script, so they stay hidden until it runs.
  function reveal() {
    document.querySelectorAll("[data-add-row][hidden]").forEach(function (button) { button.hidden = false; });
  }
  document.addEventListener("DOMContentLoaded", reveal);
  document.addEventListener("htmx:afterSettle", reveal);

  // The flash message of the last full page ("Case … opened.") is stale once an action's answer is swapped
  // in, which brings its own notice. A panel the page loads (GET) is no answer to anything: the message stays.
  document.addEventListener("htmx:afterSwap", function (event) {
    var verb = event.detail.requestConfig && event.detail.requestConfig.verb;
    if (verb === "get") { return; }
    if (event.detail.target && event.detail.target.closest && event.detail.target.closest("[data-swap-refusals]")) {
      document.querySelectorAll("main > .messages").forEach(function (list) { list.remove(); });
    }
  });

  // The case page's folded sections (<details id=…>) stay as the person left them when an action's answer is
  // swapped in: the server renders them folded (or open around a refusal) and cannot know which were open.
  var opened = [];
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    opened = [];
    if (!target || !target.closest || !target.closest("[data-swap-refusals]")) { return; }
    target.querySelectorAll("details[id][open]").forEach(function (details) { opened.push(details.id); });
  });
  document.addEventListener("htmx:afterSwap", function () {
    opened.forEach(function (id) {
      var details = document.getElementById(id);
      if (details && details.tagName === "DETAILS") { details.open = true; }
    });
    opened = [];
  });

  // A refusal (400 invalid, 403, 409 stale version, 422 a rule) comes back as the section with the
  // message in it: swap it in like a success instead of dropping it as HTMX does with errors.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    var target = event.detail.target;
    if ([400, 403, 409, 422].indexOf(status) !== -1 && target && target.closest("[data-swap-refusals]")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
