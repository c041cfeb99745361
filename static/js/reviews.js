// Reviews in the lightbox, and the tiles' review badges.
//
// The lightbox (lightbox.js) says which link it shows ("lightbox:shown"); its review
// part (reviews/_lightbox_panel.html) is filled from that link's data-review-*
// attributes (reviews/_lightbox_data.html): the status, and where a decision or a
// request goes for a person who may make it. A (approve) and C (request changes) are
// this script's keys; → (next) stays the lightbox's. The answer's "review-changed"
// event brings every tile's badge and every link's data up to date, here and after
// the same buttons on a job's page (htmx).
(function () {
  "use strict";

  var TYPING = "input, select, textarea, [contenteditable]";
  var shown = null; // the link the lightbox shows

  function dialog() {
    return document.querySelector("dialog.lightbox");
  }

  function part(box, name) {
    return box.querySelector("[data-lightbox-" + name + "]");
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  function say(box, text) {
    var status = part(box, "status");
    if (status) status.textContent = text || "";
  }

  function fill(box, link) {
    var data = link.dataset;
    var panel = part(box, "review");
    if (!panel) return;
    var decide = Boolean(data.reviewDecide);
    var request = Boolean(data.reviewRequest);
    var status = data.reviewStatus || "none";
    var badge = part(box, "review-status");
    badge.className = "review-badge review-" + status;
    badge.textContent = data.reviewLabel || "";
    badge.hidden = !data.reviewLabel || status === "none";
    part(box, "review-decide").hidden = !decide;
    part(box, "review-request").hidden = !request;
    panel.hidden = !decide && !request && badge.hidden;
    box.querySelectorAll('.lightbox-keys [data-key="a"], .lightbox-keys [data-key="c"]').forEach(
      function (each) {
        each.hidden = !decide;
      }
    );
  }

  document.addEventListener("lightbox:shown", function (event) {
    shown = event.detail.link;
    var box = event.target;
    var note = part(box, "review-note");
    if (note) note.value = "";
    fill(box, shown);
  });

  function post(url, fields, box) {
    var body = new FormData();
    Object.keys(fields).forEach(function (name) {
      body.append(name, fields[name]);
    });
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true" },
    })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        var header = response.headers.get("HX-Trigger");
        if (header) {
          var events = JSON.parse(header);
          if (events["review-changed"]) {
            changed(events["review-changed"]);
            return true;
          }
        }
        // No event: the request was refused with a reason, in the answer's alert.
        return response.text().then(function (html) {
          var answer = new DOMParser().parseFromString(html, "text/html");
          var alert = answer.querySelector("[role=alert]");
          say(box, alert ? alert.textContent.trim() : gettext("That did not work. Try again."));
          return false;
        });
      })
      .catch(function () {
        say(box, gettext("That did not work. Try again."));
        return false;
      });
  }

  function decide(status) {
    var box = dialog();
    if (!box || !shown || !shown.dataset.reviewDecide) return;
    var note = part(box, "review-note");
    post(shown.dataset.reviewDecide, { status: status, note: note ? note.value : "" }, box).then(
      function (ok) {
        if (!ok) return;
        if (note) note.value = "";
        say(box, status === "approved" ? gettext("Approved.") : gettext("Changes requested."));
      }
    );
  }

  function requestReview() {
    var box = dialog();
    if (!box || !shown || !shown.dataset.reviewRequest) return;
    var chosen = part(box, "reviewer");
    post(shown.dataset.reviewRequest, { reviewer: chosen ? chosen.value : "" }, box).then(
      function (ok) {
        if (ok) say(box, gettext("Review requested."));
      }
    );
  }

  // Every link and badge of this image, and the lightbox if it shows it.
  function changed(detail) {
    var id = String(detail.image);
    document.querySelectorAll('a[data-lightbox][data-image-id="' + id + '"]').forEach(
      function (link) {
        link.setAttribute("data-review-status", detail.status);
        link.setAttribute("data-review-label", detail.label);
      }
    );
    document.querySelectorAll('[data-review-badge="' + id + '"]').forEach(function (badge) {
      badge.className = "review-badge tile-review review-" + detail.status;
      badge.textContent = detail.label;
      badge.hidden = detail.status === "none";
    });
    var box = dialog();
    if (box && box.open && shown && shown.getAttribute("data-image-id") === id) fill(box, shown);
  }

  // After the job page's own forms (htmx), the tiles and links follow too.
  document.addEventListener("review-changed", function (event) {
    changed(event.detail || {});
  });

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!target.closest || !target.closest("dialog.lightbox")) return;
    var button = target.closest("[data-lightbox-decide]");
    if (button) {
      decide(button.getAttribute("data-lightbox-decide"));
    } else if (target.closest("[data-lightbox-request-review]")) {
      requestReview();
    }
  });

  // A and C, while the lightbox is open and nobody is typing (the note, the picker).
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    var box = event.target.closest && event.target.closest("dialog.lightbox");
    if (!box || !box.open || event.target.closest(TYPING)) return;
    var key = event.key.toLowerCase();
    if (key !== "a" && key !== "c") return;
    if (!shown || !shown.dataset.reviewDecide) return;
    event.preventDefault();
    decide(key === "a" ? "approved" : "changes_requested");
  });

  // --- A decision made by someone else ---------------------------------------------
  // A job's page (and the Review page) shows each image's panel as it was when drawn.
  // When the bell's count rises (a review asked of this person, a decision on their
  // image: the event notifications.js gets from the live refresh), the page is asked
  // once more and its panels and lightbox links take the new state, so the panel never
  // says "Needs review" under a thread that says otherwise. A panel in which the person
  // is writing a note is left as it is.
  var unread = null;

  function refreshPanels() {
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (response) {
        return response.ok ? response.text() : "";
      })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll(".review-panel[id]").forEach(function (panel) {
          var next = fresh.getElementById(panel.id);
          var note = panel.querySelector("textarea");
          if (!next || panel.contains(document.activeElement) || (note && note.value.trim())) {
            return;
          }
          panel.replaceWith(next);
          if (window.htmx) window.htmx.process(next);
        });
        fresh.querySelectorAll("a[data-lightbox][data-image-id]").forEach(function (link) {
          changed({
            image: link.getAttribute("data-image-id"),
            status: link.getAttribute("data-review-status") || "none",
            label: link.getAttribute("data-review-label") || "",
          });
        });
      })
      .catch(function () {});
  }

  document.addEventListener("notifications-changed", function (event) {
    var count = (event.detail || {}).unread;
    if (typeof count !== "number") return;
    if (unread === null) {
      // The count the page was drawn with (this script's listener runs before
      // notifications.js's, which writes the new one).
      var drawn = document.querySelector("[data-bell-count]");
      unread = drawn ? parseInt(drawn.textContent, 10) || 0 : 0;
    }
    var rose = count > unread;
    unread = count;
    if (rose && document.querySelector(".review-panel[id]")) refreshPanels();
  });

  // The lightbox's note names people as a comment does (it becomes one): it asks for
  // them where the shown image's thread does, once that thread has loaded.
  document.addEventListener("focusin", function (event) {
    var note = event.target;
    if (!note.matches || !note.matches("[data-lightbox-review-note]")) return;
    var box = note.closest("dialog.lightbox");
    var thread = box && box.querySelector(".lightbox-comments textarea[data-mentions]");
    if (thread) note.setAttribute("data-mentions", thread.getAttribute("data-mentions"));
    else note.removeAttribute("data-mentions");
  });

  // A collection's review filter applies as soon as it changes.
  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form[data-review-autosubmit]");
    if (form) form.requestSubmit();
  });
})();
