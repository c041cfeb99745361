// The mask painter (templates/studio/_mask_painter.html): paint, over one attached
// reference, the region gpt-image-2 should change. The mask is kept at the reference's
// real pixel size (the canvas is only scaled by CSS), as a list of operations so undo
// and redo replay it instead of keeping a copy of every step. "Use mask" makes the PNG
// EvoLink wants (transparent where painted, opaque elsewhere, the image's exact size),
// uploads it with the chip's token (the server checks it) and puts the answer's token
// in the form's hidden `mask` field. Pointer Events serve mouse, pen and touch alike;
// the rectangle tool makes a mask from the keyboard alone.
(function () {
  "use strict";

  var PAINT = "rgb(255, 45, 120)";  // shown translucent (CSS opacity) over the image

  var dialog, canvas, ctx, stage, image, rectangleBox, cursor, sizeInput, errorBox;
  var chip = null;        // the chip being painted
  var opener = null;      // where the focus goes back to
  var ops = [], undone = [];
  var stroke = null;      // the stroke under the pointer
  var tool = "brush";
  var size = 40;
  var rect = null;        // the rectangle tool's rectangle, in image pixels
  var drag = null;        // a rectangle being dragged out with the pointer
  var kept = {};          // each chip's painting (by image), kept while the page lives

  function field() { return document.getElementById("mask-field"); }
  function takesMask() { var f = field(); return !!(f && f.dataset.maskUploadUrl); }
  function maskInput() { var f = field(); return f && f.querySelector("input[name=mask]"); }
  function chips() { return document.querySelectorAll("#reference-list .reference-chip:not(.uploading)"); }

  // --- The chips: which buttons show, where the mask is -----------------------------

  function sync() {
    var input = maskInput();
    var masked = null;
    chips().forEach(function (c) {
      if (c.hasAttribute("data-masked")) {
        if (input && !masked) masked = c; else c.removeAttribute("data-masked");
      }
    });
    chips().forEach(function (c) {
      var on = c === masked;
      var open = c.querySelector("[data-mask-open]");
      var remove = c.querySelector("[data-mask-remove]");
      var badge = c.querySelector("[data-mask-badge]");
      if (open) open.hidden = !takesMask();
      if (remove) remove.hidden = !on;
      if (badge) badge.hidden = !on;
    });
    var off = document.getElementById("mask-off");
    if (off && !input) off.remove();
  }

  function detach() {
    var input = maskInput();
    if (input) input.remove();
    chips().forEach(function (c) { c.removeAttribute("data-masked"); });
    sync();
  }

  function attach(target, token) {
    var f = field();
    var input = maskInput();
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = "mask";
      f.appendChild(input);
    }
    input.value = token;
    chips().forEach(function (c) { c.removeAttribute("data-masked"); });
    target.setAttribute("data-masked", "");
    sync();
  }

  // --- Drawing -------------------------------------------------------------------------

  function draw(op) {
    ctx.save();
    if (op.kind === "clear") {
      ctx.clearRect(0, 0, canvas.width, canvas.height);
    } else if (op.kind === "invert") {
      // XOR with a full cover turns every alpha a into 1 - a: soft edges stay soft.
      ctx.globalCompositeOperation = "xor";
      ctx.fillStyle = PAINT;
      ctx.fillRect(0, 0, canvas.width, canvas.height);
    } else {
      ctx.globalCompositeOperation = op.erase ? "destination-out" : "source-over";
      ctx.fillStyle = ctx.strokeStyle = PAINT;
      if (op.kind === "rect") {
        ctx.fillRect(op.x, op.y, op.w, op.h);
      } else {
        ctx.lineWidth = op.size;
        ctx.lineCap = ctx.lineJoin = "round";
        ctx.beginPath();
        ctx.moveTo(op.points[0], op.points[1]);
        for (var i = 2; i < op.points.length; i += 2) ctx.lineTo(op.points[i], op.points[i + 1]);
        if (op.points.length === 2) ctx.lineTo(op.points[0] + 0.01, op.points[1]);  // a dot
        ctx.stroke();
      }
    }
    ctx.restore();
  }

  function redraw() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ops.forEach(draw);
  }

  function commit(op) {
    ops.push(op);
    undone = [];
    draw(op);
    buttons();
  }

  function undo() {
    if (!ops.length) return;
    undone.push(ops.pop());
    redraw();
    buttons();
  }

  function redo() {
    if (!undone.length) return;
    var op = undone.pop();
    ops.push(op);
    draw(op);
    buttons();
  }

  function buttons() {
    dialog.querySelector("[data-mask-undo]").disabled = !ops.length;
    dialog.querySelector("[data-mask-redo]").disabled = !undone.length;
    dialog.querySelector("[data-mask-detach]").hidden = !(chip && chip.hasAttribute("data-masked"));
  }

  // Pointer coordinates (CSS pixels on the scaled canvas) to the image's own pixels.
  function toImage(event) {
    var box = canvas.getBoundingClientRect();
    return [
      (event.clientX - box.left) * canvas.width / box.width,
      (event.clientY - box.top) * canvas.height / box.height,
    ];
  }

  function scale() {
    var box = canvas.getBoundingClientRect();
    return box.width ? box.width / canvas.width : 1;
  }

  function showCursor(event) {
    if (tool === "rectangle" || event.pointerType === "touch") { cursor.hidden = true; return; }
    var box = stage.getBoundingClientRect(), d = size * scale();
    cursor.hidden = false;
    cursor.style.width = cursor.style.height = d + "px";
    cursor.style.left = (event.clientX - box.left - d / 2) + "px";
    cursor.style.top = (event.clientY - box.top - d / 2) + "px";
  }

  function onPointerDown(event) {
    if (event.button !== 0 && event.pointerType === "mouse") return;
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    var p = toImage(event);
    if (tool === "rectangle") {
      drag = { x0: p[0], y0: p[1] };
      setRect({ x: p[0], y: p[1], w: 1, h: 1 });
      return;
    }
    stroke = { kind: "stroke", erase: tool === "eraser", size: size, points: [p[0], p[1]] };
    draw(stroke);
  }

  function onPointerMove(event) {
    showCursor(event);
    var p = toImage(event);
    if (drag) {
      setRect({
        x: Math.min(drag.x0, p[0]), y: Math.min(drag.y0, p[1]),
        w: Math.abs(p[0] - drag.x0), h: Math.abs(p[1] - drag.y0),
      });
      return;
    }
    if (!stroke) return;
    var n = stroke.points.length;
    // Only the new segment is drawn now; the whole stroke is replayed on undo.
    draw({ kind: "stroke", erase: stroke.erase, size: stroke.size,
           points: [stroke.points[n - 2], stroke.points[n - 1], p[0], p[1]] });
    stroke.points.push(p[0], p[1]);
  }

  function onPointerUp() {
    if (drag) {
      drag = null;
      if (rect && rect.w >= 1 && rect.h >= 1) paintRect();
      return;
    }
    if (!stroke) return;
    ops.push(stroke);
    undone = [];
    stroke = null;
    buttons();
  }

  // --- The rectangle tool ----------------------------------------------------------------

  function setRect(r) {
    var w = canvas.width, h = canvas.height;
    r.w = Math.max(1, Math.min(r.w, w));
    r.h = Math.max(1, Math.min(r.h, h));
    r.x = Math.max(0, Math.min(r.x, w - r.w));
    r.y = Math.max(0, Math.min(r.y, h - r.h));
    rect = r;
    rectangleBox.hidden = false;
    rectangleBox.style.left = (100 * r.x / w) + "%";
    rectangleBox.style.top = (100 * r.y / h) + "%";
    rectangleBox.style.width = (100 * r.w / w) + "%";
    rectangleBox.style.height = (100 * r.h / h) + "%";
  }

  function paintRect() {
    if (!rect) return;
    commit({ kind: "rect", erase: false, x: Math.round(rect.x), y: Math.round(rect.y),
             w: Math.round(rect.w), h: Math.round(rect.h) });
  }

  function moveRect(key, resize) {
    if (!rect) return false;
    // One step is a fiftieth of the image's long edge: a few presses cross it.
    var step = Math.max(1, Math.round(Math.max(canvas.width, canvas.height) / 50));
    var dx = key === "ArrowLeft" ? -step : key === "ArrowRight" ? step : 0;
    var dy = key === "ArrowUp" ? -step : key === "ArrowDown" ? step : 0;
    if (resize) setRect({ x: rect.x, y: rect.y, w: rect.w + dx, h: rect.h + dy });
    else setRect({ x: rect.x + dx, y: rect.y + dy, w: rect.w, h: rect.h });
    return true;
  }

  // --- Tools and size ---------------------------------------------------------------------

  function choose(name) {
    tool = name;
    dialog.querySelectorAll("[data-mask-tool]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.dataset.maskTool === name));
    });
    stage.classList.toggle("rectangle-tool", name === "rectangle");
    dialog.querySelector("[data-mask-rectangle-hint]").hidden = name !== "rectangle";
    if (name === "rectangle") {
      if (!rect) {
        setRect({ x: canvas.width / 3, y: canvas.height / 3, w: canvas.width / 3, h: canvas.height / 3 });
      } else {
        rectangleBox.hidden = false;
      }
      stage.focus();  // where the arrow keys and Enter work
    } else {
      rectangleBox.hidden = true;
    }
  }

  function setSize(value) {
    size = Math.max(parseInt(sizeInput.min, 10), Math.min(parseInt(sizeInput.max, 10), Math.round(value)));
    sizeInput.value = String(size);
    var label = dialog.querySelector("[data-mask-size-label]");
    label.textContent = interpolate(gettext("Brush size: %s px."), [size]);
  }

  // --- Opening, using, closing ---------------------------------------------------------------

  function open(target) {
    if (!dialog || !target || !takesMask()) return;
    chip = target;
    opener = target.querySelector("[data-mask-open]") || document.activeElement;
    errorBox.replaceChildren();
    var url = target.dataset.imageUrl;
    image.onload = function () {
      // The size the server knows (and checks the mask against), the image's own otherwise.
      var w = parseInt(target.dataset.width, 10) || image.naturalWidth;
      var h = parseInt(target.dataset.height, 10) || image.naturalHeight;
      var state = kept[target.dataset.sha];
      // A new canvas size clears it; the same image keeps its painting while the page lives.
      canvas.width = w;
      canvas.height = h;
      stage.style.setProperty("--aspect", String(w / h));  // the CSS fits the stage to it
      ops = state && state.width === w ? state.ops : [];
      undone = state && state.width === w ? state.undone : [];
      rect = null;
      rectangleBox.hidden = true;
      var longEdge = Math.max(w, h);
      sizeInput.max = String(Math.max(8, Math.round(longEdge / 3)));
      sizeInput.min = String(Math.max(1, Math.round(longEdge / 400)));
      setSize(Math.max(2, Math.round(longEdge / 16)));
      redraw();
      choose("brush");
      buttons();
      stage.setAttribute("data-ready", "");
    };
    stage.removeAttribute("data-ready");
    image.src = url;
    if (!dialog.open) dialog.showModal();
    dialog.querySelector("[data-mask-tool=brush]").focus();
  }

  function remember() {
    if (chip) kept[chip.dataset.sha] = { width: canvas.width, ops: ops, undone: undone };
  }

  function close() {
    remember();
    if (dialog.open) dialog.close();
  }

  function showError(text) {
    var p = document.createElement("p");
    p.textContent = text;
    errorBox.replaceChildren(p);
  }

  // The PNG EvoLink wants: opaque black everywhere, transparent where painted.
  function maskBlob() {
    var out = document.createElement("canvas");
    out.width = canvas.width;
    out.height = canvas.height;
    var c = out.getContext("2d");
    c.fillStyle = "#000";
    c.fillRect(0, 0, out.width, out.height);
    c.globalCompositeOperation = "destination-out";
    c.drawImage(canvas, 0, 0);
    return new Promise(function (resolve) { out.toBlob(resolve, "image/png"); });
  }

  function use() {
    var target = chip;
    var form = document.getElementById("generation-form");
    if (!target || !form || !takesMask()) return;
    // Not `disabled`: a disabled button drops the keyboard's focus out of the dialog.
    var button = dialog.querySelector("[data-mask-use]");
    if (button.getAttribute("aria-busy") === "true") return;
    button.setAttribute("aria-busy", "true");
    errorBox.replaceChildren();
    maskBlob()
      .then(function (blob) {
        var data = new FormData();
        data.append("file", blob, "mask.png");
        data.append("reference", target.querySelector("input[name=reference]").value);
        return fetch(field().dataset.maskUploadUrl, {
          method: "POST",
          body: data,
          headers: { "X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value },
          credentials: "same-origin",
        });
      })
      .then(function (response) {
        return response.json().then(
          function (answer) { return { ok: response.ok, answer: answer }; },
          function () { throw new Error(response.status + " " + response.statusText); }
        );
      })
      .then(function (result) {
        if (!result.ok) {
          // The server's own sentence; the painting stays for another try.
          showError(result.answer.error || gettext("The mask was not accepted."));
          return;
        }
        attach(target, result.answer.token);
        close();
      })
      .catch(function (error) {
        showError(gettext("The mask could not be uploaded; try again.") + " (" + error.message + ")");
      })
      .finally(function () { button.removeAttribute("aria-busy"); });
  }

  function onKey(event) {
    var t = event.target;
    var inRange = t && t.matches && t.matches("input[type=range]");
    var mod = event.ctrlKey || event.metaKey;
    var key = event.key;
    if (mod && !event.altKey) {
      var lower = key.toLowerCase();
      if (lower === "z" && event.shiftKey) { event.preventDefault(); redo(); }
      else if (lower === "z") { event.preventDefault(); undo(); }
      else if (lower === "y") { event.preventDefault(); redo(); }
      return;
    }
    if (event.altKey) return;
    if (tool === "rectangle" && key.indexOf("Arrow") === 0 && !inRange) {
      if (moveRect(key, event.shiftKey)) event.preventDefault();
      return;
    }
    if (tool === "rectangle" && key === "Enter" && t === stage) {
      event.preventDefault();
      paintRect();
      return;
    }
    if (event.shiftKey && key !== "{" && key !== "}") return;
    var tools = { b: "brush", e: "eraser", r: "rectangle" };
    if (tools[key.toLowerCase()]) { event.preventDefault(); choose(tools[key.toLowerCase()]); }
    else if (key === "[" || key === "{") { event.preventDefault(); setSize(size / 1.25); }
    else if (key === "]" || key === "}") { event.preventDefault(); setSize(size * 1.25 + 1); }
  }

  function setUp() {
    dialog = document.getElementById("mask-painter");
    if (!dialog || dialog.dataset.wired) return;
    dialog.dataset.wired = "true";
    canvas = dialog.querySelector("[data-mask-canvas]");
    ctx = canvas.getContext("2d");
    stage = dialog.querySelector("[data-mask-stage]");
    image = dialog.querySelector("[data-mask-image]");
    rectangleBox = dialog.querySelector("[data-mask-rectangle]");
    cursor = dialog.querySelector("[data-mask-cursor]");
    sizeInput = dialog.querySelector("[data-mask-brush-size]");
    errorBox = dialog.querySelector("[data-mask-error]");

    canvas.addEventListener("pointerdown", onPointerDown);
    canvas.addEventListener("pointermove", onPointerMove);
    canvas.addEventListener("pointerup", onPointerUp);
    canvas.addEventListener("pointercancel", onPointerUp);
    canvas.addEventListener("pointerleave", function () { cursor.hidden = true; });
    sizeInput.addEventListener("input", function () { setSize(parseInt(sizeInput.value, 10)); });
    dialog.addEventListener("keydown", onKey);
    dialog.addEventListener("click", function (event) {
      var b = event.target.closest("button");
      if (!b) return;
      if (b.dataset.maskTool) choose(b.dataset.maskTool);
      else if (b.hasAttribute("data-mask-undo")) undo();
      else if (b.hasAttribute("data-mask-redo")) redo();
      else if (b.hasAttribute("data-mask-clear")) { if (ops.length) commit({ kind: "clear" }); }
      else if (b.hasAttribute("data-mask-invert")) commit({ kind: "invert" });
      else if (b.hasAttribute("data-mask-use")) use();
      else if (b.hasAttribute("data-mask-detach")) { detach(); close(); }
      else if (b.hasAttribute("data-mask-cancel")) close();
    });
    // Esc (the dialog's own cancel) and every other way out: keep the painting and
    // give the focus back to the button that opened the painter.
    dialog.addEventListener("close", function () {
      remember();
      stroke = drag = null;
      var back = chip && chip.isConnected ? chip.querySelector("[data-mask-open]") : null;
      if (back && !back.hidden) back.focus();
      else if (opener && opener.isConnected) opener.focus();
      chip = null;
    });
  }

  // Chips come and go (uploads, "Use as reference", the form's htmx swaps): the buttons
  // follow the form's model, and a chip marked data-open-mask (an "Edit with mask"
  // link) opens the painter once.
  function refresh() {
    setUp();
    sync();
    var wanted = document.querySelector("#reference-list .reference-chip[data-open-mask]");
    if (wanted) {
      wanted.removeAttribute("data-open-mask");
      open(wanted);
    }
  }

  document.addEventListener("DOMContentLoaded", refresh);
  document.addEventListener("htmx:afterSettle", refresh);
  document.body.addEventListener("references-changed", function () {
    // The image the mask was painted on was removed: the mask goes with it.
    if (maskInput() && !document.querySelector("#reference-list .reference-chip[data-masked]")) detach();
    sync();
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-mask-open], [data-mask-remove]");
    if (!button) return;
    var target = button.closest(".reference-chip");
    if (button.hasAttribute("data-mask-open")) { open(target); return; }
    detach();
    // The pressed button is gone: the keyboard stays on the chip.
    var again = target.querySelector("[data-mask-open]:not([hidden])") ||
      target.querySelector("[data-remove-reference]");
    if (again) again.focus();
  });

  window.maskPainter = { open: open };
})();
