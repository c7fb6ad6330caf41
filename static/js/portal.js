// Small behaviours of the portal's pages, kept in a file: the Content-Security-Policy
// allows no inline script or event handler (onclick=, onfocus=…).

// A read-only field to copy from (an invitation link) selects its whole text on focus.
document.addEventListener("focusin", (event) => {
  const field = event.target;
  if (field instanceof HTMLInputElement && field.hasAttribute("data-select-on-focus")) {
    field.select();
  }
});
