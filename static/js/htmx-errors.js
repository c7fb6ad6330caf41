/*
 * No HTMX request fails silently.
 *
 * - A refusal the server explains in a partial (400, 403, 409 or 422 answering with a
 *   fragment: the form again, with its errors) is swapped into the target like a success.
 * - Any other error answer (a full 403/404/500 page, a JSON error) is not swapped; its
 *   reason (the element marked data-reason, or the API's "detail") is shown near the form:
 *   "The server refused this: <reason>".
 * - A request that never reached the server says so: nothing was sent.
 * - A request answered by the sign-in page (the session ended) says so, with a link.
 *
 * The message goes into the closest form's [data-error-region] (an element with
 * role="alert", so screen readers announce it), else into the page's #page-error region.
 * Loaded by templates/base.html after htmx; no inline script, no inline style.
 */
(function () {
  "use strict";

  var SWAPPABLE = [400, 403, 409, 422];
  var UNREACHABLE = "Could not reach Continuum — check your connection; nothing was sent.";
  var TIMED_OUT =
    "Continuum did not answer in time — check your connection, then check whether it was saved before trying again.";
  var SIGNED_OUT = "Your session has ended, so this was not sent. Sign in again: ";

  function regionFor(elt) {
    var scope = elt && elt.closest ? elt.closest("form") || elt : null;
    var region = scope && scope.querySelector ? scope.querySelector("[data-error-region]") : null;
    if (!region && scope && scope.matches && scope.matches("[data-error-region]")) {
      region = scope;
    }
    return region || document.getElementById("page-error");
  }

  function show(elt, message, link) {
    var region = regionFor(elt);
    if (!region) {
      return;
    }
    region.textContent = "";
    var paragraph = document.createElement("p");
    paragraph.textContent = message;
    if (link) {
      var anchor = document.createElement("a");
      anchor.href = link.href;
      anchor.textContent = link.text;
      paragraph.appendChild(anchor);
    }
    region.appendChild(paragraph);
    region.classList.add("has-message");
  }

  function clear(region) {
    if (region) {
      region.textContent = "";
      region.classList.remove("has-message");
    }
  }

  function isFullPage(text) {
    return /<html[\s>]/i.test(text || "");
  }

  function reasonOf(xhr) {
    var type = (xhr.getResponseHeader("Content-Type") || "").toLowerCase();
    var text = xhr.responseText || "";
    if (type.indexOf("application/json") === 0) {
      try {
        var body = JSON.parse(text);
        if (body && body.detail) {
          return String(body.detail);
        }
      } catch (ignored) {
        /* not JSON after all: fall through */
      }
    } else if (type.indexOf("text/html") === 0) {
      var doc = new DOMParser().parseFromString(text, "text/html");
      var marked = doc.querySelector("[data-reason]") || doc.querySelector("[role=alert], .field-error");
      if (marked && marked.textContent.trim()) {
        return marked.textContent.trim().replace(/\s+/g, " ");
      }
    } else if (text.trim() && text.length < 300) {
      return text.trim();
    }
    return xhr.statusText || "status " + xhr.status;
  }

  function endsAtSignIn(detail) {
    var xhr = detail.xhr;
    if (!xhr || !xhr.responseURL) {
      return false;
    }
    var landed = new URL(xhr.responseURL).pathname;
    var asked = detail.pathInfo && detail.pathInfo.requestPath ? detail.pathInfo.requestPath : "";
    return landed.indexOf("/accounts/login/") === 0 && asked.indexOf("/accounts/") !== 0;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    clear(regionFor(event.detail.elt));
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    var xhr = detail.xhr;
    if (endsAtSignIn(detail)) {
      detail.shouldSwap = false;
      detail.isError = false;
      show(detail.elt, SIGNED_OUT, { href: "/accounts/login/?next=" + encodeURIComponent(location.pathname), text: "sign in" });
      return;
    }
    if (SWAPPABLE.indexOf(xhr.status) !== -1 && !isFullPage(xhr.responseText)) {
      detail.shouldSwap = true;
      detail.isError = false;
    }
  });

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status === 503 && xhr.getResponseHeader("HX-Retarget")) {
      return; // the database briefly down: already shown in #portal-unavailable (portal.availability)
    }
    var prefix = xhr.status >= 500 ? "Something went wrong on the server: " : "The server refused this: ";
    show(event.detail.elt, prefix + reasonOf(xhr));
  });

  document.addEventListener("htmx:sendError", function (event) {
    show(event.detail.elt, UNREACHABLE);
  });

  document.addEventListener("htmx:timeout", function (event) {
    show(event.detail.elt, TIMED_OUT);
  });
})();
