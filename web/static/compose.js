/* The compose page: clean → read → preview → targets and schedule → submit for approval. */
"use strict";
(function () {
  var L = window.loaxa, form = document.getElementById("compose"), source = "";
  function $(id) { return document.getElementById(id); }
  function show(id) { $(id).hidden = false; }
  function renderRemoved(items) {
    var box = $("removed");
    box.textContent = "";
    if (!items.length) { box.textContent = "Không có."; return; }
    items.forEach(function (r) {
      var p = document.createElement("div");
      p.textContent = "• " + r.text + "  (" + r.reason + ")";
      box.appendChild(p);
    });
  }
  function bulletinReady(b) {
    $("bulletin_id").value = b.id;
    var player = $("player");
    player.src = "/ui/media/" + b.media.sha256 + "." + b.media.ext; player.hidden = false;
    $("voice-warning").hidden = b.media.engine !== "espeak";
    $("media-info").textContent = "Thời lượng: " + Math.round(b.media.duration_s) + " giây.";
    show("step-preview"); show("step-schedule");
  }
  $("btn-prepare").addEventListener("click", function () {
    var btn = this, fd = new FormData(), f = $("file").files[0];
    L.clearErrors(form);
    if (f) { fd.append("file", f); } else { fd.append("text", $("text").value); }
    L.busy(btn, true);
    L.api("POST", "/api/compose/prepare", fd).then(function (out) {
      L.busy(btn, false);
      if (!$("title").value) { $("title").value = out.title; }
      $("script").value = out.script;
      $("reading").textContent = out.normalized;
      source = out.text;
      renderRemoved(out.removed);
      show("step-script"); show("step-preview");
      $("step-script").scrollIntoView();
    }, function (err) { L.busy(btn, false); L.showError(form, err, f ? "file" : "text"); });
  });
  $("btn-reread").addEventListener("click", function () {
    var btn = this; L.clearErrors(form); L.busy(btn, true);
    L.api("POST", "/api/compose/reading", { script: $("script").value }).then(function (out) {
      L.busy(btn, false); $("reading").textContent = out.normalized;
    }, function (err) { L.busy(btn, false); L.showError(form, err, "script"); });
  });
  var ticking = null, watching = null, WAITING = "Đang tạo âm thanh, vui lòng chờ…";
  function newProgressId() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  /** The bar: a fraction 0..1 fills it; null makes it the sliding "working" bar. */
  function bar(fraction) {
    var box = $("render-bar"), fill = box.firstElementChild;
    box.classList.toggle("determinate", fraction !== null);
    fill.style.width = fraction === null ? "" : Math.round(fraction * 100) + "%";
    if (fraction === null) { box.removeAttribute("aria-valuenow"); }
    else { box.setAttribute("aria-valuenow", String(Math.round(fraction * 100))); }
  }
  function showStep(p) {
    $("render-message").textContent = p.message;
    bar(p.stage === "preparing" || p.stage === "normalizing" || p.stage === "fallback" ? null : p.fraction);
  }
  /** Poll the render's progress every ~500 ms until progress(false); a 404 before the render starts is normal. */
  function watch(id) {
    var token = {};
    watching = token;
    (function poll() {
      L.api("GET", "/api/render-progress/" + id).then(function (p) {
        if (watching === token) { showStep(p); }
      }, function () { return null; }).then(function () {
        if (watching === token) { setTimeout(poll, 500); }
      });
    })();
  }
  function progress(on, id) {
    $("render-progress").hidden = !on;
    clearInterval(ticking);
    watching = null;
    if (!on) { return; }
    var started = Date.now(), label = $("render-elapsed");
    label.textContent = "0";
    $("render-message").textContent = WAITING;
    bar(null);
    ticking = setInterval(function () { label.textContent = String(Math.round((Date.now() - started) / 1000)); }, 1000);
    if (id) { watch(id); }
  }
  $("btn-render").addEventListener("click", function () {
    var btn = this, id = newProgressId();
    L.clearErrors(form); L.busy(btn, true); progress(true, id);
    L.api("POST", "/api/bulletins", { title: $("title").value, text: source || $("script").value, script: $("script").value,
      progress_id: id }).then(function (b) {
      L.busy(btn, false); progress(false); bulletinReady(b);
    }, function (err) {
      L.busy(btn, false); progress(false);
      L.showError(form, err.field === "text" ? { error: err.error, field: "script" } : err, "render");
    });
  });
  $("btn-recording").addEventListener("click", function () {
    var btn = this, f = $("audio").files[0], fd = new FormData(), id = newProgressId();
    L.clearErrors(form);
    if (!f) { L.showError(form, { error: "Chưa chọn tệp ghi âm.", field: "audio" }); return; }
    fd.append("file", f); fd.append("title", $("title").value); fd.append("progress_id", id);
    L.busy(btn, true); show("step-preview"); progress(true, id);
    L.api("POST", "/api/compose/recording", fd).then(function (b) {
      L.busy(btn, false); bulletinReady(b);
      progress(false); $("btn-render").hidden = true; $("step-schedule").scrollIntoView();
    }, function (err) {
      L.busy(btn, false); progress(false); $("step-preview").hidden = !$("script").value;
      L.showError(form, err, "audio");
    });
  });
  $("recurrence").addEventListener("change", function () { $("end-wrap").hidden = this.value === "once"; });
  $("btn-submit").addEventListener("click", function () {
    var btn = this, targets = [];
    form.querySelectorAll('input[name="targets"]:checked').forEach(function (c) { targets.push(c.value); });
    var body = { bulletin_id: $("bulletin_id").value, targets: targets, recurrence: $("recurrence").value,
      start_date: $("start_date").value, end_date: $("end_date").value, slot_times: $("slot_times").value,
      repeats: $("repeats").value, priority: $("priority").value };
    L.clearErrors(form); L.busy(btn, true);
    L.api("POST", "/api/compose/submit", body).then(function (bc) {
      L.busy(btn, false);
      ["step-source", "step-script", "step-preview", "step-schedule"].forEach(function (id) { $(id).hidden = true; });
      $("done-text").textContent = "Bản tin đã được gửi phê duyệt (mã " + bc.id + "). Chỉ phát sau khi lãnh đạo duyệt.";
      show("done"); $("done").scrollIntoView();
    }, function (err) { L.busy(btn, false); L.showError(form, err, "_form"); });
  });
})();
