/* The regulator's dashboard: an administrator's "Compute the summary now" (reports/pattern_report.html). It queues
   the summary through the API (POST /api/reports/patterns/refresh/), follows the task with a progress bar
   (GET /api/reports/tasks/{id}/) and, once it is done, shows the page again with the new figures. In the embedded
   mode the task has already run when the first answer comes. Without this script the box stays hidden. */
(function () {
  "use strict";

  var POLL_MS = 1000;
  var box = document.getElementById("summary-refresh");
  if (!box || !window.fetch) { return; }
  var button = document.getElementById("refresh-summary");
  var bar = document.getElementById("refresh-progress");
  var status = document.getElementById("refresh-status");
  var token = box.querySelector("input[name=csrfmiddlewaretoken]").value;
  box.hidden = false;

  function say(text, percent) {
    status.textContent = text;
    if (percent === null) { bar.hidden = true; return; }
    bar.hidden = false;
    bar.value = percent;
  }

  function failed() {
    say(box.dataset.failed, null);
    button.disabled = false;
  }

  function follow(url) {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) { if (!response.ok) { throw new Error(String(response.status)); } return response.json(); })
      .then(function (task) {
        var percent = Math.round((task.progress || 0) * 100);
        if (task.state === "SUCCESS") {
          say(box.dataset.done, 100);
          window.location.reload();
        } else if (task.state === "FAILURE") {
          failed();
        } else {
          say(task.state === "PENDING" ? box.dataset.queued : box.dataset.running.replace("%(percent)s", percent + "%"), percent);
          window.setTimeout(function () { follow(url); }, POLL_MS);
        }
      })
      .catch(failed);
  }

  button.addEventListener("click", function () {
    button.disabled = true;
    say(box.dataset.queued, 0);
    fetch(box.dataset.api, {
      method: "POST",
      headers: { Accept: "application/json", "X-CSRFToken": token },
      credentials: "same-origin",
    })
      .then(function (response) { if (response.status !== 202) { throw new Error(String(response.status)); } return response.json(); })
      .then(function (queued) { follow(box.dataset.task.replace("00000000-0000-0000-0000-000000000000", queued.task_id)); })
      .catch(failed);
  });
})();
