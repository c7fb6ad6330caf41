// Small behaviours of the portal's pages, kept in a file: the Content-Security-Policy
// allows no inline script or event handler (onclick=, onfocus=…).

// A read-only field to copy from (an invitation link) selects its whole text on focus.
document.addEventListener("focusin", (event) => {
  const field = event.target;
  if (field instanceof HTMLInputElement && field.hasAttribute("data-select-on-focus")) {
    field.select();
  }
});

// "Show older entries" on the chart's timeline: the next rows take the control's place, so
// the keyboard focus goes to the first of them (it would otherwise fall back to the page).
let timelineRowsBefore = -1;
document.addEventListener("htmx:beforeRequest", (event) => {
  const row = event.target instanceof Element ? event.target.closest(".timeline-more") : null;
  timelineRowsBefore = row ? row.parentElement.querySelectorAll("li:not(.timeline-more)").length : -1;
});
document.addEventListener("htmx:afterSettle", () => {
  if (timelineRowsBefore < 0) {
    return;
  }
  const rows = document.querySelectorAll("#timeline > li:not(.timeline-more)");
  const first = rows[timelineRowsBefore] ? rows[timelineRowsBefore].querySelector("a") : null;
  timelineRowsBefore = -1;
  if (first) {
    first.focus();
  }
});
