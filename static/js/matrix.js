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
