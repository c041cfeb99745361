// The studio from the keyboard: Ctrl+Enter (⌘+Enter) generates from anywhere in the
// form, and after htmx swaps the form (a model switch, Generate, an error) the focus
// stays in it instead of falling back to the page's body: on the news of the queued
// job, on the first field in error, or on the model tab just chosen.
(function () {
  "use strict";

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    var form = event.target.closest && event.target.closest("#generation-form");
    if (!form) return;
    event.preventDefault();
    // Generate is disabled when no key can pay (the form says why): so is its shortcut.
    var generate = form.querySelector("button[type=submit]:not([formaction])");
    if (generate && generate.disabled) return;
    form.requestSubmit();
  });

  function focusIn(form) {
    var target =
      form.querySelector("[data-autofocus]") ||
      form.querySelector(".has-error input, .has-error select, .has-error textarea") ||
      form.querySelector(".errorlist[role=alert]");
    if (!target) return;
    if (!target.matches("a, button, input, select, textarea, [tabindex]")) {
      target.setAttribute("tabindex", "-1");
    }
    target.focus();
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    // Only when the form itself was replaced: a live refresh inside it moves nothing.
    if (event.detail.target.id !== "generation-form") return;
    var form = document.getElementById("generation-form");
    if (form) focusIn(form);
  });
})();

// On a phone (narrow screen), the form and the history are two tabs, so neither is an
// endless scroll away from the other. The tab bar is only
// shown where CSS says the screen is narrow.
(function () {
  "use strict";

  function studio() { return document.getElementById("studio"); }

  function show(pane) {
    var root = studio();
    if (!root) return;
    root.dataset.pane = pane;
    root.querySelectorAll(".pane-tabs [role=tab]").forEach(function (tab) {
      tab.setAttribute("aria-selected", String(tab.dataset.pane === pane));
      tab.tabIndex = tab.dataset.pane === pane ? 0 : -1;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = studio();
    var tabs = root && root.querySelector(".pane-tabs");
    if (!tabs) return;
    tabs.hidden = false;
    show(new URLSearchParams(location.search).has("before") ? "history" : "form");
    tabs.addEventListener("click", function (event) {
      var tab = event.target.closest("[role=tab]");
      if (tab) show(tab.dataset.pane);
    });
    tabs.addEventListener("keydown", function (event) {
      if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
      var next = studio().dataset.pane === "form" ? "history" : "form";
      show(next);
      document.getElementById("tab-" + next).focus();
    });
  });
})();

// An error goes as soon as its cause is fixed, not at the next press of Generate: the
// prompt's once the live counter says it fits, "17 reference images" once enough of
// them were removed.
(function () {
  "use strict";

  function clear(selector) {
    document.querySelectorAll(selector).forEach(function (el) {
      var field = el.closest(".has-error");
      if (field) field.classList.remove("has-error");
      var alert = el.closest("[role=alert]");
      el.remove();
      if (alert && !alert.querySelector("li, p")) alert.remove();
    });
  }

  document.addEventListener("htmx:afterSettle", function () {
    var counter = document.getElementById("prompt-count");
    if (counter && counter.dataset.promptOk === "true") {
      clear("#field-prompt .errorlist");
    }
  });

  // After a failed Generate the size's messages stand next to its fields; the live line
  // (#size-preview) would say them again, all run together, at its next refresh (adding a
  // reference is one). One message at a time: while the size is still the one sent, the
  // fields' own messages speak and the line keeps quiet; once it is changed, theirs are
  // out of date and go, and the line speaks for the new values.
  var SIZE_FIELDS = ["size", "resolution", "width", "height"];
  var SIZE_ERRORS = SIZE_FIELDS.map(function (name) {
    return "#field-" + name + " .errorlist";
  }).join(", ");
  function sizeAsSent() {
    return SIZE_FIELDS.every(function (name) {
      var input = document.querySelector("#generation-form [name=" + name + "]");
      if (!input) return true;
      if (input.tagName === "SELECT") {
        return Array.prototype.every.call(input.options, function (option) {
          return option.selected === option.defaultSelected;
        });
      }
      return input.value === input.defaultValue;
    });
  }
  document.addEventListener("htmx:afterSettle", function () {
    var preview = document.getElementById("size-preview");
    if (!preview || !document.querySelector(SIZE_ERRORS)) return;
    if (sizeAsSent()) {
      preview.querySelectorAll(".warn").forEach(function (warn) { warn.remove(); });
    } else {
      clear(SIZE_ERRORS);
    }
  });

  // The event is sent on the body (references.js); this script runs deferred, so the
  // body exists.
  document.body.addEventListener("references-changed", check);
  function check() {
    var zone = document.getElementById("dropzone");
    var list = document.getElementById("reference-list");
    if (!zone || !list) return;
    var max = parseInt(zone.dataset.max, 10);
    if (list.querySelectorAll(".reference-chip:not(.uploading)").length <= max) {
      clear("[data-clears-when=references-ok]");
    }
  }
})();

// The language menu (_language_menu.html) brings the person back to the page as it is
// now: filters and paging change the address without reloading the header.
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var menu = event.target.closest && event.target.closest("[data-language-menu]");
    if (!menu) return;
    menu.querySelector("[name=next]").value = window.location.pathname + window.location.search;
  });
})();
