/*
 * The recipient picker's filter: typing narrows the checkboxes to those whose label
 * matches (name, role or organization). Without JavaScript the filter stays hidden and
 * every checkbox is shown. Works on content HTMX swaps in (choosing a patient redraws it).
 */
(function () {
  "use strict";

  function reveal(root) {
    var filters = (root || document).querySelectorAll("[data-recipient-filter]");
    for (var i = 0; i < filters.length; i++) {
      filters[i].hidden = false;
    }
  }

  function narrow(input) {
    var picker = input.closest(".recipient-picker");
    if (!picker) {
      return;
    }
    var words = input.value.toLowerCase().trim().split(/\s+/).filter(Boolean);
    var options = picker.querySelectorAll(".recipient-option");
    var shown = 0;
    for (var i = 0; i < options.length; i++) {
      var text = options[i].textContent.toLowerCase();
      var match = words.every(function (word) {
        return text.indexOf(word) !== -1;
      });
      var chosen = options[i].querySelector("input").checked;
      options[i].hidden = !(match || chosen); // a chosen recipient never disappears
      shown += options[i].hidden ? 0 : 1;
    }
    var none = picker.querySelector("[data-recipient-none]");
    if (none) {
      none.hidden = shown !== 0;
    }
  }

  document.addEventListener("input", function (event) {
    if (event.target.closest && event.target.closest("[data-recipient-filter]")) {
      narrow(event.target);
    }
  });
  document.addEventListener("keydown", function (event) {
    // Enter in the filter narrows the list; it must not send the message.
    if (event.key === "Enter" && event.target.closest && event.target.closest("[data-recipient-filter]")) {
      event.preventDefault();
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    reveal(document);
  });
  document.addEventListener("htmx:load", function (event) {
    reveal(event.target);
  });
})();
