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

  // Keep a moderator's claim on the report they have open. When it is lost (someone else
  // took it, the report was moved elsewhere, or no renewal got through for longer than
  // the claim lasts), say so and disable the moderation forms: the server would refuse
  // them, or they were made from a page that is out of date.
  var claim = document.querySelector("[data-claim-url]");
  var token = document.querySelector("meta[name=csrf-token]");
  if (claim && token && window.fetch) {
    var every = (parseInt(claim.getAttribute("data-claim-every"), 10) || 120) * 1000;
    var ttl = (parseInt(claim.getAttribute("data-claim-ttl"), 10) || 300) * 1000;
    var confirmed = Date.now();
    var timer = null;
    var lose = function (text) {
      window.clearInterval(timer);
      claim.textContent = text;
      claim.hidden = false;
      document.querySelectorAll("[data-claim-scope]").forEach(function (scope) {
        if (scope.tagName === "FIELDSET") { scope.disabled = true; return; }
        scope.querySelectorAll("button, input, select, textarea").forEach(function (field) { field.disabled = true; });
      });
    };
    var failed = function () {
      if (Date.now() - confirmed >= ttl) { lose(claim.getAttribute("data-text-lapsed")); }
    };
    var renew = function () {
      fetch(claim.getAttribute("data-claim-url"), {
        method: "POST", credentials: "same-origin", redirect: "error",
        headers: { "X-CSRFToken": token.getAttribute("content"), "Accept": "application/json" }
      }).then(function (response) {
        if (!response.ok) { throw new Error("claim renewal: HTTP " + response.status); }
        return response.json();
      }).then(function (answer) {
        if (answer.moved) { lose(claim.getAttribute("data-text-moved")); return; }
        if (answer.available === false || answer.claimed) { confirmed = Date.now(); return; }
        lose(claim.getAttribute("data-text-taken").replace("%(name)s", answer.holder || "?"));
      }).catch(failed);
    };
    timer = window.setInterval(renew, every);
  }
})();
