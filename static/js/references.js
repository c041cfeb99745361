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

  function showError(text) {
    var li = document.createElement("li");
    li.textContent = text;
    errors().appendChild(li);
  }

  function upload(files) {
    var f = form(), zone = document.getElementById("dropzone");
    if (!f || !zone || !files.length) return;
    errors().replaceChildren();
    var max = parseInt(zone.dataset.max, 10);
    var room = max - list().querySelectorAll(".reference-chip").length;
    var data = new FormData(), pending = [];
    Array.prototype.forEach.call(files, function (file, i) {
      if (i >= room) {
        showError(file.name + ": " + zone.dataset.tooMany);
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
          list().appendChild(chip);
        });
        result.querySelectorAll("ul li").forEach(function (li) { errors().appendChild(li); });
      })
      .catch(function (error) { showError(zone.dataset.failed + " (" + error.message + ")"); })
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
})();
