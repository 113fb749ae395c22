// Phản ánh hiện trường: the little the web view does in the browser. Every page works without it.
(function () {
  "use strict";

  // Filters apply as soon as a choice changes.
  document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
    form.querySelectorAll("select").forEach(function (select) {
      select.addEventListener("change", function () { form.requestSubmit ? form.requestSubmit() : form.submit(); });
    });
  });

  // Ask before a move that cannot be taken back.
  document.querySelectorAll("[data-confirm]").forEach(function (element) {
    var form = element.tagName === "FORM" ? element : element.form;
    if (!form) { return; }
    form.addEventListener("submit", function (event) {
      if (event.submitter && event.submitter !== element && element.tagName !== "FORM") { return; }
      if (!window.confirm(element.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });

  // A button that submits once: a double click on a slow line sends one request.
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (event.defaultPrevented || form.method.toLowerCase() !== "post") { return; }
      window.setTimeout(function () {
        form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (button) { button.disabled = true; });
      }, 0);
    });
  });

  // Keep a moderator's claim on the report they have open.
  var claim = document.querySelector("[data-claim-url]");
  var token = document.querySelector("meta[name=csrf-token]");
  if (claim && token && window.fetch) {
    var renew = function () {
      fetch(claim.getAttribute("data-claim-url"), {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRFToken": token.getAttribute("content") }
      }).catch(function () {});
    };
    window.setInterval(renew, 120000);
  }
})();
