/* Handing a one-time invitation link to someone who is not a computer user
   (deliberation/templates/deliberation/_invitation_result.html):
   - "Copy the link": the clipboard where the browser allows it, otherwise the link is selected for the
     phone's own copy menu;
   - "Share…": the phone's share sheet (Web Share API), shown only where the browser has one;
   - the room's "Invite someone" panel (form[data-invite-fetch]) creates the link with fetch and shows the
     result in the room, without leaving it; without script the form posts to the invitation page.
   Dates stay as the server writes them (Django's locale formats, one format per page: Chromium has no Pashto).
   No inline script or handler anywhere: the Content-Security-Policy allows none. */
(function () {
  "use strict";

  function say(text) {
    var status = document.getElementById("invite-copied");
    if (status) { status.textContent = text || ""; }
  }

  function selectAll(box) {
    box.focus();
    box.select();
    if (box.setSelectionRange) { box.setSelectionRange(0, box.value.length); }
  }

  function copy(button) {
    var box = document.getElementById(button.dataset.copyTarget);
    if (!box) { return; }
    var text = box.value || box.textContent;
    var failed = function () {
      selectAll(box);
      var copied = false;
      try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
      say(copied ? button.dataset.copied : button.dataset.copyFailed);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { say(button.dataset.copied); }, failed);
    } else {
      failed();
    }
  }

  function share(button) {
    navigator.share({ title: button.dataset.shareTitle, text: button.dataset.shareText }).catch(function () {
      // Cancelled, or the phone refused: the other ways stay on the page.
    });
  }

  /** Show the buttons this browser can do (they are hidden in the markup for browsers without script). */
  function enhance(scope) {
    scope.querySelectorAll("#invite-copy").forEach(function (button) { button.hidden = false; });
    if (typeof navigator.share === "function") {
      scope.querySelectorAll("#invite-share").forEach(function (button) { button.hidden = false; });
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button");
    if (!button) { return; }
    if (button.id === "invite-copy") { copy(button); }
    if (button.id === "invite-share" && typeof navigator.share === "function") { share(button); }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target.closest && event.target.closest("form[data-invite-fetch]");
    if (!form || !window.fetch) { return; }
    event.preventDefault();
    var result = document.getElementById(form.dataset.inviteFetch);
    var submit = form.querySelector("button[type=submit]");
    if (submit) { submit.disabled = true; }
    fetch(form.action, {
      method: "POST",
      body: new FormData(form), // Carries the CSRF token of the form.
      credentials: "same-origin",
      headers: { "X-Sulh-Fragment": "1" },
    }).then(function (response) {
      return response.text().then(function (html) {
        // Our own server's template, escaped by Django: nothing from the reader is put in as markup.
        result.innerHTML = response.status === 200 || response.status === 400 ? html : "";
        if (response.status !== 200 && response.status !== 400) {
          result.textContent = form.dataset.failed || "";
        }
        if (response.ok) { form.reset(); }
        enhance(result);
        var focus = result.querySelector("#invitation-link, [role=alert]");
        if (focus) { focus.focus(); }
      });
    }, function () {
      result.textContent = form.dataset.failed || "";
    }).finally(function () {
      if (submit) { submit.disabled = false; }
    });
  });

  enhance(document);
})();
