// The bell, and browser notifications when a job of yours ends while the tab is hidden.
//
// The bell (templates/notifications/_bell.html) opens a panel that htmx loads when it
// opens ("bell-open"); Esc or a click elsewhere closes it. Its count is carried by the
// live refresh that already runs: every self-refreshing fragment's answer has a
// "notifications-changed" event ({unread, label}) in its HX-Trigger header
// (playground/notifications/middleware.py), so the bell asks nothing by itself.
//
// Browser notifications (the Notifications API) are asked for only after a click on
// "Notify me in the browser". Then, each time a live refresh swaps in a job of yours
// ([data-mine], with its [data-state]) that was in flight and has ended, and the tab is
// hidden, the browser shows one notification.
(function () {
  "use strict";

  var IN_FLIGHT = ["queued", "submitting", "running", "archiving"];

  function bell() { return document.querySelector("[data-bell]"); }
  function panel() { return document.getElementById("bell-panel"); }

  function setOpen(open) {
    var root = bell();
    if (!root) return;
    var button = root.querySelector("[data-bell-button]");
    button.setAttribute("aria-expanded", open ? "true" : "false");
    var box = panel();
    if (!box) return;
    if (open) {
      // htmx swaps in a fresh, visible panel (hx-trigger="bell-open").
      box.dispatchEvent(new CustomEvent("bell-open"));
    } else {
      box.hidden = true;
    }
  }

  function isOpen() {
    var root = bell();
    return !!root && root.querySelector("[data-bell-button]").getAttribute("aria-expanded") === "true";
  }

  document.addEventListener("click", function (event) {
    var root = bell();
    if (!root) return;
    var button = event.target.closest("[data-bell-button]");
    if (button) {
      // With this script the bell opens its panel instead of going to the page.
      event.preventDefault();
      setOpen(!isOpen());
      return;
    }
    if (isOpen() && !root.contains(event.target)) setOpen(false);
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !isOpen()) return;
    setOpen(false);
    bell().querySelector("[data-bell-button]").focus();
  });

  function showCount(unread, label) {
    var root = bell();
    if (!root) return;
    var count = root.querySelector("[data-bell-count]");
    count.textContent = String(unread);
    count.hidden = !unread;
    if (label) root.querySelector("[data-bell-label]").textContent = label;
  }

  document.addEventListener("notifications-changed", function (event) {
    var detail = event.detail || {};
    if (typeof detail.unread === "number") showCount(detail.unread, detail.label);
  });

  // --- Browser notifications ---------------------------------------------------------

  var supported = "Notification" in window;

  function drawBrowserChoice() {
    document.querySelectorAll("[data-browser-notify]").forEach(function (offer) {
      offer.hidden = !supported || Notification.permission !== "default";
    });
    document.querySelectorAll("[data-browser-notify-on]").forEach(function (note) {
      note.hidden = !supported || Notification.permission !== "granted";
    });
  }

  document.addEventListener("click", function (event) {
    if (!event.target.closest("[data-browser-notify-ask]") || !supported) return;
    // Asked only here, after the person's own click.
    Notification.requestPermission().then(drawBrowserChoice);
  });

  // The last state seen of each of the person's jobs on this page, by element id.
  var seen = {};

  function jobLabel(element) {
    var title = element.querySelector(".item-title") || element.querySelector("h1");
    if (!title) return "";
    var first = title.firstChild;
    return (first && first.textContent ? first.textContent : title.textContent).trim();
  }

  function jobLink(element) {
    var link = element.querySelector("a.item-title");
    return link ? link.href : window.location.href;
  }

  function tell(element, state) {
    var label = jobLabel(element);
    var text = state === "completed"
      ? interpolate(gettext("Your job %s is done"), [label])
      : interpolate(gettext("Your job %s has ended"), [label]);
    var shown = new Notification(text, { tag: "job-" + element.id, lang: document.documentElement.lang });
    var url = jobLink(element);
    shown.onclick = function () {
      window.focus();
      if (url !== window.location.href) window.location.href = url;
      shown.close();
    };
  }

  function watchJobs() {
    var canTell = supported && Notification.permission === "granted" && document.hidden;
    document.querySelectorAll("[data-mine][data-state]").forEach(function (element) {
      if (!element.id) return;
      var state = element.dataset.state;
      var before = seen[element.id];
      if (canTell && before && IN_FLIGHT.indexOf(before) >= 0 && IN_FLIGHT.indexOf(state) < 0) {
        tell(element, state);
      }
      seen[element.id] = state;
    });
  }

  document.addEventListener("htmx:afterSettle", function () {
    drawBrowserChoice();
    watchJobs();
    // After "Mark read" or "Mark all read" the button pressed is gone: the focus goes
    // to the panel's heading, not to the top of the page.
    var box = panel();
    if (box && !box.hidden && isOpen() && document.activeElement === document.body) {
      var heading = box.querySelector("h2");
      if (heading) heading.focus();
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    drawBrowserChoice();
    watchJobs();
  });
})();
