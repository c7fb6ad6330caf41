/* The coordinator's agenda: reorder cases by dragging their handle (HTML5 drag and drop)
   or, from the keyboard, by focusing the handle and pressing the up and down arrow keys.
   The new order is posted as the form's "reorder" action; the server answers with the
   agenda, which replaces the old one. Without this script the up/down buttons do the same. */
(function () {
  "use strict";

  function csrfToken() {
    var field = document.querySelector("#agenda input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function sendOrder(list) {
    var body = new URLSearchParams();
    body.append("action", "reorder");
    body.append("csrfmiddlewaretoken", csrfToken());
    list.querySelectorAll(".agenda-item").forEach(function (item) {
      body.append("order", item.dataset.case);
    });
    return fetch(list.dataset.reorderUrl, {
      method: "POST",
      body: body,
      headers: { "HX-Request": "true", "X-CSRFToken": csrfToken() },
      credentials: "same-origin",
    })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var agenda = document.getElementById("agenda");
        agenda.outerHTML = html;
        var fresh = document.getElementById("agenda");
        if (window.htmx) { window.htmx.process(fresh); }
        bind();
      });
  }

  function bind() {
    var list = document.querySelector(".agenda-sortable");
    if (!list || list.dataset.bound) { return; }
    list.dataset.bound = "1";
    var dragged = null;
    list.addEventListener("dragstart", function (event) {
      dragged = event.target.closest(".agenda-item");
      if (!dragged) { return; }
      dragged.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", dragged.dataset.case);
    });
    list.addEventListener("dragover", function (event) {
      var over = event.target.closest(".agenda-item");
      if (!dragged || !over || over === dragged) { return; }
      event.preventDefault();
      list.querySelectorAll(".drop-target").forEach(function (el) { el.classList.remove("drop-target"); });
      over.classList.add("drop-target");
    });
    list.addEventListener("drop", function (event) {
      var over = event.target.closest(".agenda-item");
      event.preventDefault();
      if (!dragged || !over || over === dragged) { return; }
      var items = Array.prototype.slice.call(list.children);
      if (items.indexOf(dragged) < items.indexOf(over)) { over.after(dragged); } else { over.before(dragged); }
      sendOrder(list);
    });
    list.addEventListener("dragend", function () {
      if (dragged) { dragged.classList.remove("dragging"); }
      list.querySelectorAll(".drop-target").forEach(function (el) { el.classList.remove("drop-target"); });
      dragged = null;
    });
    list.addEventListener("keydown", function (event) {
      if (!event.target.classList.contains("drag-handle")) { return; }
      if (event.key !== "ArrowUp" && event.key !== "ArrowDown") { return; }
      var item = event.target.closest(".agenda-item");
      var sibling = event.key === "ArrowUp" ? item.previousElementSibling : item.nextElementSibling;
      if (!sibling) { return; }
      event.preventDefault();
      var moved = item.dataset.case;
      if (event.key === "ArrowUp") { sibling.before(item); } else { sibling.after(item); }
      sendOrder(list).then(function () {
        var handle = document.querySelector('.agenda-item[data-case="' + moved + '"] .drag-handle');
        if (handle) { handle.focus(); }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", bind);
  document.body.addEventListener("htmx:afterSwap", bind);
})();
