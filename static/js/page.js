/* What every page's markup asks of script, without inline handlers (the Content-Security-Policy allows none):
   - the language menu changes the language as soon as one is picked (its button is there without script);
   - [data-select-on-focus] selects its whole text on focus (links to copy);
   - [data-print] prints the page. */
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var select = event.target.closest && event.target.closest("select[data-submit-on-change]");
    if (select && select.form) { select.form.submit(); }
  });
  document.addEventListener("focusin", function (event) {
    var box = event.target.closest && event.target.closest("[data-select-on-focus]");
    if (box && box.select) { box.select(); }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-print]");
    if (button) { event.preventDefault(); window.print(); }
  });
})();
