// The lightbox: any [data-lightbox] link (the image tile of every list, a job's page,
// a comparison) opens its image full-screen instead of following the link. Without
// JavaScript, or with a modifier key or the middle button, the link opens the job's
// page as before.
//
// "The current list" is every [data-lightbox] link of the page in document order, read
// again at each move: the history is replaced by live refreshes while the lightbox is
// open, so holding on to elements would walk a list that is no longer on the page.
// The image shown is remembered by its id; if it left the list, the arrows continue
// from where it was.
//
// A modal <dialog> (showModal) makes the page behind it inert and gives Esc for free;
// Tab is also kept inside it, and closing returns the focus to the opening tile.
(function () {
  "use strict";

  var dialog = null; // built from #lightbox-template (gallery/_lightbox.html) on first use
  var shownId = null; // data-image-id of the image shown
  var shownIndex = 0; // its place in the list when shown, for when it vanishes
  var openerId = null; // the tile that opened the lightbox gets the focus back
  var TYPING = "input, select, textarea, [contenteditable]";

  function part(name) {
    return dialog.querySelector("[data-lightbox-" + name + "]");
  }

  function links() {
    return Array.prototype.slice.call(document.querySelectorAll("a[data-lightbox]"));
  }

  function indexOf(list, id) {
    for (var i = 0; i < list.length; i++) {
      if (list[i].getAttribute("data-image-id") === id) return i;
    }
    return -1;
  }

  function linkOf(id) {
    var list = links();
    var i = indexOf(list, id);
    return i === -1 ? null : list[i];
  }

  // "by alice": the words in the reader's language, the name marked as not to be
  // translated (a page checker and the browser's translator both leave it alone).
  function byline(name) {
    var words = gettext("by %(name)s").split("%(name)s");
    var who = document.createElement("span");
    who.setAttribute("translate", "no");
    who.textContent = name;
    return [words[0] || "", who, words.slice(1).join("")];
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  function isFavourited(link) {
    var value = link.getAttribute("data-favourited");
    return value !== null && value !== "false" && value !== "0";
  }

  function say(text) {
    part("status").textContent = text || "";
  }

  function build() {
    if (dialog) return dialog;
    var template = document.getElementById("lightbox-template");
    if (!template) return null;
    dialog = template.content.firstElementChild.cloneNode(true);
    document.body.appendChild(dialog);
    dialog.addEventListener("click", onClick);
    dialog.addEventListener("keydown", onKey);
    dialog.addEventListener("close", onClose);
    var stage = part("stage");
    var image = part("image");
    image.addEventListener("load", function () {
      stage.classList.remove("loading");
    });
    image.addEventListener("error", function () {
      stage.classList.remove("loading");
    });
    watchSwipes(stage);
    return dialog;
  }

  function open(link) {
    if (!build()) return;
    openerId = link.getAttribute("data-image-id");
    show(link);
    if (!dialog.open) dialog.showModal();
    document.documentElement.classList.add("lightbox-open");
    part("close").focus();
  }

  // Fill the lightbox from one link's data-* attributes (the tile's contract).
  function show(link) {
    var data = link.dataset;
    var list = links();
    shownId = data.imageId;
    shownIndex = Math.max(list.indexOf(link), 0);
    var stage = part("stage");
    var image = part("image");
    if (image.getAttribute("src") !== data.full) {
      stage.classList.add("loading");
      image.setAttribute("src", data.full);
    }
    // A transparent image on a checkerboard (data-alpha, gallery/_lightbox_data.html).
    image.classList.toggle("alpha", data.alpha === "true");
    image.setAttribute("alt", data.title || "");
    part("title").textContent = data.title || "";
    part("prompt").textContent = data.prompt || "";
    part("settings").textContent = data.settings || "";
    part("by").replaceChildren.apply(part("by"), byline(data.by || ""));
    var when = part("when");
    when.setAttribute("datetime", data.when || "");
    var date = data.when ? new Date(data.when) : null;
    when.textContent =
      date && !isNaN(date)
        ? date.toLocaleString(document.documentElement.lang || undefined, {
            dateStyle: "medium",
            timeStyle: "short",
          })
        : "";
    setHref(part("download"), data.download);
    if (part("edit")) setHref(part("edit"), data.edit);
    if (part("mask-edit")) setHref(part("mask-edit"), data.maskEdit);
    // On the job's own page, a link to it would only reload it.
    setHref(part("detail"), data.detail === window.location.pathname ? "" : data.detail);
    part("detail").parentElement.hidden = part("detail").hidden;
    var editKey = dialog.querySelector('.lightbox-keys [data-key="e"]');
    if (editKey) editKey.hidden = !data.edit;
    var maskKey = dialog.querySelector('.lightbox-keys [data-key="m"]');
    if (maskKey) maskKey.hidden = !data.maskEdit;
    var star = part("favourite");
    star.hidden = !data.favouriteUrl;
    dialog.querySelector('.lightbox-keys [data-key="f"]').hidden = !data.favouriteUrl;
    showStar(isFavourited(link));
    part("collect").hidden = !document.getElementById("collection-picker");
    closePicker();
    say("");
    place(list);
    preload(list);
    // Whatever follows the image shown fills itself from it: its thread (comments.js)
    // by the image's id, its review part (reviews.js) from the same link.
    dialog.dispatchEvent(
      new CustomEvent("lightbox:shown", { bubbles: true, detail: { imageId: shownId, link: link } })
    );
  }

  function setHref(anchor, href) {
    anchor.hidden = !href;
    if (href) anchor.setAttribute("href", href);
    else anchor.removeAttribute("href");
  }

  // The counter and the arrows, for the list as it is now.
  function place(list) {
    var i = indexOf(list, shownId);
    part("counter").textContent =
      i === -1 || list.length < 2
        ? ""
        : interpolate(gettext("%(current)s of %(total)s"), { current: i + 1, total: list.length }, true);
    var prev = dialog.querySelector('[data-lightbox-move="-1"]');
    var next = dialog.querySelector('[data-lightbox-move="1"]');
    // aria-disabled, not disabled: a disabled button would drop the focus out of the dialog.
    // One image alone has nowhere to go: no arrows at all.
    var alone = list.length <= 1;
    prev.hidden = next.hidden = alone;
    dialog.querySelector('.lightbox-keys [data-key="arrows"]').hidden = alone;
    prev.setAttribute("aria-disabled", String(i === -1 ? shownIndex <= 0 : i <= 0));
    next.setAttribute(
      "aria-disabled",
      String(i === -1 ? shownIndex >= list.length : i >= list.length - 1)
    );
  }

  function preload(list) {
    var i = indexOf(list, shownId);
    [list[i - 1], list[i + 1]].forEach(function (link) {
      if (link) new Image().src = link.getAttribute("data-full");
    });
  }

  function move(step) {
    var list = links();
    if (!list.length) return;
    var i = indexOf(list, shownId);
    // Gone from the list (a live refresh, a deletion): the image now at its place is
    // "next", the one before it "previous".
    var target = i === -1 ? shownIndex + (step > 0 ? 0 : -1) : i + step;
    if (target < 0 || target >= list.length) return;
    show(list[target]);
  }

  function close() {
    if (dialog && dialog.open) dialog.close();
  }

  function onClose() {
    document.documentElement.classList.remove("lightbox-open");
    var back = linkOf(openerId) || linkOf(shownId);
    if (back) {
      back.focus();
    } else {
      document.getElementById("main").focus();
    }
  }

  // --- Actions -----------------------------------------------------------------------

  function showStar(on) {
    var star = part("favourite");
    star.setAttribute("aria-pressed", String(on));
    star.querySelector(".star").textContent = on ? "★" : "☆";
    star.querySelector("[data-label]").textContent = on ? gettext("Favourited") : gettext("Favourite");
  }

  // The star: the same route as the tile's star (gallery/_favourite.html), asking for
  // the state wanted, not a toggle, so a repeated press cannot undo itself. The
  // server's "favourite-changed" event brings every tile's star up to date
  // (static/js/gallery.js) and, below, every link's data-favourited.
  function toggleFavourite() {
    var link = linkOf(shownId);
    if (!link || !link.dataset.favouriteUrl) return;
    var body = new FormData();
    body.append("favourited", isFavourited(link) ? "off" : "on");
    fetch(link.dataset.favouriteUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true" },
    })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        triggered(response.headers.get("HX-Trigger"));
      })
      .catch(function () {
        say(gettext("The star could not be saved. Try again."));
      });
  }

  document.addEventListener("favourite-changed", function (event) {
    var detail = event.detail || {};
    var id = String(detail.image);
    var on = Boolean(detail.favourited);
    links().forEach(function (each) {
      if (each.getAttribute("data-image-id") === id) {
        each.setAttribute("data-favourited", String(on));
      }
    });
    if (dialog && dialog.open && shownId === id) showStar(on);
  });

  function closePicker() {
    var holder = part("collect-form");
    holder.hidden = true;
    holder.textContent = "";
    part("collect").setAttribute("aria-expanded", "false");
  }

  // "Add to collection": the page's own picker form (gallery/_selection.html), for
  // this image. htmx posts it and shows the answer (what was added, with a link to the
  // collection, or what to fix) in the form's own status line.
  function togglePicker() {
    var holder = part("collect-form");
    if (!holder.hidden) {
      closePicker();
      return;
    }
    var template = document.getElementById("collection-picker");
    var source = template && template.content.querySelector("form");
    if (!source) return;
    var form = source.cloneNode(true);
    var field = form.querySelector('[name="image"]');
    if (field) field.value = shownId;
    holder.appendChild(form);
    if (window.htmx) window.htmx.process(form);
    holder.hidden = false;
    part("collect").setAttribute("aria-expanded", "true");
    var first = form.querySelector("select, input:not([type=hidden]), button");
    if (first) first.focus();
  }

  // What htmx would do with the answer's HX-Trigger header, for answers fetched here.
  function triggered(header) {
    if (!header) return;
    var events;
    try {
      events = JSON.parse(header);
    } catch (error) {
      events = {};
      header.split(",").forEach(function (name) {
        if (name.trim()) events[name.trim()] = null;
      });
    }
    Object.keys(events).forEach(function (name) {
      var value = events[name];
      var detail = value && typeof value === "object" ? value : { value: value };
      document.body.dispatchEvent(new CustomEvent(name, { bubbles: true, detail: detail }));
    });
  }

  // --- Events ------------------------------------------------------------------------

  function onClick(event) {
    var target = event.target;
    var mover = target.closest("[data-lightbox-move]");
    if (mover) {
      move(Number(mover.getAttribute("data-lightbox-move")));
    } else if (target.closest("[data-lightbox-close]")) {
      close();
    } else if (target.closest("[data-lightbox-favourite]")) {
      toggleFavourite();
    } else if (target.closest("[data-lightbox-collect]")) {
      togglePicker();
    } else if (target === part("stage")) {
      close(); // the dark space around the image, as in every lightbox
    }
  }

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Tab") {
      keepFocusInside(event);
      return;
    }
    if (event.target.closest(TYPING)) return; // typing in the collection form
    var key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    var act = {
      ArrowLeft: function () {
        move(-1);
      },
      ArrowRight: function () {
        move(1);
      },
      f: toggleFavourite,
      d: function () {
        var download = part("download");
        if (!download.hidden) download.click();
      },
      e: function () {
        var edit = part("edit");
        if (edit && !edit.hidden) window.location.assign(edit.href);
      },
      m: function () {
        var maskEdit = part("mask-edit");
        if (maskEdit && !maskEdit.hidden) window.location.assign(maskEdit.href);
      },
    }[key];
    if (!act) return;
    event.preventDefault();
    act();
  }

  function keepFocusInside(event) {
    var focusable = Array.prototype.filter.call(
      dialog.querySelectorAll("a[href], button, input, select, textarea, [tabindex]"),
      function (each) {
        return (
          !each.disabled && each.tabIndex >= 0 && each.getClientRects().length > 0
        );
      }
    );
    if (!focusable.length) return;
    var first = focusable[0];
    var last = focusable[focusable.length - 1];
    var active = document.activeElement;
    if (event.shiftKey && (active === first || !dialog.contains(active))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (active === last || !dialog.contains(active))) {
      event.preventDefault();
      first.focus();
    }
  }

  // A horizontal swipe on the image moves, as the arrows do.
  function watchSwipes(stage) {
    var start = null;
    stage.addEventListener(
      "touchstart",
      function (event) {
        start = event.touches.length === 1 ? event.touches[0] : null;
        if (start) start = { x: start.clientX, y: start.clientY };
      },
      { passive: true }
    );
    stage.addEventListener("touchend", function (event) {
      if (!start) return;
      var end = event.changedTouches[0];
      var dx = end.clientX - start.x;
      var dy = end.clientY - start.y;
      start = null;
      if (Math.abs(dx) > 50 && Math.abs(dx) > 1.5 * Math.abs(dy)) move(dx < 0 ? 1 : -1);
    });
  }

  // Open from any list: capture-free delegation, so tiles added by htmx work at once.
  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    var link = event.target.closest && event.target.closest("a[data-lightbox]");
    if (!link || !document.getElementById("lightbox-template")) return;
    event.preventDefault();
    open(link);
  });

  // A live refresh changed the list under the open lightbox: renumber, and say so if
  // the image shown has left it (it stays on screen until the person moves).
  document.addEventListener("htmx:afterSettle", function () {
    if (!dialog || !dialog.open) return;
    var list = links();
    place(list);
    if (indexOf(list, shownId) === -1) {
      say(gettext("This image is no longer in the list (the history changed)."));
    }
  });
})();

// A comparison's "Copy link": the page's address is what is shared. Where the
// clipboard is not available (a plain-http address), the link is selected instead.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy-link]");
    if (!button) return;
    var field = document.querySelector(button.getAttribute("data-copy-link"));
    var status = button.parentElement.querySelector("[data-copy-status]");
    var url = field ? field.value : window.location.href;

    function done(copied) {
      if (status) {
        // A field that is not a link (an API token) says so in its status's data-*.
        status.textContent = copied
          ? status.getAttribute("data-copied") || gettext("Link copied")
          : status.getAttribute("data-not-copied") || gettext("Select the link and copy it");
      }
      if (!copied && field) field.select();
    }

    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(url).then(
        function () {
          done(true);
        },
        function () {
          done(false);
        }
      );
    } else {
      done(false);
    }
  });
})();
