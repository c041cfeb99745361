// Comment threads (templates/comments/_thread.html): the lightbox's thread, the live
// refresh of every thread on the page, the @-autocomplete, and Ctrl+Enter to post.
//
// Live: every few seconds, while the tab is visible, one request names every thread
// list of the page with its stamp (comments_live); the answer is empty (204) when
// nothing changed, else the lists that changed, each put in place of the list with its
// id. Only lists are replaced, never a form, so a half-written comment stays; a list in
// which the person is editing a comment waits for the next change.
(function () {
  "use strict";

  function lists() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-comment-list]"));
  }

  // --- Live -----------------------------------------------------------------------
  // The poller is #comments-live (templates/comments/_live.html, on every page): htmx
  // asks on its interval; here each request is given the page's threads, or cancelled
  // when the page shows none or the tab is hidden, and the answer is put in place.

  document.addEventListener("htmx:confirm", function (event) {
    if (event.target.id !== "comments-live") return;
    if (document.hidden || !lists().length) event.preventDefault();
  });

  document.addEventListener("htmx:configRequest", function (event) {
    if (event.target.id !== "comments-live") return;
    event.detail.parameters.t = lists().map(function (list) {
      var place = list.getAttribute("data-place") || "";
      var name = (place ? place + "~" : "") + list.getAttribute("data-comment-list");
      return name + ":" + list.getAttribute("data-stamp");
    });
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.target.id !== "comments-live") return;
    var xhr = event.detail.xhr;
    if (xhr && xhr.status === 200 && xhr.responseText) replaceLists(xhr.responseText);
  });

  function replaceLists(html) {
    var holder = document.createElement("template");
    holder.innerHTML = html;
    Array.prototype.slice.call(holder.content.querySelectorAll("[data-comment-list]")).forEach(
      function (fresh) {
        var old = document.getElementById(fresh.id);
        if (!old || old.querySelector("[data-comment-editing]")) return;
        old.replaceWith(fresh);
        if (window.htmx) window.htmx.process(fresh);
      }
    );
  }

  // --- The lightbox's thread ----------------------------------------------------------

  document.addEventListener("lightbox:shown", function (event) {
    var box = event.target.querySelector("[data-lightbox-comments]");
    if (!box || !window.htmx) return;
    var id = event.detail && event.detail.imageId;
    if (!id || box.getAttribute("data-image") === id) return;
    box.setAttribute("data-image", id);
    box.replaceChildren();
    var url = box.getAttribute("data-thread-url").replace("/0/", "/" + id + "/");
    window.htmx.ajax("GET", url + "?place=lightbox-", { target: box, swap: "innerHTML" });
  });

  // --- After a post: the focus back in the (new) box ------------------------------------

  // An outerHTML swap replaced the element htmx names: the new one has its id.
  document.addEventListener("htmx:afterSwap", function (event) {
    var old = event.detail.target;
    if (!old || !old.id) return;
    var target = document.getElementById(old.id) || old;
    if (target.matches(".comment-thread") || target.matches("[data-lightbox-comments]")) {
      var posted = target.querySelector(".comment-posted, .field-error");
      var box = target.querySelector("[data-comment-form] textarea");
      if (posted && box) box.focus();
    } else if (target.matches("li[data-comment-editing]")) {
      var edit = target.querySelector("textarea");
      if (edit) {
        edit.focus();
        edit.setSelectionRange(edit.value.length, edit.value.length);
      }
    }
  });

  // --- Ctrl+Enter posts -------------------------------------------------------------

  document.addEventListener("keydown", function (event) {
    var box = event.target;
    // Comment forms only: a review's note (also with mentions) has two submit buttons,
    // and which one is meant is the person's choice, not a shortcut's.
    if (!box.matches || !box.matches(".comment-form textarea[data-mentions]")) return;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !picker) {
      event.preventDefault();
      box.form.requestSubmit();
    }
  });

  // --- @-autocomplete ---------------------------------------------------------------
  // A listbox under the box while the word at the caret starts with "@"; ↑ ↓ choose,
  // Enter or Tab takes, Esc closes. Only the team's members are offered (the server
  // answers only a member of the team, with its members).

  var picker = null; // {box, list, items, active, start}
  var asked = 0;
  var MENTION_AT_CARET = /(^|[^\w@])@([\w.+-]*)$/;

  function closePicker() {
    if (!picker) return;
    picker.list.remove();
    picker.box.setAttribute("aria-expanded", "false");
    picker.box.removeAttribute("aria-activedescendant");
    picker = null;
  }

  function typed(box) {
    var before = box.value.slice(0, box.selectionStart);
    var match = MENTION_AT_CARET.exec(before);
    if (!match || box.selectionStart !== box.selectionEnd) return null;
    return { prefix: match[2], start: before.length - match[2].length - 1 };
  }

  function suggest(box) {
    var word = typed(box);
    if (!word) {
      closePicker();
      return;
    }
    var ask = ++asked;
    var url = box.getAttribute("data-mentions");
    fetch(url + "&q=" + encodeURIComponent(word.prefix), { credentials: "same-origin" })
      .then(function (response) {
        return response.ok ? response.json() : { people: [] };
      })
      .then(function (answer) {
        if (ask !== asked || document.activeElement !== box) return;
        show(box, word.start, answer.people || []);
      })
      .catch(closePicker);
  }

  function show(box, start, people) {
    closePicker();
    if (!people.length) return;
    var list = document.createElement("ul");
    list.className = "mention-picker";
    list.id = box.id + "-people";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", gettext("People to mention"));
    var items = people.map(function (person, i) {
      var item = document.createElement("li");
      item.id = list.id + "-" + i;
      item.setAttribute("role", "option");
      item.setAttribute("translate", "no");
      item.textContent = "@" + person.username;
      item.setAttribute("data-username", person.username);
      item.addEventListener("mousedown", function (event) {
        event.preventDefault(); // keep the focus in the box
        take(i);
      });
      list.appendChild(item);
      return item;
    });
    box.insertAdjacentElement("afterend", list);
    box.setAttribute("aria-controls", list.id);
    box.setAttribute("aria-expanded", "true");
    picker = { box: box, list: list, items: items, active: 0, start: start };
    mark(0);
  }

  function mark(i) {
    picker.active = (i + picker.items.length) % picker.items.length;
    picker.items.forEach(function (item, j) {
      item.setAttribute("aria-selected", String(j === picker.active));
    });
    picker.box.setAttribute("aria-activedescendant", picker.items[picker.active].id);
  }

  function take(i) {
    var box = picker.box;
    var name = picker.items[i].getAttribute("data-username");
    var caret = box.selectionStart;
    var text = box.value.slice(0, picker.start) + "@" + name + " ";
    box.value = text + box.value.slice(caret);
    box.setSelectionRange(text.length, text.length);
    closePicker();
    box.focus();
  }

  document.addEventListener("input", function (event) {
    var box = event.target;
    if (box.matches && box.matches("textarea[data-mentions]")) {
      box.setAttribute("aria-autocomplete", "list");
      suggest(box);
    }
  });

  document.addEventListener(
    "keydown",
    function (event) {
      if (!picker || event.target !== picker.box) return;
      var keys = {
        ArrowDown: function () {
          mark(picker.active + 1);
        },
        ArrowUp: function () {
          mark(picker.active - 1);
        },
        Enter: function () {
          take(picker.active);
        },
        Tab: function () {
          take(picker.active);
        },
        Escape: closePicker,
      };
      var act = keys[event.key];
      if (!act || event.ctrlKey || event.metaKey || event.altKey) return;
      event.preventDefault();
      // Esc closes the list only, not the lightbox around it.
      event.stopPropagation();
      act();
    },
    true
  );

  document.addEventListener("focusout", function (event) {
    if (picker && event.target === picker.box) closePicker();
  });

})();
