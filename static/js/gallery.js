// The gallery's tiles: multi-select with a floating action bar, and stars kept in step.
//
// The selection is a list of image ids per team in sessionStorage, not the ticks on
// the page: the history's live refresh replaces every tile every time something
// changes, and paging replaces them too, so after each swap the ticks are drawn again
// from the stored list. The bar (templates/gallery/_selection.html) sends the stored
// ids as hidden inputs, so images ticked on another page go along.
//
// Stars: a star's answer triggers "favourite-changed" ({image, favourited}); every tile
// of that image and its lightbox link ([data-favourited]) follow. The lightbox may
// dispatch the same event on document after starring by its "f" key.
(function () {
  "use strict";

  function bar() { return document.getElementById("selection-form"); }

  function storageKey(form) { return "gallery-selection:" + form.dataset.team; }

  function load(form) {
    try {
      var ids = JSON.parse(sessionStorage.getItem(storageKey(form)) || "[]");
      return Array.isArray(ids) ? ids.map(String).filter(function (id) { return /^\d+$/.test(id); }) : [];
    } catch (error) {
      return [];
    }
  }

  function save(form, ids) {
    try {
      sessionStorage.setItem(storageKey(form), JSON.stringify(ids));
    } catch (error) {
      // Private mode without storage: the ticks of this page still work.
    }
  }

  function showNewName(scope) {
    scope.querySelectorAll("[data-collection-choice]").forEach(function (select) {
      var name = select.closest("form").querySelector("[data-new-name]");
      if (name) name.hidden = select.value !== "new";
    });
  }

  function draw() {
    var form = bar();
    if (!form) return;
    var ids = load(form);
    var chosen = new Set(ids);
    document.querySelectorAll("[data-select-image]").forEach(function (box) {
      // With this script the hidden inputs carry the selection, ticks of other pages too.
      box.removeAttribute("form");
      box.checked = chosen.has(box.value);
      var tile = box.closest(".tile");
      if (tile) tile.classList.toggle("is-selected", box.checked);
    });
    var holder = form.querySelector("[data-selection-ids]");
    holder.replaceChildren.apply(holder, ids.map(function (id) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = "image";
      input.value = id;
      return input;
    }));
    var count = form.querySelector("[data-selection-count]");
    count.textContent = interpolate(gettext("%(n)s selected"), { n: ids.length }, true);
    var compare = form.querySelector("[data-compare]");
    compare.hidden = false;
    if (ids.length >= 2 && ids.length <= 4) {
      compare.href = form.dataset.compareUrl + "?images=" + ids.join(",");
      compare.removeAttribute("aria-disabled");
      compare.removeAttribute("role");
      compare.removeAttribute("tabindex");
      compare.removeAttribute("title");
    } else {
      // Still reachable by Tab, so its hint can be heard; a click does nothing.
      compare.removeAttribute("href");
      compare.setAttribute("role", "link");
      compare.setAttribute("tabindex", "0");
      compare.setAttribute("aria-disabled", "true");
      compare.title = gettext("Tick 2 to 4 images to compare them.");
    }
    var news = form.classList.contains("has-news");
    form.querySelector(".selection-actions").hidden = ids.length === 0;
    // After an add the bar only says where the images went: its button closes it.
    var clear = form.querySelector("[data-selection-clear]");
    clear.hidden = false;
    clear.textContent = ids.length === 0 && news ? gettext("Close") : gettext("Clear");
    count.hidden = ids.length === 0;
    form.classList.add("floating");
    form.hidden = ids.length === 0 && !news;
    document.body.classList.toggle("selecting", ids.length > 0);
    document.body.classList.toggle("has-selection-bar", !form.hidden);
    showNewName(form);
  }

  function endNews(form) {
    form.classList.remove("has-news");
    var status = form.querySelector("#selection-status");
    if (status) status.replaceChildren();
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-collection-choice]")) {
      showNewName(target.closest("form"));
      var name = target.closest("form").querySelector("[data-new-name] input");
      if (name && target.value === "new") name.focus();
      return;
    }
    if (!target.matches("[data-select-image]")) return;
    var form = bar();
    if (!form) return;
    var ids = load(form).filter(function (id) { return id !== target.value; });
    if (target.checked) ids.push(target.value);
    save(form, ids);
    endNews(form);
    draw();
  });

  document.addEventListener("click", function (event) {
    var clear = event.target.closest("[data-selection-clear]");
    if (clear) {
      var form = bar();
      save(form, []);
      endNews(form);
      draw();
      var main = document.getElementById("main");
      if (main) main.focus();
      return;
    }
    var compare = event.target.closest("[data-compare][aria-disabled=true]");
    if (compare) event.preventDefault();
  });

  // Added from the bar: the selection is done with; the bar stays to say where it went.
  document.addEventListener("collection-added", function (event) {
    var form = bar();
    if (!form || !form.contains(event.target)) return;
    save(form, []);
    form.classList.add("has-news");
    var name = form.querySelector("input[name=new_name]");
    if (name) name.value = "";
    draw();
  });

  document.addEventListener("htmx:responseError", function (event) {
    var form = bar();
    if (!form || !form.contains(event.detail.elt)) return;
    var status = form.querySelector("#selection-status");
    var problem = document.createElement("p");
    problem.className = "selection-problem";
    problem.setAttribute("role", "alert");
    problem.textContent = gettext(
      "Nothing was added: an image is no longer there or not yours to add. Reload the page and try again."
    );
    status.replaceChildren(problem);
  });

  document.addEventListener("favourite-changed", function (event) {
    var detail = event.detail || {};
    var id = String(detail.image);
    var on = Boolean(detail.favourited);
    document.querySelectorAll("[data-lightbox][data-image-id='" + id + "']").forEach(function (link) {
      link.dataset.favourited = on ? "true" : "false";
    });
    document.querySelectorAll("[data-favourite-form='" + id + "']").forEach(function (form) {
      var button = form.querySelector("button.star");
      var label = on ? gettext("Remove from favourites") : gettext("Add to favourites");
      button.setAttribute("aria-pressed", on ? "true" : "false");
      button.setAttribute("aria-label", label);
      button.title = label;
      button.value = on ? "off" : "on";
      button.textContent = on ? "★" : "☆";
    });
  });

  document.addEventListener("htmx:afterSwap", draw);
  document.addEventListener("htmx:oobAfterSwap", draw);
  document.addEventListener("DOMContentLoaded", draw);
})();
