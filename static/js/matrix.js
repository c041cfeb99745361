// Matrix runs. The studio's "Matrix run…" button opens the matrix page with the form's
// prompt, references and settings in the address, and nothing else of the form (its
// CSRF token and one-use job token stay behind). Without this script the button sends
// the whole form by GET and the server drops the rest with a redirect.
(function () {
  "use strict";

  var CARRIED = ["prompt", "reference", "model", "quality", "size", "resolution", "n",
                 "private", "parent", "parent_relation"];

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-matrix-run]");
    if (!button || !button.form) return;
    event.preventDefault();
    var data = new FormData(button.form);
    var params = new URLSearchParams();
    CARRIED.forEach(function (name) {
      data.getAll(name).forEach(function (value) {
        if (typeof value === "string" && value !== "") params.append(name, value);
      });
    });
    window.location.assign(button.getAttribute("formaction") + "?" + params.toString());
  });
})();

// The sizes a page starts with are the page's choice, not the person's: while nobody has
// touched them, ticking a model keeps them to sizes every ticked model makes (so adding
// GPT Image 1 does not leave "Auto" ticked and a row of "Not made" cells). Sizes every
// ticked model cannot make stay offered, marked as such; the notes beside them (from the
// server, with the preview) say which cells they rule out.
(function () {
  "use strict";

  var fieldset = document.querySelector("fieldset.sizes");
  var source = document.getElementById("size-makers");
  if (!fieldset || !source) return;
  var makers = JSON.parse(source.textContent);
  var form = fieldset.form || fieldset.closest("form");

  function ticked(name) {
    return Array.prototype.filter.call(
      form.querySelectorAll("input[name=" + name + "]"), function (box) { return box.checked; }
    ).map(function (box) { return box.value; });
  }

  function madeByAll(size, models) {
    var by = makers[size] || [];
    return models.every(function (model) { return by.indexOf(model) !== -1; });
  }

  function mark() {
    var models = ticked("models");
    fieldset.querySelectorAll("input[name=sizes]").forEach(function (box) {
      var partial = models.length > 0 && !madeByAll(box.value, models);
      box.closest("label").classList.toggle("partial", partial);
    });
  }

  function followModels() {
    var models = ticked("models");
    var boxes = Array.prototype.slice.call(fieldset.querySelectorAll("input[name=sizes]"));
    var everywhere = boxes.filter(function (box) { return madeByAll(box.value, models); });
    if (!models.length || !everywhere.length) return;
    var kept = false;
    boxes.forEach(function (box) {
      if (box.checked && everywhere.indexOf(box) === -1) box.checked = false;
      kept = kept || box.checked;
    });
    if (!kept) everywhere[0].checked = true;
  }

  // In the capture phase, so the sizes are right before htmx sends the preview request
  // this same change triggers.
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box || box.form !== form) return;
    if (box.name === "sizes") fieldset.setAttribute("data-sizes-chosen", "");
    if (box.name === "models") {
      if (!fieldset.hasAttribute("data-sizes-chosen")) followModels();
      mark();
    }
  }, true);
  mark();
})();
