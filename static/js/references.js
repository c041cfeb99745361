// Reference images in the studio form: drag and drop, paste, file picker, remove.
// Each file is uploaded as soon as it is added (so a later form error loses nothing);
// the server answers with a chip carrying a signed token, or a message per rejected
// file. Without this script the file input simply goes with the form.
(function () {
  "use strict";

  function form() { return document.getElementById("generation-form"); }
  function list() { return document.getElementById("reference-list"); }
  function errors() { return document.getElementById("reference-errors"); }

  function changed() {
    document.body.dispatchEvent(new CustomEvent("references-changed"));
  }

  // A message from the JavaScript catalogue; a file's name in it (%(name)s) is kept as
  // it is and marked so (translate="no").
  function showError(text, name) {
    var li = document.createElement("li");
    var words = text.split("%(name)s");
    li.append(words[0]);
    if (words.length > 1) {
      var file = document.createElement("span");
      file.setAttribute("translate", "no");
      file.textContent = name || "";
      li.append(file, words.slice(1).join("%(name)s"));
    }
    errors().appendChild(li);
  }

  // The same image twice is one reference: the chip already in the list stays.
  function isDuplicate(chip) {
    var sha = chip.dataset.sha;
    var twins = Array.prototype.filter.call(
      list().querySelectorAll(".reference-chip"),
      function (other) { return other !== chip && other.dataset.sha === sha; }
    );
    if (!twins.length) return false;
    var name = chip.querySelector("img").getAttribute("alt") || "";
    showError(gettext("%(name)s is already attached: it is used once."), name);
    twins[0].classList.add("flash");
    setTimeout(function () { twins[0].classList.remove("flash"); }, 1200);
    return true;
  }

  // "Use as reference" adds its chip with htmx: the same check.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id !== "reference-list") return;
    errors().replaceChildren();
    var chips = list().querySelectorAll(".reference-chip");
    var last = chips[chips.length - 1];
    if (last && isDuplicate(last)) last.remove();
    changed();
  });

  function upload(files) {
    var f = form(), zone = document.getElementById("dropzone");
    if (!f || !zone || !files.length) return;
    errors().replaceChildren();
    var max = parseInt(zone.dataset.max, 10);
    var room = max - list().querySelectorAll(".reference-chip").length;
    var data = new FormData(), pending = [];
    Array.prototype.forEach.call(files, function (file, i) {
      if (i >= room) {
        var tooMany = gettext("%(name)s: not added: at most %(max)s reference images per job.");
        showError(tooMany.replace("%(max)s", String(max)), file.name);
        return;
      }
      data.append("file", file, file.name || "pasted-image.png");
      var placeholder = document.createElement("li");
      placeholder.className = "reference-chip uploading";
      placeholder.textContent = file.name || "…";
      list().appendChild(placeholder);
      pending.push(placeholder);
    });
    if (!pending.length) return;
    zone.classList.add("busy");
    fetch(zone.dataset.uploadUrl, {
      method: "POST",
      body: data,
      headers: { "X-CSRFToken": f.querySelector("[name=csrfmiddlewaretoken]").value },
      credentials: "same-origin",
    })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status + " " + response.statusText);
        return response.text();
      })
      .then(function (html) {
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var result = holder.querySelector("template[data-upload-result]").content;
        result.querySelectorAll(".reference-chip").forEach(function (chip) {
          if (!isDuplicate(chip)) list().appendChild(chip);
        });
        result.querySelectorAll("ul li").forEach(function (li) { errors().appendChild(li); });
      })
      .catch(function (error) {
        showError(gettext("The upload failed; try again.") + " (" + error.message + ")");
      })
      .finally(function () {
        pending.forEach(function (p) { p.remove(); });
        zone.classList.remove("busy");
        changed();
      });
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.matches && input.matches("#id_reference_files")) {
      var files = Array.prototype.slice.call(input.files);
      input.value = "";  // uploaded now: the form must not send them a second time
      upload(files);
    }
  });

  document.addEventListener("dragover", function (event) {
    var zone = event.target.closest && event.target.closest("#dropzone");
    if (zone) { event.preventDefault(); zone.classList.add("over"); }
  });
  document.addEventListener("dragleave", function (event) {
    var zone = event.target.closest && event.target.closest("#dropzone");
    if (zone) zone.classList.remove("over");
  });
  document.addEventListener("drop", function (event) {
    var zone = event.target.closest && event.target.closest("#dropzone");
    if (!zone) return;
    event.preventDefault();
    zone.classList.remove("over");
    upload(event.dataTransfer.files);
  });

  document.addEventListener("paste", function (event) {
    if (!form() || !event.clipboardData) return;
    var files = [];
    Array.prototype.forEach.call(event.clipboardData.items || [], function (item) {
      if (item.kind === "file") files.push(item.getAsFile());
    });
    if (files.length) { event.preventDefault(); upload(files); }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-remove-reference]");
    if (!button) return;
    button.closest(".reference-chip").remove();
    changed();
  });

  // Reorder: the arrows (keyboard and touch) and drag and drop. The order of the chips
  // is the order EvoLink gets the images in.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-move-reference]");
    if (!button) return;
    var chip = button.closest(".reference-chip");
    if (button.dataset.moveReference === "-1" && chip.previousElementSibling) {
      chip.parentNode.insertBefore(chip, chip.previousElementSibling);
    } else if (button.dataset.moveReference === "1" && chip.nextElementSibling) {
      chip.parentNode.insertBefore(chip.nextElementSibling, chip);
    }
    button.focus();  // keep the keyboard on the chip it is moving
    changed();
  });

  var dragged = null;
  document.addEventListener("dragstart", function (event) {
    var chip = event.target.closest && event.target.closest("#reference-list .reference-chip");
    if (!chip) return;
    dragged = chip;
    chip.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", chip.dataset.sha);
  });
  document.addEventListener("dragover", function (event) {
    if (!dragged) return;
    var over = event.target.closest && event.target.closest("#reference-list .reference-chip");
    if (!over || over === dragged) return;
    event.preventDefault();
    var box = over.getBoundingClientRect();
    var after = event.clientX > box.left + box.width / 2;
    over.parentNode.insertBefore(dragged, after ? over.nextElementSibling : over);
  });
  document.addEventListener("dragend", function () {
    if (!dragged) return;
    dragged.classList.remove("dragging");
    dragged = null;
    changed();
  });
})();
