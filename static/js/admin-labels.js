/* The Django admin's autocomplete boxes (select2) name themselves by the text of the choice they show, which is
   nothing while empty: a screen reader then announces a nameless combo box. Each one is named by its field's label
   (or, in a tabular inline, the aria-label cases/admin.py gives the field); the choice stays its text. Loaded by the
   admin pages that have autocomplete fields (cases/admin.py, NamedAutocompletes). */
(function () {
  "use strict";

  function nameOf(select) {
    const label = select.labels && select.labels[0];
    return label ? label.textContent.trim().replace(/:$/, "") : select.getAttribute("aria-label") || "";
  }

  function nameAll() {
    document.querySelectorAll("select.admin-autocomplete").forEach((select) => {
      const container = select.nextElementSibling;
      const box = container && container.querySelector(".select2-selection[role=combobox]");
      if (!box || box.dataset.named) { return; }
      const name = nameOf(select);
      if (!name) { return; }
      // The box by its field; the text inside it (a read-only textbox showing the choice) by its field too.
      box.removeAttribute("aria-labelledby");
      box.setAttribute("aria-label", name);
      const shown = box.querySelector(".select2-selection__rendered");
      if (shown) { shown.setAttribute("aria-label", name); }
      box.dataset.named = "true";
    });
  }

  // Django's autocomplete.js makes the boxes once jQuery finds the document ready, and again for each row added to
  // an inline: each box is named as soon as it appears.
  document.addEventListener("DOMContentLoaded", () => {
    nameAll();
    new MutationObserver(nameAll).observe(document.body, { childList: true, subtree: true });
  });
})();
