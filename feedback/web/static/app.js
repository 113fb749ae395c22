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

  // Choose the region of a photo to blur by dragging over a large copy of it; the numbers
  // (per cent of the picture) stay there to read or correct, and without this script they
  // are typed in.
  document.querySelectorAll("form[data-blur-form]").forEach(function (form) {
    var picker = form.querySelector("[data-blur-picker]");
    var box = picker.querySelector(".blur-box");
    var fields = ["left", "top", "width", "height"].map(function (name) { return form.elements[name]; });
    var start = null;
    // The large copy is fetched only when the form is opened.
    var image = document.createElement("img");
    image.alt = picker.getAttribute("data-alt");
    image.draggable = false;
    form.closest("details").addEventListener("toggle", function () {
      if (!image.src) { image.src = picker.getAttribute("data-src"); picker.insertBefore(image, box); }
    });
    picker.hidden = false;
    form.querySelector("[data-blur-hint]").hidden = false;

    function point(event) {
      var rect = image.getBoundingClientRect();
      return [Math.min(Math.max((event.clientX - rect.left) / rect.width, 0), 1),
              Math.min(Math.max((event.clientY - rect.top) / rect.height, 0), 1)];
    }
    function draw(values) {  // left, top, width, height in per cent
      box.hidden = !(values[2] > 0 && values[3] > 0);
      ["left", "top", "width", "height"].forEach(function (side, i) { box.style[side] = values[i] + "%"; });
    }
    function choose(a, b) {
      var values = [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.abs(a[0] - b[0]), Math.abs(a[1] - b[1])]
        .map(function (value) { return Math.round(value * 1000) / 10; });
      fields.forEach(function (field, i) { field.value = values[i]; });
      draw(values);
    }
    picker.addEventListener("pointerdown", function (event) {
      if (fields[0].disabled) { return; }
      event.preventDefault();
      start = point(event);
      picker.setPointerCapture(event.pointerId);
    });
    picker.addEventListener("pointermove", function (event) { if (start) { choose(start, point(event)); } });
    picker.addEventListener("pointerup", function (event) {
      if (start) { choose(start, point(event)); start = null; }
    });
    form.addEventListener("input", function () {
      draw(fields.map(function (field) { return parseFloat(field.value) || 0; }));
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
